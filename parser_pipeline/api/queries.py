"""Reads and writes only the API needs: group listing with filters, group and keyword updates.

They sit here, not in `store/groups.py` and `analyze/store.py`, only because those modules
have no such functions yet; each one is a candidate to move there.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection, Row, delete, func, select, tuple_, update
from sqlalchemy.sql.elements import ColumnElement

from parser_pipeline.analyze.rules import KeywordSpec
from parser_pipeline.errors import NotFoundError
from parser_pipeline.store.schema import keyword_matches, keywords, vk_comments, vk_groups

# Columns a group listing may be sorted by (a "-" prefix sorts descending); id breaks ties.
GROUP_SORT_COLUMNS: Final = (
    "id",
    "screen_name",
    "name",
    "priority",
    "crawl_interval_minutes",
    "last_crawled_at",
    "next_crawl_at",
    "added_at",
    "crawls_count",
)
_RULE_FIELDS: Final = ("phrase", "category", "match_mode", "case_sensitive", "is_exclusion")


def list_groups(
    connection: Connection,
    *,
    active: bool | None,
    closed: bool | None,
    errors: bool | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[list[Row[Any]], int]:
    """A page of groups and how many match in all."""
    g = vk_groups.c
    where: list[ColumnElement[bool]] = []
    if active is not None:
        where.append(g.is_active.is_(active))
    if closed is not None:
        where.append(g.is_closed != 0 if closed else g.is_closed == 0)
    if errors is not None:
        where.append(g.last_error.is_not(None) if errors else g.last_error.is_(None))
    column = g[sort.lstrip("-")]
    direction = column.desc().nulls_last() if sort.startswith("-") else column.asc().nulls_last()
    tie = g.id.desc() if sort.startswith("-") else g.id.asc()
    total = connection.execute(select(func.count()).select_from(vk_groups).where(*where)).scalar()
    rows = connection.execute(
        select(vk_groups).where(*where).order_by(direction, tie).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


def update_group(connection: Connection, group_id: int, values: dict[str, Any]) -> Row[Any]:
    """Set a group's crawl settings (interval, priority, max_post_age_days, is_active)."""
    if values:
        connection.execute(update(vk_groups).where(vk_groups.c.id == group_id).values(**values))
    row = connection.execute(select(vk_groups).where(vk_groups.c.id == group_id)).first()
    if row is None:
        raise NotFoundError(f"group {group_id} is not monitored")
    return row


def get_keyword(connection: Connection, keyword_id: int) -> Row[Any]:
    row = connection.execute(select(keywords).where(keywords.c.id == keyword_id)).first()
    if row is None:
        raise NotFoundError(f"keyword {keyword_id} does not exist")
    return row


def match_count(connection: Connection, keyword_id: int) -> int:
    query = select(func.count()).where(keyword_matches.c.keyword_id == keyword_id)
    return int(connection.execute(query).scalar() or 0)


def update_keyword(
    connection: Connection, keyword_id: int, spec: KeywordSpec, is_active: bool
) -> tuple[Row[Any], int]:
    """Change a rule. If what it matches changed (or it was switched on or off), its stored
    matches go and the comments they were in wait for analysis again, as after removing it;
    the row and that number of comments. An identical rule elsewhere: IntegrityError."""
    before = get_keyword(connection, keyword_id)
    values: dict[str, Any] = {name: getattr(spec, name) for name in _RULE_FIELDS}
    values["is_active"] = is_active
    changed = any(getattr(before, name) != value for name, value in values.items())
    requeued = 0
    if changed:
        connection.execute(update(keywords).where(keywords.c.id == keyword_id).values(**values))
        km = keyword_matches.c
        affected = select(km.owner_id, km.comment_id).where(km.keyword_id == keyword_id).distinct()
        requeued = int(
            connection.execute(
                update(vk_comments)
                .where(tuple_(vk_comments.c.owner_id, vk_comments.c.comment_id).in_(affected))
                .values(analyzed_at=None)
            ).rowcount
        )
        connection.execute(delete(keyword_matches).where(km.keyword_id == keyword_id))
    return get_keyword(connection, keyword_id), requeued
