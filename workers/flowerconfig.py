"""Flower's settings (`celery -A workers flower --conf=workers/flowerconfig.py`): auth required.

Flower reads this file as Python. It refuses to start without credentials, so a dashboard that
can revoke tasks and read their arguments is never served open.
"""

from __future__ import annotations

import os

_credentials = os.environ.get("VKPIPE_FLOWER_BASIC_AUTH", "").strip()
if ":" not in _credentials:
    raise SystemExit(
        "vkpipe: error: VKPIPE_FLOWER_BASIC_AUTH is not set; "
        "give Flower a user:password (comma-separate several)"
    )

basic_auth = [pair.strip() for pair in _credentials.split(",") if pair.strip()]
port = int(os.environ.get("VKPIPE_FLOWER_PORT", "5555"))
address = os.environ.get("VKPIPE_FLOWER_ADDRESS", "127.0.0.1")
# Keep task history across restarts, in a file of its own.
persistent = True
db = os.environ.get("VKPIPE_FLOWER_DB", "flower.db")
state_save_interval = 60_000  # milliseconds
# Our tasks are named vkpipe.<queue>.<action>: show the names and ids, never long payloads.
natural_time = False
max_tasks = 100_000
