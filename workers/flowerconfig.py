"""Flower's settings, read by `celery -A workers flower` from any directory: auth is required.

Flower executes this file. It refuses to start without credentials, so a dashboard that can
revoke tasks and read their arguments is never served open. The values come from vkpipe's
Settings (VKPIPE_FLOWER_*), so a wrong one is one line naming the variable.

Flower's own /metrics (task and worker counters for Prometheus) is deliberately left without
auth, as Flower serves it: it holds names and counts, never task arguments; keep Flower on
loopback or a private network (compose publishes it on 127.0.0.1 only).
"""

from __future__ import annotations

import sys

from parser_pipeline.errors import ConfigError
from parser_pipeline.settings import load_settings

try:
    _settings = load_settings()
    _credentials = _settings.flower_credentials()
except ConfigError as exc:
    print(f"vkpipe: error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
if not _credentials:
    print(
        "vkpipe: error: VKPIPE_FLOWER_BASIC_AUTH is not set; give Flower a user:password "
        "(comma-separate several, or name a file in VKPIPE_FLOWER_BASIC_AUTH_FILE)",
        file=sys.stderr,
    )
    raise SystemExit(2)

basic_auth = list(_credentials)
port = _settings.flower_port
address = _settings.flower_address
# Keep task history across restarts, in a file of its own.
persistent = True
db = str(_settings.flower_db)
state_save_interval = 60_000  # milliseconds
# Our tasks are named vkpipe.<queue>.<action>: show the names and ids, never long payloads.
natural_time = False
max_tasks = 100_000
# Workers gone for a day (a replaced container, a renamed node) leave the list.
purge_offline_workers = 24 * 60 * 60
