"""The export tasks are registered under their names and routed to the `export` queue."""

from __future__ import annotations

from workers.app import app
from workers.export_tasks import RUN_TASK, SUBSCRIPTIONS_TASK, run_export, run_subscriptions


def test_names_and_routes() -> None:
    assert run_export.name == RUN_TASK == "vkpipe.export.run"
    assert run_subscriptions.name == SUBSCRIPTIONS_TASK == "vkpipe.export.subscriptions"
    for name in (RUN_TASK, SUBSCRIPTIONS_TASK):
        assert name in app.tasks
        route = app.amqp.router.route({}, name)
        assert route["queue"].name == "export"


def test_retry_policy_is_explicit() -> None:
    for task in (run_export, run_subscriptions):
        assert task.max_retries == 5
        assert task.autoretry_for
        assert task.retry_backoff
