"""What the Celery configuration does: JSON only, routes by stage, lost work given back."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest
from celery import Celery
from kombu import Connection
from kombu.exceptions import ContentDisallowed, EncodeError
from kombu.serialization import loads

import beat_schedule
import celeryconfig
from parser_pipeline.constants import ALL_QUEUES
from parser_pipeline.settings import load_settings
from workers.app import create_app

# Tasks that may be lost with their worker: health probes are asked again by whoever probes.
PROBES = frozenset({"vkpipe.dispatch.ping", *(f"vkpipe.{q}.health" for q in ALL_QUEUES)})


@pytest.fixture
def app() -> Iterator[Celery]:
    """The app without a broker: kombu's in-memory transport, so messages can be read back."""
    app = create_app(load_settings())
    yield app
    app.close()


def _published(app: Celery, queue: str) -> object:
    """The one message waiting in `queue` (memory transport), raw."""
    with Connection(app.conf.broker_url) as connection:
        message = connection.default_channel.basic_get(queue, no_ack=True)
    assert message is not None, f"nothing was published to {queue}"
    return message


@pytest.mark.parametrize("queue", ALL_QUEUES)
def test_a_task_goes_to_its_stages_queue_as_json(app: Celery, queue: str) -> None:
    app.send_task(f"vkpipe.{queue}.anything", args=[7])
    message = _published(app, queue)
    assert message.content_type == "application/json"  # type: ignore[attr-defined]
    assert message.decode()[0] == [7]  # type: ignore[attr-defined]


def test_arguments_json_cannot_carry_are_refused_when_sent(app: Celery) -> None:
    with pytest.raises(EncodeError):
        app.send_task("vkpipe.fetch.anything", args=[object()])


def test_a_pickled_message_is_refused_before_it_is_unpickled(app: Celery) -> None:
    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (pytest.fail, ("the worker unpickled a message",))

    payload = pickle.dumps(Boom())
    for accepted in (app.conf.accept_content, app.conf.result_accept_content):
        with pytest.raises(ContentDisallowed):
            loads(payload, "application/x-python-serialize", "binary", accept=accepted)


def test_every_working_task_gives_its_message_back_when_its_worker_dies() -> None:
    import workers.analyze_tasks
    import workers.export_tasks
    import workers.tasks  # noqa: F401
    from workers.app import app

    # Beat sends its periodic tasks again at their next tick: losing one costs a tick.
    periodic = {entry["task"] for entry in beat_schedule.schedule(load_settings()).values()}
    ours = {name: task for name, task in app.tasks.items() if name.startswith("vkpipe.")}
    assert ours, "no vkpipe tasks registered"
    for name, task in ours.items():
        assert app.amqp.router.route({}, name)["queue"].name in ALL_QUEUES, name
        if name not in PROBES | periodic:
            assert (task.acks_late, task.reject_on_worker_lost) == (True, True), name


def test_redis_redelivers_only_after_any_task_or_retry_could_have_ended() -> None:
    conf = create_app(load_settings(broker_url="redis://127.0.0.1:6379/3")).conf
    longest = max(conf.task_time_limit, celeryconfig.MAX_RETRY_COUNTDOWN_SECONDS)
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > longest
    assert conf.result_backend_transport_options["visibility_timeout"] > longest


@pytest.mark.parametrize(
    ("settings", "backend"),
    [
        ({"broker_url": "redis://h:6379/3"}, "redis://h:6379/3"),
        ({"broker_url": "redis://h:6379/3", "result_backend": "redis://r/1"}, "redis://r/1"),
        ({}, "cache+memory://"),
    ],
)
def test_results_go_to_the_brokers_redis_unless_told_otherwise(
    settings: dict[str, str], backend: str
) -> None:
    assert celeryconfig.from_settings(load_settings(**settings))["result_backend"] == backend
