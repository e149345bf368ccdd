"""Only JSON crosses the broker and the result backend: pickled messages and results are refused
before anything in them is unpickled, and a refused task never runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from kombu.exceptions import DecodeError
from sqlalchemy import select

from fleet import Fleet, register_all, wait_for
from parser_pipeline.crawl import engine as crawl_engine
from parser_pipeline.crawl.jobs import CrawlPolicy
from parser_pipeline.emulator import Emulator
from parser_pipeline.orchestration.dispatch import requested_jobs
from parser_pipeline.orchestration.requests import request_crawl
from parser_pipeline.settings import load_settings
from parser_pipeline.store.schema import fetch_batches
from private_servers import RedisServer
from reliability_kit import BROKER_DB, all_logs, migrated_engine
from workers.app import create_app
from workers.tasks import FETCH_TASK

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

REFUSED = "Refusing to deserialize untrusted content of type pickle"


class MakesDirectory:
    """Unpickling it creates a directory: proof that nobody unpickled what we sent."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.path),))


def batch(engine: Any, batch_id: int | None = None) -> Any:
    """The one batch there is (or the one with this id)."""
    query = select(fetch_batches)
    if batch_id is not None:
        query = query.where(fetch_batches.c.id == batch_id)
    with engine.connect() as connection:
        return connection.execute(query).one()


def test_pickled_task_message_is_refused_and_never_runs(
    postgres_url: str,
    private_redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
    tmp_path: Path,
) -> None:
    emulator = emulators()
    engine = migrated_engine(postgres_url)
    register_all(engine, emulator)
    name = sorted(emulator.world.group_screen_names())[0]
    now = datetime.now(UTC)
    request_crawl(engine, [name], requested_by="cli", full_verify=False, now=now)
    # The job starts and its first call is packed: a pending batch no dispatcher will publish.
    crawl_engine.begin(engine, requested_jobs(engine), now, CrawlPolicy(), "fleet")
    crawl_engine.pack(engine, now)
    before = batch(engine)
    fleet = fleets(postgres_url, private_redis, emulator)
    fleet.worker("fetch1", "fetch", "-P", "threads", "-c", "2")  # no beat, no dispatcher

    app = create_app(load_settings(broker_url=private_redis.url(BROKER_DB)))
    marker = tmp_path / "unpickled"
    app.send_task(FETCH_TASK, args=[before.id], serializer="pickle")
    app.send_task(FETCH_TASK, args=[MakesDirectory(marker)], serializer="pickle")
    wait_for(lambda: all_logs(fleet).count(REFUSED) >= 2, "the worker to refuse both", fleet)

    assert not marker.exists()
    untouched = batch(engine, before.id)
    assert (untouched.status, untouched.attempts, untouched.claimed_by) == ("pending", 0, None)
    assert untouched.updated_at == before.updated_at

    # The same message as JSON runs: the refusal was about the content type alone.
    result = app.send_task(FETCH_TASK, args=[before.id])
    assert result.get(timeout=120)["status"] == "done"
    assert batch(engine, before.id).status == "done"  # (its follow-ups are new batches)
    engine.dispose()


def test_pickled_result_is_refused_by_the_result_backend(
    private_redis: RedisServer, tmp_path: Path
) -> None:
    url = private_redis.url(BROKER_DB)
    app = create_app(load_settings(broker_url=url))
    assert app.conf.result_accept_content == ["json"]
    marker = tmp_path / "unpickled-result"
    # Someone who can write to Redis stores a pickled result under a task id we will read.
    writer = Celery("intruder", broker=url, backend=url)
    writer.conf.update(result_serializer="pickle", result_accept_content=["pickle"])
    writer.backend.store_result("pickled-result-1", MakesDirectory(marker), "SUCCESS")
    assert private_redis.client(BROKER_DB).exists("celery-task-meta-pickled-result-1") == 1

    # Our backend reads results as JSON only (result_serializer and result_accept_content):
    # the pickle stream is bytes that are not JSON, and it is never handed to pickle.
    with pytest.raises(DecodeError, match="can't decode byte 0x80"):
        app.AsyncResult("pickled-result-1").get(timeout=10)
    assert not marker.exists()
