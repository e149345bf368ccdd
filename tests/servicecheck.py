"""Test plumbing: a missing service skips (fails under CI=true); Redis databases per worker."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_missing(what: str, reason: object) -> None:
    message = f"{what} is not reachable ({reason})"
    if in_ci():
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


# Redis databases each pytest-xdist worker owns on the shared server, by purpose, so parallel
# workers never flush or consume each other's data. (Databases 3 and 4 belong to a unit test's
# URL and to bench/; the reliability suite starts private servers of its own.)
_REDIS_DBS = {
    "broker": (12, 10),
    "limiter": (11, 9),
    "vk": (15, 13),
    "cache": (14, 8),
}


def xdist_worker_index() -> int:
    """0 for the first xdist worker (or no xdist), 1 for the second, and so on."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


def redis_db(purpose: str) -> int:
    choices = _REDIS_DBS[purpose]
    index = xdist_worker_index()
    if index >= len(choices):
        raise RuntimeError(f"no Redis database for xdist worker {index}: run at most 2 workers")
    return choices[index]


# The shared Redis server the tests use; VKPIPE_TEST_REDIS_SERVER points a second test run on
# the same machine (another checkout) at a server of its own, so two runs never share databases.
REDIS_SERVER = os.environ.get("VKPIPE_TEST_REDIS_SERVER", "redis://127.0.0.1:6379").rstrip("/")


def redis_url(purpose: str) -> str:
    """This xdist worker's Redis database for `purpose` on the test Redis server."""
    return f"{REDIS_SERVER}/{redis_db(purpose)}"
