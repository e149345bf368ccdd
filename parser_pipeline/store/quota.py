"""Daily quota counts in the database, for runners without Redis (they outlive the process)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, func, select

from parser_pipeline.store.schema import vk_quota_usage
from parser_pipeline.store.writes import upsert_insert


def load_usage(connection: Connection, day: str) -> list[tuple[str, str, int, datetime | None]]:
    """(token_id, method, used, resting_until) saved for a quota day."""
    q = vk_quota_usage.c
    query = select(q.token_id, q.method, q.used, q.resting_until).where(q.day == day)
    return [(r.token_id, r.method, int(r.used), r.resting_until) for r in connection.execute(query)]


def save_usage(
    connection: Connection,
    day: str,
    used: Mapping[tuple[str, str], int],
    resting: Mapping[tuple[str, str], datetime],
) -> None:
    """Add calls to a day's counts, {(token_id, method): calls}, and record rests after 29."""
    keys = set(used) | set(resting)
    if not keys:
        return
    rows = [
        {
            "day": day,
            "token_id": token_id,
            "method": method,
            "used": used.get((token_id, method), 0),
            "resting_until": resting.get((token_id, method)),
        }
        for token_id, method in sorted(keys)
    ]
    stmt = upsert_insert(connection, vk_quota_usage)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "token_id", "method"],
        set_={
            "used": vk_quota_usage.c.used + stmt.excluded.used,
            "resting_until": func.coalesce(
                stmt.excluded.resting_until, vk_quota_usage.c.resting_until
            ),
        },
    )
    connection.execute(stmt, rows)
