"""Conditions that pick rows by composite keys, in a form both databases serve from an index.

Why not `tuple_(a, b).in_(keys)`: SQLite answers a row-value `IN` list with a scan of the whole
table (`EXPLAIN QUERY PLAN`: `SCAN`, SQLite 3.40), so every lookup by (owner_id, comment_id)
grew with the table. Grouped by all but the last column, `a = 1 AND b IN (...) OR a = 2 AND
...` is one index search per group on SQLite ("MULTI-INDEX OR") and on PostgreSQL alike, and
stays short: keys mostly share their owner (and job).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, false, or_
from sqlalchemy.sql.elements import ColumnElement

# Keys per statement where callers chunk a long list: SQLite parses `a OR b OR ...` into a tree
# as deep as its terms, and refuses one deeper than 1,000.
KEYS_PER_QUERY = 500


def keys_in(
    columns: Sequence[ColumnElement[Any]], keys: Iterable[Sequence[Any]]
) -> ColumnElement[bool]:
    """Rows whose `columns` equal one of `keys` (false for no keys)."""
    *leading, last = columns
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for key in keys:
        groups.setdefault(tuple(key[:-1]), []).append(key[-1])
    if not groups:
        return false()
    terms = [
        and_(*(column == value for column, value in zip(leading, prefix, strict=True)),
             last.in_(sorted(set(values))))
        for prefix, values in sorted(groups.items())
    ]  # fmt: skip
    return terms[0] if len(terms) == 1 else or_(*terms)
