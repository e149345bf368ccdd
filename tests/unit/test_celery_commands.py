"""`celery -A workers crawl|jobs|job|cancel` as an operator runs them (SQLite, no broker needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from parser_pipeline.records import GroupInfo
from parser_pipeline.store.engine import make_engine, transaction
from parser_pipeline.store.schema import crawl_jobs
from parser_pipeline.store.writes import upsert_groups
from workers.commands import describe_skip

CELERY = str(Path(sys.executable).with_name("celery"))


@pytest.fixture
def database(migrated_sqlite_url: str) -> str:
    url = migrated_sqlite_url
    engine = make_engine(url)
    with transaction(engine) as connection:
        upsert_groups(connection, [GroupInfo(id=77, screen_name="seventy7", name="G", is_closed=0)])
    engine.dispose()
    return url


def celery(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env["VKPIPE_DATABASE_URL"] = database
    return subprocess.run(
        [CELERY, "-A", "workers", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_crawl_writes_a_job_row_and_the_same_request_joins_it(database: str) -> None:
    first = celery(database, "crawl", "seventy7", "--priority", "8")
    assert first.returncode == 0, first.stderr
    assert "group 77: job 1 queued" in first.stdout
    again = celery(database, "crawl", "77")
    assert "group 77: job 1 already unfinished" in again.stdout
    engine = make_engine(database)
    with engine.connect() as connection:
        job = connection.execute(select(crawl_jobs)).one()
    engine.dispose()
    assert (job.status, job.requested_by, job.priority) == ("queued", "cli", 8)


def test_jobs_job_and_cancel(database: str) -> None:
    celery(database, "crawl", "seventy7")
    listing = celery(database, "jobs", "--status", "queued")
    assert listing.returncode == 0
    assert "queued" in listing.stdout
    detail = celery(database, "job", "1")
    assert "job 1: group 77, queued (by cli, priority 5)" in detail.stdout
    cancelled = celery(database, "cancel", "1")
    assert "job 1: cancelled" in cancelled.stdout
    assert "cancelled" in celery(database, "jobs").stdout
    as_json = json.loads(celery(database, "job", "1", "--json").stdout)
    assert (as_json["id"], as_json["status"]) == (1, "cancelled")


def test_cancelling_an_ended_job_says_so_and_fails(database: str) -> None:
    celery(database, "crawl", "seventy7")
    assert celery(database, "cancel", "1").returncode == 0
    again = celery(database, "cancel", "1")
    assert again.returncode != 0
    assert "job 1 already ended (cancelled); nothing to cancel" in again.stderr


def test_rematch_prints_its_result_and_no_log_line(database: str) -> None:
    result = celery(database, "rematch")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == ["0 comment(s) queued for analysis"]
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("skip", "line"),
    [
        (
            {"post": "wall-77_5", "code": 212, "reason": "wall.getComments: VK error 212: closed"},
            "post wall-77_5: wall.getComments: VK error 212: closed",
        ),
        (
            {"group_id": 77, "code": 15, "reason": "wall.get: VK error 15: Access denied"},
            "wall of group 77: wall.get: VK error 15: Access denied",
        ),
        ({"group_id": 77, "code": 15, "reason": None}, "wall of group 77: VK error 15"),
    ],
)
def test_a_skip_is_one_sentence_never_a_dict(skip: dict[str, object], line: str) -> None:
    assert describe_skip(skip) == line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("crawl", "unknown_group"), "group 'unknown_group' is not monitored"),
        (("job", "999"), "job 999 does not exist"),
        (("cancel", "999"), "job 999 does not exist"),
        (("jobs", "--status", "lost"), "Invalid value for '--status'"),
        (("crawl", "seventy7", "--priority", "11"), "Invalid value for '--priority'"),
    ],
)
def test_bad_input_is_one_clear_error(database: str, args: tuple[str, ...], message: str) -> None:
    result = celery(database, *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_alerts_list_pause_resume_history(database: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env["VKPIPE_DATABASE_URL"] = database
    vkpipe = str(Path(sys.executable).with_name("vkpipe"))
    added = subprocess.run(
        [vkpipe, "alerts", "add", "mayor", "-C", "telegram:-1009876543210"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listing = celery(database, "alerts", "list")
    assert listing.returncode == 0, listing.stderr
    assert "telegram:…3210" in listing.stdout
    assert "-1009876543210" not in listing.stdout
    assert "paused" in celery(database, "alerts", "pause", "mayor").stdout
    assert "resumed (from now)" in celery(database, "alerts", "resume", "1").stdout
    assert json.loads(celery(database, "alerts", "history", "--status", "dead").stdout) == []
    missing = celery(database, "alerts", "pause", "ghost")
    assert missing.returncode == 1
    assert "alert rule 'ghost' does not exist" in missing.stderr
