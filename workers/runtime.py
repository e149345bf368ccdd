"""Per-process resources of a worker (engine, VK client), built once from the app's Settings."""

from __future__ import annotations

import threading
from typing import Any

from celery import signals
from sqlalchemy import Engine

from parser_pipeline.alerts.channels import Sender
from parser_pipeline.crawl.jobs import CrawlPolicy
from parser_pipeline.services import make_client, open_engine
from parser_pipeline.settings import Settings
from parser_pipeline.vk.client import VkClient
from workers.app import app

_lock = threading.Lock()
_resources: dict[str, Any] = {}


def settings() -> Settings:
    value: Settings = app.conf.vkpipe_settings
    return value


def policy() -> CrawlPolicy:
    """How crawls read (post-age tiers, full verifications), from the settings."""
    value = settings()
    return CrawlPolicy(value.recheck_tiers, value.full_verify_every)


def engine() -> Engine:
    """The process's engine (a pool shared by the threads of a `-P threads` worker)."""
    with _lock:
        if "engine" not in _resources:
            _resources["engine"] = open_engine(settings())
        result: Engine = _resources["engine"]
        return result


def vk() -> VkClient:
    """The process's VK client: its token pool and limiter are shared by all threads."""
    with _lock:
        if "vk" not in _resources:
            _resources["vk"] = make_client(settings())
        result: VkClient = _resources["vk"]
        return result


def alert_sender() -> Sender:
    """The process's alert sender: one HTTP session shared by the threads."""
    with _lock:
        if "alerts" not in _resources:
            _resources["alerts"] = Sender(settings())
        result: Sender = _resources["alerts"]
        return result


@signals.worker_process_init.connect
def _after_fork(**_: Any) -> None:
    # A prefork child must not reuse the parent's database connections or HTTP sessions.
    with _lock:
        old = _resources.pop("engine", None)
        if old is not None:
            old.dispose(close=False)
        _resources.pop("vk", None)
        _resources.pop("alerts", None)
