"""Celery side of vkpipe: the app, thin tasks per queue and the `celery` subcommands.

`celery -A workers ...` finds the app here as `workers.app`.
"""

from __future__ import annotations

# Importing them registers them with the app.
from workers import analyze_tasks, export_tasks, heartbeat, notify_tasks, tasks
from workers.app import app

__all__ = ["analyze_tasks", "app", "export_tasks", "heartbeat", "notify_tasks", "tasks"]
