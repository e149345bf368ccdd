"""The Celery app, configured only from celeryconfig.py and vkpipe's Settings."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import structlog
from celery import Celery, signals

import beat_schedule
import celeryconfig
from parser_pipeline.errors import ConfigError
from parser_pipeline.logging import bind_context, clear_context, configure_logging
from parser_pipeline.settings import Settings, load_settings

log = structlog.get_logger(__name__)


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        # `celery -A workers` imports this module; a bad setting ends it with one line.
        print(f"vkpipe: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def create_app(settings: Settings) -> Celery:
    celery_app = Celery("vkpipe")
    celery_app.config_from_object(celeryconfig)
    celery_app.conf.update(celeryconfig.from_settings(settings))
    celery_app.conf.beat_schedule = beat_schedule.schedule(settings)
    celery_app.conf.vkpipe_settings = settings
    celery_app.conf.include = [
        "workers.tasks",
        "workers.analyze_tasks",
        "workers.export_tasks",
        "workers.notify_tasks",
    ]
    return celery_app


settings = _settings_or_exit()
app = create_app(settings)

# `celery -A workers flower` reads workers/flowerconfig.py (which refuses to start without
# credentials) from any working directory; Flower takes its options from FLOWER_* variables
# before it looks for `./flowerconfig.py`. An explicit --conf still wins.
os.environ.setdefault("FLOWER_CONF", str(Path(__file__).with_name("flowerconfig.py")))


class QuietRoutineTasks(logging.Filter):
    """Drops Celery's INFO "received"/"succeeded" lines of beat's housekeeping tasks."""

    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)
        name = data.get("name") if isinstance(data, dict) else None
        return record.levelno > logging.INFO or name not in celeryconfig.QUIET_TASKS


# The loggers Celery writes a task's "received" and "succeeded" lines to.
TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    # Connecting to setup_logging stops Celery from configuring logging its own way.
    configure_logging(
        level=settings.log_level,
        log_format=settings.log_format,
        default_format="json",
        secrets=settings.secret_values(),
    )
    for name in TASK_LOGGERS:
        logging.getLogger(name).addFilter(QuietRoutineTasks())


@signals.beat_init.connect
def _beat_sends_no_sent_events(sender: Any = None, **_: Any) -> None:
    # Beat publishes only housekeeping passes (celeryconfig.QUIET_TASKS).
    sender.app.conf.task_send_sent_event = False


@signals.task_prerun.connect
def _bind_task_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    bind_context(task_id=task_id, task_name=getattr(task, "name", None))


@signals.task_postrun.connect
def _clear_task_context(**_: Any) -> None:
    clear_context()
