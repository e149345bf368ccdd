"""Celery tasks: thin wrappers that take ids, call one core function and return a small summary."""

from __future__ import annotations

import socket
from typing import Any

from parser_pipeline import __version__
from workers.app import app


@app.task(name="vkpipe.dispatch.ping", ignore_result=False, acks_late=False)
def ping() -> dict[str, Any]:
    """Answer which worker and which vkpipe version took the message (health probes, tests)."""
    return {"host": socket.gethostname(), "version": __version__}
