"""When periodic work runs, and nothing else: beat publishes these and never does work itself."""

from __future__ import annotations

from typing import Any

from parser_pipeline.settings import Settings

# Old jobs are few and cheap to delete; once an hour keeps the table short.
CLEANUP_EVERY_SECONDS = 3600.0
# Comments wait for analysis at most this long when no crawl enqueued them (or a message was lost).
ANALYZE_BACKLOG_EVERY_SECONDS = 30.0
# Effective intervals follow the VK budget: the recent crawls' costs change slowly, and a plan
# every five minutes reacts to a new group or a lost token long before a quota runs out.
SCHEDULE_EVERY_SECONDS = 300.0


def schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The beat schedule; intervals come from Settings so tests and operators can shorten them.

    Each entry expires after its own interval: if no dispatcher took it by then, the next one
    will do the same work, and a backlog of stale passes must not pile up in a stopped queue.
    """
    return {
        "dispatch-due-groups": {
            "task": "vkpipe.dispatch.dispatch_due_groups",
            "schedule": settings.dispatch_interval_seconds,
            "options": {"expires": settings.dispatch_interval_seconds},
        },
        "reconcile-lost-work": {
            "task": "vkpipe.dispatch.reconcile",
            "schedule": settings.reconcile_interval_seconds,
            "options": {"expires": settings.reconcile_interval_seconds},
        },
        "analyze-backlog": {
            "task": "vkpipe.analyze.backlog",
            "schedule": ANALYZE_BACKLOG_EVERY_SECONDS,
            "options": {"expires": ANALYZE_BACKLOG_EVERY_SECONDS},
        },
        "plan-schedule": {
            "task": "vkpipe.dispatch.schedule",
            "schedule": SCHEDULE_EVERY_SECONDS,
            "options": {"expires": SCHEDULE_EVERY_SECONDS},
        },
        # Due alert deliveries (retries included), digests, spikes, deleted comments. The
        # analyze stage also asks for a pass when it wrote alerts, so this is the safety net.
        "alerts-pass": {
            "task": "vkpipe.notify.run",
            "schedule": settings.alerts_sweep_interval_seconds,
            "options": {"expires": settings.alerts_sweep_interval_seconds},
        },
        "cleanup-old-jobs": {
            "task": "vkpipe.dispatch.cleanup",
            "schedule": CLEANUP_EVERY_SECONDS,
            "options": {"expires": CLEANUP_EVERY_SECONDS},
        },
    }
