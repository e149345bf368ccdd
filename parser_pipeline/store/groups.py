"""The monitored groups: add, list, pause, remove, find the due ones, record a crawl's outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from parser_pipeline.errors import NotFoundError
from parser_pipeline.group_refs import parse_group_ref
from parser_pipeline.records import GroupInfo
from parser_pipeline.store.schema import vk_groups
from parser_pipeline.store.writes import upsert_groups


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    """A group's crawl settings as the user set them; None keeps the stored (or default) value."""

    crawl_interval_minutes: int | None = None
    priority: int | None = None
    max_post_age_days: int | None = None

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def add_groups(
    connection: Connection, groups: Sequence[GroupInfo], settings: CrawlSettings
) -> None:
    """Insert new groups with `settings`; for known ones refresh VK's data and apply `settings`."""
    upsert_groups(connection, groups)
    values = settings.values()
    if values and groups:
        connection.execute(
            update(vk_groups).where(vk_groups.c.id.in_([g.id for g in groups])).values(**values)
        )


def list_groups(connection: Connection) -> list[Row[Any]]:
    return list(connection.execute(select(vk_groups).order_by(vk_groups.c.id)))


def group_ids(connection: Connection) -> set[int]:
    """The ids of every stored group."""
    return set(connection.execute(select(vk_groups.c.id)).scalars())


def groups_page(
    connection: Connection,
    *,
    active: bool | None = None,
    closed: bool | None = None,
    errors: bool | None = None,
    sort: str = "id",
    limit: int,
    offset: int = 0,
) -> tuple[list[Row[Any]], int]:
    """A page of groups and how many match in all. `sort` is a column of vk_groups, "-" first
    for descending; NULLs last, the id breaks ties. None for a flag: either way."""
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
    """Set a group's crawl settings (interval, priority, max_post_age_days, is_active); the row
    after the change. NotFoundError if the group is not stored."""
    if values:
        connection.execute(update(vk_groups).where(vk_groups.c.id == group_id).values(**values))
    row = connection.execute(select(vk_groups).where(vk_groups.c.id == group_id)).first()
    if row is None:
        raise NotFoundError(f"group {group_id} is not monitored")
    return row


def find_group(connection: Connection, text: str) -> Row[Any]:
    """The stored group a user's text names (an id, a screen name, club123, a vk.com link);
    NotFoundError naming the text when it names no monitored group (or no group at all)."""
    try:
        ref = parse_group_ref(text)
    except ValueError as exc:
        raise NotFoundError(f"{exc}; monitored groups: `vkpipe groups list`") from None
    row = find_known_group(connection, group_id=ref.group_id, screen_name=ref.screen_name)
    if row is None:
        raise NotFoundError(
            f"group {text!r} is not monitored; add it with `vkpipe groups add {text}`"
        )
    return row


def find_groups(connection: Connection, refs: Sequence[str]) -> list[Row[Any]]:
    """Stored groups by what users typed, in order (see `find_group`)."""
    return [find_group(connection, ref) for ref in refs]


def find_known_group(
    connection: Connection, *, group_id: int | None = None, screen_name: str | None = None
) -> Row[Any] | None:
    """The stored group with this id or screen name (case-insensitive), if any."""
    if group_id is not None:
        condition = vk_groups.c.id == group_id
    else:
        condition = func.lower(vk_groups.c.screen_name) == (screen_name or "").lower()
    return connection.execute(select(vk_groups).where(condition)).first()


def set_active(connection: Connection, group_ids: Sequence[int], active: bool) -> None:
    connection.execute(
        update(vk_groups).where(vk_groups.c.id.in_(group_ids)).values(is_active=active)
    )


def remove_groups(connection: Connection, group_ids: Sequence[int]) -> None:
    """Stop monitoring groups; their posts and comments stay (they are collected data)."""
    connection.execute(delete(vk_groups).where(vk_groups.c.id.in_(group_ids)))


def due_groups(connection: Connection, now: datetime) -> list[Row[Any]]:
    """Active groups whose next crawl time has passed (or was never set), highest priority first."""
    return list(
        connection.execute(
            select(vk_groups)
            .where(vk_groups.c.is_active)
            .where(or_(vk_groups.c.next_crawl_at.is_(None), vk_groups.c.next_crawl_at <= now))
            .order_by(vk_groups.c.priority.desc(), vk_groups.c.next_crawl_at.asc(), vk_groups.c.id)
        )
    )


def record_crawl(
    connection: Connection,
    group_id: int,
    now: datetime,
    *,
    error: str | None = None,
    error_code: int | None = None,
) -> None:
    """A crawl of the group ended: schedule the next one (at its effective interval, which the
    VK budget may have stretched) and keep (or clear) its last error."""
    row = connection.execute(
        select(vk_groups.c.crawl_interval_minutes, vk_groups.c.effective_interval_minutes).where(
            vk_groups.c.id == group_id
        )
    ).first()
    if row is None:
        return  # removed while it was being crawled
    interval = row.effective_interval_minutes or row.crawl_interval_minutes
    values: dict[str, Any] = {
        "last_crawled_at": now,
        "next_crawl_at": now + timedelta(minutes=interval),
        "crawls_count": vk_groups.c.crawls_count + 1,
        "last_error": error,
        "last_error_code": error_code,
    }
    connection.execute(update(vk_groups).where(vk_groups.c.id == group_id).values(**values))


def set_wall_listed(connection: Connection, group_id: int, until: datetime) -> None:
    """A complete listing of the group's wall reached posts of this date (a later one may stop
    there); never moves back."""
    connection.execute(
        update(vk_groups)
        .where(vk_groups.c.id == group_id)
        .where(or_(vk_groups.c.wall_listed_until.is_(None), vk_groups.c.wall_listed_until < until))
        .values(wall_listed_until=until)
    )
