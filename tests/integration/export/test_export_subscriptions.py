"""Subscriptions: a first run exports all, later runs what changed; the watermark moves last."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from exportdata import Dataset
from parser_pipeline.errors import ConfigError, NotFoundError
from parser_pipeline.export.subscriptions import (
    add_subscription,
    crawl_job_group,
    list_subscriptions,
    remove_subscription,
    run_due_subscriptions,
)
from parser_pipeline.records import CommentRecord
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.jobs import insert_job
from parser_pipeline.store.schema import export_jobs, keyword_matches, vk_comments
from parser_pipeline.store.writes import comment_row, upsert_comments

RUN1 = datetime(2024, 8, 1, 12, 0, tzinfo=UTC)


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def ids_in(path: Path) -> list[int]:
    return [json.loads(line)["comment_id"] for line in path.read_text().splitlines()]


def test_incremental_runs(engine: Engine, dataset: Dataset, out_dir: Path) -> None:
    add_subscription(
        engine, name="g2", fmt="jsonl", directory=out_dir, filters=CommentFilter(),
        group_ids=[2002], now=RUN1,
    )  # fmt: skip
    add_subscription(
        engine, name="schools", fmt="jsonl", directory=out_dir, filters=CommentFilter(),
        categories=["education"], now=RUN1,
    )  # fmt: skip
    # A crawl of group 3003 triggers only the subscription that follows every group.
    [schools] = run_due_subscriptions(engine, 3003, at(RUN1))
    assert (schools.status, schools.rows) == ("succeeded", 2)
    assert ids_in(Path(schools.path)) == [1, 13]

    first = run_due_subscriptions(engine, 2002, at(RUN1))
    assert [(o.status, o.rows) for o in first] == [("succeeded", 4), ("succeeded", 0)]
    g2_file = Path(first[0].path)
    assert g2_file.name == f"g2-20240801T120000Z-{first[0].job_id}.jsonl"
    assert ids_in(g2_file) == [10, 11, 12, 13]
    assert {s.name: s.exported_until for s in list_subscriptions(engine)}["g2"] == RUN1

    # Nothing changed: no file, the run is still recorded and the watermark moves.
    run2 = RUN1 + timedelta(hours=1)
    second = run_due_subscriptions(engine, 2002, at(run2))
    assert [(o.status, o.rows) for o in second] == [("succeeded", 0), ("succeeded", 0)]
    assert not Path(second[0].path).exists()

    # A new reply in group 2002 and a comment that gains a match (analysis ran later).
    changed = run2 + timedelta(minutes=10)
    reply = CommentRecord(-2002, 14, 20, 11, None, None, 100, changed, "ещё ответ", 0, None, False)
    with transaction(engine) as connection:
        upsert_comments(connection, [comment_row(reply, changed, True)])
        connection.execute(
            update(vk_comments)
            .where(vk_comments.c.comment_id == 6)
            .values(analyzed_at=changed, matched_keywords_count=1)
        )
        connection.execute(
            keyword_matches.insert().values(
                owner_id=-1001, comment_id=6, keyword_id=dataset.keyword_ids["школа"], start=0,
                end=5, matched_text="школа", context="школа", matched_at=changed,
            )
        )  # fmt: skip
    run3 = run2 + timedelta(hours=1)
    third = run_due_subscriptions(engine, 2002, at(run3))
    assert [(o.status, o.rows) for o in third] == [("succeeded", 1), ("succeeded", 1)]
    assert ids_in(Path(third[0].path)) == [14]
    assert ids_in(Path(third[1].path)) == [6]

    with engine.connect() as connection:
        jobs = list(connection.execute(select(export_jobs).order_by(export_jobs.c.id)))
    assert {j.requested_by for j in jobs} == {"beat"}
    assert all(j.subscription_id is not None and j.status == "succeeded" for j in jobs)


def test_a_failed_run_keeps_the_watermark(engine: Engine, dataset: Dataset, out_dir: Path) -> None:
    gone = out_dir / "gone"
    add_subscription(engine, name="x", fmt="csv", directory=gone, filters=CommentFilter(), now=RUN1)
    [outcome] = run_due_subscriptions(engine, 1001, at(RUN1))
    assert outcome.status == "failed"
    assert "does not exist" in (outcome.error or "")
    assert list_subscriptions(engine)[0].exported_until is None
    gone.mkdir()
    [retry] = run_due_subscriptions(engine, 1001, at(RUN1 + timedelta(hours=1)))
    assert (retry.status, retry.rows) == ("succeeded", 13)  # everything, as a first run


def test_crawl_job_group(engine: Engine, dataset: Dataset) -> None:
    with transaction(engine) as connection:
        job_id = insert_job(connection, 1001, requested_by="cli", priority=5, now=RUN1)
    assert job_id is not None
    assert crawl_job_group(engine, job_id) == 1001
    assert crawl_job_group(engine, 999) is None


def test_add_list_remove(engine: Engine, out_dir: Path) -> None:
    add_subscription(
        engine, name="daily", fmt="parquet", directory=out_dir,
        filters=CommentFilter(matched_only=True), group_ids=[5, 5, 3], now=RUN1,
    )  # fmt: skip
    [saved] = list_subscriptions(engine)
    assert (saved.name, saved.format, saved.group_ids, saved.filters.matched_only) == (
        "daily", "parquet", (3, 5), True,
    )  # fmt: skip
    with pytest.raises(ConfigError, match="named 'daily' exists"):
        add_subscription(
            engine, name="daily", fmt="csv", directory=out_dir, filters=CommentFilter(), now=RUN1
        )
    with pytest.raises(ConfigError, match="subscription name"):
        add_subscription(
            engine, name="a/b", fmt="csv", directory=out_dir, filters=CommentFilter(), now=RUN1
        )
    remove_subscription(engine, "daily")
    assert list_subscriptions(engine) == []
    with pytest.raises(NotFoundError, match="no export subscription named 'daily'"):
        remove_subscription(engine, "daily")
