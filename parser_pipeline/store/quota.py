"""Daily quota counts in the database, for runners without Redis (they outlive the process)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, select

from parser_pipeline.store.schema import vk_quota_usage
from parser_pipeline.store.writes import upsert_insert


def load_usage(connection: Connection, day: str) -> list[tuple[str, str, int, bool]]:
    """(token_id, method, used, exhausted) saved for a quota day."""
    q = vk_quota_usage.c
    rows = connection.execute(select(q.token_id, q.method, q.used, q.exhausted).where(q.day == day))
    return [(r.token_id, r.method, int(r.used), bool(r.exhausted)) for r in rows]


def save_usage(
    connection: Connection,
    day: str,
    used: Mapping[tuple[str, str], int],
    exhausted: set[tuple[str, str]],
) -> None:
    """Add calls to a day's counts and record error-29 marks: {(token_id, method): calls}."""
    keys = set(used) | exhausted
    if not keys:
        return
    rows = [
        {
            "day": day,
            "token_id": token_id,
            "method": method,
            "used": used.get((token_id, method), 0),
            "exhausted": (token_id, method) in exhausted,
        }
        for token_id, method in sorted(keys)
    ]
    stmt = upsert_insert(connection, vk_quota_usage)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "token_id", "method"],
        set_={
            "used": vk_quota_usage.c.used + stmt.excluded.used,
            "exhausted": vk_quota_usage.c.exhausted | stmt.excluded.exhausted,
        },
    )
    connection.execute(stmt, rows)
