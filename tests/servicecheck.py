"""A test's service is missing: skip on a laptop, fail under CI=true (shared by the conftests)."""

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
