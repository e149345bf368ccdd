"""The HTTP API (FastAPI): groups, keywords, comment search, jobs, statistics, exports, health."""

from __future__ import annotations
