"""Who carries the work, without Celery: dispatch, requests, reconciliation, schedules."""
