"""Celery side of vkpipe: the app, thin tasks per queue and the `celery` subcommands.

`celery -A workers ...` finds the app here as `workers.app`.
"""

from __future__ import annotations

from workers import analyze_tasks, export_tasks, heartbeat, tasks  # registers them with the app
from workers.app import app

__all__ = ["analyze_tasks", "app", "export_tasks", "heartbeat", "tasks"]
