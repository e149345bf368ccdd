"""The analyze tasks and `celery ... rematch`, run in a process of their own on SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from analysisdata import add_rule, comment, store_comments
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import vk_comments

# Celery reads its Settings when `workers` is imported: a process of its own gets them clean.
_SCRIPT = """
import json, sys
from types import SimpleNamespace
from workers.analyze_commands import rematch
from workers.analyze_tasks import analyze_backlog, analyze_comment_keys, rematch_all
from workers.app import app

out = {"names": sorted(n for n in app.tasks if n.startswith("vkpipe.analyze."))}
out["routes"] = sorted({app.amqp.router.route({}, n)["queue"].name for n in out["names"]})
out["keys"] = analyze_comment_keys.apply(args=[[[-100, 1]]]).get()
out["backlog"] = analyze_backlog.apply().get()
out["rematch"] = rematch_all.apply().get()
rematch.main(args=[], obj=SimpleNamespace(app=app), standalone_mode=False)
out["after_command"] = analyze_backlog.apply().get()
print(json.dumps(out))
"""


def test_tasks_analyze_by_keys_by_backlog_and_rematch(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    migrations.upgrade(url)
    engine = make_engine(url)
    store_comments(engine, [comment(1, "мэр"), comment(2, "Спасибо мэру"), comment(3, "нет")])
    add_rule(engine, "мэр")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env.update(VKPIPE_DATABASE_URL=url, VKPIPE_LOG_LEVEL="WARNING")
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert "3 comment(s) queued for analysis" in lines
    out = json.loads(lines[-1])
    assert {"vkpipe.analyze.backlog", "vkpipe.analyze.comments", "vkpipe.analyze.rematch"} <= set(
        out["names"]
    )
    assert out["routes"] == ["analyze"]
    assert (out["keys"]["comments"], out["keys"]["matched_comments"]) == (1, 1)
    assert (out["backlog"]["comments"], out["backlog"]["matched_comments"]) == (2, 1)
    assert out["rematch"] == {"queued": 3}
    assert (out["after_command"]["comments"], out["after_command"]["changed"]) == (3, 0)
    with engine.connect() as connection:
        counts = connection.execute(
            select(vk_comments.c.matched_keywords_count).order_by(vk_comments.c.comment_id)
        ).scalars()
        assert list(counts) == [1, 1, 0]
    engine.dispose()
