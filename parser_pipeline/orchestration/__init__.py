"""Distributed orchestration without Celery: dispatch, work items, stages, reconciliation."""
