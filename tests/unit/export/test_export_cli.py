"""`vkpipe export` and `vkpipe exports` (in process), and `celery -A workers export` (a process),
on SQLite."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from clirun import InProcessCli
from parser_pipeline.records import AuthorRecord, CommentRecord, GroupInfo
from parser_pipeline.store.engine import make_engine, transaction
from parser_pipeline.store.schema import export_jobs
from parser_pipeline.store.writes import comment_row, upsert_authors, upsert_comments, upsert_groups

WHEN = datetime(2024, 6, 1, 12, tzinfo=UTC)
# `celery` with the export subcommand added as the celery.commands entry point would add it.
CELERY = """
import sys
from celery.bin.celery import celery, main
from workers.export_commands import export
celery.add_command(export)
sys.exit(main())
"""


@pytest.fixture
def database(migrated_sqlite_url: str) -> str:
    url = migrated_sqlite_url
    engine = make_engine(url)
    comments = [
        CommentRecord(-77, i, 1, None, None, None, 5, WHEN.replace(day=i), f"текст {i}\n😀", i,
                      None, i == 3)
        for i in (1, 2, 3)
    ]  # fmt: skip
    with transaction(engine) as connection:
        upsert_groups(connection, [GroupInfo(id=77, screen_name="seventy7", name="G", is_closed=0)])
        upsert_authors(connection, [AuthorRecord(5, "Анна", None)], WHEN)
        upsert_comments(connection, [comment_row(c, WHEN, True) for c in comments])
    engine.dispose()
    return url


@pytest.fixture
def vkpipe(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> InProcessCli:
    return InProcessCli(monkeypatch, capsys, {"VKPIPE_DATABASE_URL": database})


def run(database: str, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env["VKPIPE_DATABASE_URL"] = database
    return subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_export_writes_the_file_and_refuses_to_overwrite(
    vkpipe: InProcessCli, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    done = vkpipe("export", "--format", "csv", "--out", str(out), "--excel",
               "--group", "seventy7", "--since", "2024-06-02", "--deleted", "exclude")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote 1 rows to {out}" in done.stdout
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert [r[4] for r in rows[1:]] == ["2"]
    assert rows[1][10] == "текст 2\n😀"

    again = vkpipe("export", "-f", "jsonl", "-o", str(out))
    assert again.returncode == 2
    assert again.stderr.strip() == f"vkpipe: error: {out} exists; pass --force to overwrite it"
    forced = vkpipe("export", "-f", "jsonl", "-o", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert [json.loads(line)["comment_id"] for line in out.read_text().splitlines()] == [1, 2, 3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--group", "nobody"), "group 'nobody' is not monitored"),
        (("--since", "soon"), "--since: 'soon' is not an ISO date"),
        (("--deleted", "maybe"), "Invalid value for '--deleted'"),
    ],
)
def test_bad_input_is_one_clear_line(
    vkpipe: InProcessCli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = vkpipe("export", "-f", "csv", "-o", str(tmp_path / "x.csv"), *args)
    assert done.returncode != 0
    assert message in done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_missing_directory(vkpipe: InProcessCli, tmp_path: Path) -> None:
    done = vkpipe("export", "-f", "xlsx", "-o", str(tmp_path / "no" / "x.xlsx"))
    assert done.returncode == 2
    assert "directory" in done.stderr
    assert "does not exist" in done.stderr


def test_subscriptions_add_list_remove(vkpipe: InProcessCli, tmp_path: Path) -> None:
    added = vkpipe("exports", "add", "daily", "--format", "parquet",
                "--dir", str(tmp_path), "--group", "seventy7", "--matched-only")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added export subscription 1 daily" in added.stdout
    listed = vkpipe("exports", "list")
    assert "daily" in listed.stdout
    assert "parquet" in listed.stdout
    assert "77" in listed.stdout
    removed = vkpipe("exports", "remove", "daily")
    assert "removed export subscription daily" in removed.stdout
    missing = vkpipe("exports", "remove", "daily")
    assert missing.returncode == 1
    assert "no export subscription named 'daily'" in missing.stderr


def test_celery_export_writes_a_queued_job(database: str, tmp_path: Path) -> None:
    out = tmp_path / "q.parquet"
    done = run(database, CELERY, "-A", "workers", "export", "--format", "parquet",
               "--out", str(out), "--group", "77", "--force")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"export job 1 queued: parquet to {out}" in done.stdout
    engine = make_engine(database)
    with engine.connect() as connection:
        job = connection.execute(select(export_jobs)).one()
    engine.dispose()
    assert (job.status, job.format, job.path, job.requested_by) == (
        "queued",
        "parquet",
        str(out),
        "cli",
    )
    assert job.filters["group_ids"] == [77]
    assert job.filters["options"]["force"] is True
    bad = run(database, CELERY, "-A", "workers", "export", "--format", "csv", "--out", "x.csv",
              "--keyword", "нет")  # fmt: skip
    assert bad.returncode != 0
    assert "keyword 'нет' does not exist" in bad.stderr
