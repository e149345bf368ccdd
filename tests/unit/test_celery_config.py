"""The Celery configuration's invariants: JSON only, late acks, routes, timeouts that fit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Celery

import celeryconfig
from parser_pipeline.constants import ALL_QUEUES
from parser_pipeline.settings import load_settings
from workers.app import create_app
from workers.embedded import embedded_worker


@pytest.fixture
def distributed_app() -> Celery:
    return create_app(load_settings(broker_url="redis://127.0.0.1:6379/3"))


def test_only_json_crosses_broker_and_backend(distributed_app: Celery) -> None:
    conf = distributed_app.conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    assert list(conf.result_accept_content) == ["json"]


def test_lost_workers_give_their_message_back(distributed_app: Celery) -> None:
    conf = distributed_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_visibility_timeout_outlasts_any_task_or_retry(distributed_app: Celery) -> None:
    conf = distributed_app.conf
    longest = max(conf.task_time_limit, celeryconfig.MAX_RETRY_COUNTDOWN_SECONDS)
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > longest
    assert conf.result_backend_transport_options["visibility_timeout"] > longest


def test_startup_retry_result_expiry_and_backend(distributed_app: Celery) -> None:
    conf = distributed_app.conf
    assert conf.broker_connection_retry_on_startup is True
    assert 0 < conf.result_expires <= 7 * 24 * 3600
    assert conf.result_backend == "redis://127.0.0.1:6379/3"


@pytest.mark.parametrize("queue", ALL_QUEUES)
def test_each_stage_routes_to_its_own_queue(distributed_app: Celery, queue: str) -> None:
    route = distributed_app.amqp.router.route({}, f"vkpipe.{queue}.anything")
    assert route["queue"].name == queue
    assert {q.name for q in distributed_app.conf.task_queues} == set(ALL_QUEUES)


def test_every_registered_task_is_routed_to_a_known_queue(distributed_app: Celery) -> None:
    import workers.tasks  # noqa: F401  (registers the tasks on the module-level app)
    from workers.app import app

    ours = [name for name in app.tasks if name.startswith("vkpipe.")]
    assert ours, "no vkpipe tasks registered"
    for name in ours:
        assert app.amqp.router.route({}, name)["queue"].name in ALL_QUEUES, name


def test_embedded_mode_needs_no_server() -> None:
    app = create_app(load_settings())
    assert app.conf.broker_url == "memory://"
    assert app.conf.result_backend == "cache+memory://"


@pytest.fixture
def embedded_app() -> Iterator[Celery]:
    from workers.app import app

    assert app.conf.broker_url == "memory://"
    return app


def test_embedded_worker_runs_the_same_tasks_in_process(embedded_app: Celery) -> None:
    from workers.tasks import ping

    with embedded_worker(embedded_app, concurrency=2):
        result = ping.apply_async()
        answer = result.get(timeout=30)
    assert result.status == "SUCCESS"
    assert answer["version"]
