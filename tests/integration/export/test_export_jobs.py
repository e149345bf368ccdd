"""Export jobs as an outbox: request, publish once, claim once, run, finish; both backends."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from exportdata import Dataset
from parser_pipeline.errors import ConfigError, NotFoundError
from parser_pipeline.export.filters import ExportOptions, from_stored
from parser_pipeline.export.jobs import (
    fail_export_job,
    get_export_job,
    list_export_jobs,
    publish_export_jobs,
    recover_lost_export_jobs,
    request_export,
    run_export_job,
)
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import export_jobs

NOW = datetime(2024, 8, 1, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def test_request_publish_run(engine: Engine, dataset: Dataset, out_dir: Path) -> None:
    filters = CommentFilter(group_ids=(2002,), deleted="exclude")
    out = out_dir / "g2.csv"
    job_id = request_export(
        engine, filters, "csv", out, options=ExportOptions(excel=True), requested_by="cli", now=NOW
    )
    job = get_export_job(engine, job_id)
    assert (job.status, job.format, job.path, job.dispatched_at) == (
        "queued",
        "csv",
        str(out),
        None,
    )
    assert from_stored(job.filters) == (filters, ExportOptions(excel=True))

    published: list[int] = []
    assert publish_export_jobs(engine, published.append, NOW) == 1
    assert publish_export_jobs(engine, published.append, NOW) == 0  # published once
    assert published == [job_id]

    outcome = run_export_job(engine, job_id, clock)
    assert (outcome.status, outcome.rows, outcome.claimed) == ("succeeded", 3, True)
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert [r[4] for r in rows[1:]] == ["10", "11", "13"]
    job = get_export_job(engine, job_id)
    assert (job.status, job.rows, job.error) == ("succeeded", 3, None)
    assert job.started_at == NOW
    assert job.finished_at == NOW

    again = run_export_job(engine, job_id, clock)  # a duplicated message
    assert (again.claimed, again.status, again.rows) == (False, "succeeded", 3)


def test_a_failing_publish_marks_nothing(engine: Engine, out_dir: Path) -> None:
    request_export(
        engine, CommentFilter(), "jsonl", out_dir / "a.jsonl", requested_by="cli", now=NOW
    )

    def broker_down(job_id: int) -> None:
        raise ConnectionError("redis is down")

    with pytest.raises(ConnectionError):
        publish_export_jobs(engine, broker_down, NOW)
    sent: list[int] = []
    assert publish_export_jobs(engine, sent.append, NOW) == 1


def test_a_vkpipe_error_fails_the_job_with_its_message(
    engine: Engine, dataset: Dataset, out_dir: Path
) -> None:
    out = out_dir / "taken.csv"
    out.write_text("old")
    job_id = request_export(engine, CommentFilter(), "csv", out, requested_by="api", now=NOW)
    outcome = run_export_job(engine, job_id, clock)
    assert outcome.status == "failed"
    job = get_export_job(engine, job_id)
    assert job.status == "failed"
    assert job.error == f"{out} exists; pass --force to overwrite it"
    assert out.read_text() == "old"

    forced = request_export(
        engine,
        CommentFilter(),
        "csv",
        out,
        options=ExportOptions(force=True),
        requested_by="api",
        now=NOW,
    )
    assert run_export_job(engine, forced, clock).rows == 13


def test_listing_failing_and_recovering(engine: Engine, out_dir: Path) -> None:
    first = request_export(
        engine, CommentFilter(), "csv", out_dir / "1.csv", requested_by="cli", now=NOW
    )
    second = request_export(
        engine, CommentFilter(), "csv", out_dir / "2.csv", requested_by="cli", now=NOW
    )
    assert [j.id for j in list_export_jobs(engine)] == [second, first]
    fail_export_job(engine, first, "gave up", NOW)
    assert [j.id for j in list_export_jobs(engine, status="failed")] == [first]
    with pytest.raises(ConfigError, match="unknown export job status 'lost'"):
        list_export_jobs(engine, status="lost")
    with pytest.raises(NotFoundError, match="export job 999 does not exist"):
        get_export_job(engine, 999)

    publish_export_jobs(engine, lambda _: None, NOW)
    later = NOW + timedelta(hours=1)
    assert recover_lost_export_jobs(engine, later, timedelta(minutes=30)) == 1
    assert get_export_job(engine, second).dispatched_at is None  # published again next pass
    with transaction(engine) as connection:
        connection.execute(
            update(export_jobs)
            .where(export_jobs.c.id == second)
            .values(status="running", started_at=NOW)
        )
    assert recover_lost_export_jobs(engine, later, timedelta(minutes=30)) == 1
    lost = get_export_job(engine, second)
    assert lost.status == "failed"
    assert lost.error.startswith("lost: running for more than 1800 s")


def test_request_needs_an_absolute_path_and_a_known_format(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="absolute path"):
        request_export(engine, CommentFilter(), "csv", Path("rel.csv"), requested_by="cli", now=NOW)
    with pytest.raises(ConfigError, match="unknown export format 'xml'"):
        request_export(
            engine, CommentFilter(), "xml", Path("/tmp/a.xml"), requested_by="cli", now=NOW
        )
    with engine.connect() as connection:
        assert connection.execute(select(export_jobs)).first() is None
