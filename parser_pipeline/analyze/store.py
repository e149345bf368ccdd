"""Keyword rules and matches in the database: rule CRUD, bulk and idempotent match writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, bindparam, delete, func, literal, select, tuple_, update

from parser_pipeline.analyze.engine import Match
from parser_pipeline.analyze.rules import KeywordSpec, Rule
from parser_pipeline.errors import NotFoundError
from parser_pipeline.store.keys import KEYS_PER_QUERY, keys_in
from parser_pipeline.store.schema import keyword_matches, keywords, vk_comments
from parser_pipeline.store.writes import chunks, upsert_insert

# Rows per INSERT: a match row binds 8 parameters; SQLite allows 32,766 per statement.
MATCH_ROWS_PER_STATEMENT: Final = 1000

Key = tuple[int, int]
# What a stored match is compared by: (keyword_id, start, end, matched_text, context).
MatchTuple = tuple[int, int, int, str, str]

# What makes a rule a rule (the unique index uq_keywords_rule).
_RULE_FIELDS: Final = ("phrase", "category", "match_mode", "case_sensitive", "is_exclusion")
_RULE_COLUMNS = (
    keywords.c.id,
    keywords.c.phrase,
    keywords.c.category,
    keywords.c.match_mode,
    keywords.c.case_sensitive,
    keywords.c.is_exclusion,
)


@dataclass(frozen=True, slots=True)
class Added:
    """The outcome of adding one rule: its id and whether it was new."""

    id: int
    created: bool


# ---- rules ------------------------------------------------------------------------------------


def add_keywords(connection: Connection, specs: Sequence[KeywordSpec]) -> list[Added]:
    """Insert rules; one that exists already (same phrase, category, mode, flags) is kept as is,
    made active again if it was not."""
    added: list[Added] = []
    unique_key = _RULE_FIELDS
    for spec in specs:
        values = {
            "phrase": spec.phrase,
            "category": spec.category,
            "match_mode": spec.match_mode,
            "case_sensitive": spec.case_sensitive,
            "is_exclusion": spec.is_exclusion,
        }
        stmt = upsert_insert(connection, keywords).values(**values)
        stmt = stmt.on_conflict_do_nothing(index_elements=list(unique_key))
        new_id = connection.execute(stmt.returning(keywords.c.id)).scalar_one_or_none()
        if new_id is not None:
            added.append(Added(int(new_id), True))
            continue
        condition = [keywords.c[name] == values[name] for name in unique_key]
        existing = connection.execute(select(keywords.c.id).where(*condition)).scalar_one()
        connection.execute(
            update(keywords)
            .where(keywords.c.id == existing, ~keywords.c.is_active)
            .values(is_active=True)
        )
        added.append(Added(int(existing), False))
    return added


def list_keywords(connection: Connection, category: str | None = None) -> list[Row[Any]]:
    """Every rule (active or not) with its number of stored matches, by category then id."""
    counts = (
        select(keyword_matches.c.keyword_id, func.count().label("matches"))
        .group_by(keyword_matches.c.keyword_id)
        .subquery()
    )
    query = (
        select(keywords, func.coalesce(counts.c.matches, 0).label("matches"))
        .outerjoin(counts, counts.c.keyword_id == keywords.c.id)
        .order_by(keywords.c.category, keywords.c.id)
    )
    if category is not None:
        query = query.where(keywords.c.category == category)
    return list(connection.execute(query))


def active_rules(connection: Connection) -> list[Rule]:
    """The rules the engine compiles, by id."""
    rows = connection.execute(
        select(*_RULE_COLUMNS).where(keywords.c.is_active).order_by(keywords.c.id)
    )
    return [
        Rule(r.id, r.phrase, r.category, r.match_mode, r.case_sensitive, r.is_exclusion)
        for r in rows
    ]


def existing_keyword_ids(connection: Connection, ids: Sequence[int]) -> None:
    """Raise NotFoundError naming the first id that is no stored rule."""
    found = set(connection.execute(select(keywords.c.id).where(keywords.c.id.in_(ids))).scalars())
    for keyword_id in ids:
        if keyword_id not in found:
            raise NotFoundError(f"keyword {keyword_id} does not exist; see `vkpipe keywords list`")


def remove_keywords(connection: Connection, ids: Sequence[int]) -> tuple[list[Row[Any]], int]:
    """Delete rules and their matches; comments they matched are queued for analysis again
    (their `matched_keywords_count` depended on them). Returns the rows and that number."""
    existing_keyword_ids(connection, ids)
    rows = list(connection.execute(select(keywords).where(keywords.c.id.in_(ids))))
    requeued = _forget_matches(connection, ids)
    connection.execute(delete(keywords).where(keywords.c.id.in_(ids)))
    return rows, requeued


def get_keyword(connection: Connection, keyword_id: int) -> Row[Any]:
    row = connection.execute(select(keywords).where(keywords.c.id == keyword_id)).first()
    if row is None:
        raise NotFoundError(f"keyword {keyword_id} does not exist")
    return row


def match_count(connection: Connection, keyword_id: int) -> int:
    """The stored matches of one rule."""
    query = select(func.count()).where(keyword_matches.c.keyword_id == keyword_id)
    return int(connection.execute(query).scalar() or 0)


def find_rule(connection: Connection, spec: KeywordSpec) -> int | None:
    """The id of the stored rule identical to `spec` (the unique index's columns), if any."""
    condition = [keywords.c[name] == getattr(spec, name) for name in _RULE_FIELDS]
    return connection.execute(select(keywords.c.id).where(*condition)).scalar_one_or_none()


def update_keyword(
    connection: Connection, keyword_id: int, spec: KeywordSpec, is_active: bool
) -> tuple[Row[Any], int]:
    """Change a rule. If what it matches changed (or it was switched on or off), its stored
    matches go and the comments they were in wait for analysis again, as after removing it;
    the row and that number of comments. An identical rule elsewhere: IntegrityError."""
    before = get_keyword(connection, keyword_id)
    values: dict[str, Any] = {name: getattr(spec, name) for name in _RULE_FIELDS}
    values["is_active"] = is_active
    if all(getattr(before, name) == value for name, value in values.items()):
        return before, 0
    connection.execute(update(keywords).where(keywords.c.id == keyword_id).values(**values))
    requeued = _forget_matches(connection, [keyword_id])
    return get_keyword(connection, keyword_id), requeued


def _forget_matches(connection: Connection, ids: Sequence[int]) -> int:
    """Delete the matches of these rules and queue the comments they were in for analysis
    again; the number of those comments."""
    km = keyword_matches.c
    affected = select(km.owner_id, km.comment_id).where(km.keyword_id.in_(ids)).distinct()
    requeued = connection.execute(
        update(vk_comments)
        .where(tuple_(vk_comments.c.owner_id, vk_comments.c.comment_id).in_(affected))
        .values(analyzed_at=None)
    ).rowcount
    connection.execute(delete(keyword_matches).where(km.keyword_id.in_(ids)))
    return int(requeued)


# ---- matches ------------------------------------------------------------------------------------


def stored_matches(connection: Connection, keys: Sequence[Key]) -> dict[Key, set[MatchTuple]]:
    """The stored matches of the given comments."""
    found: dict[Key, set[MatchTuple]] = {}
    km = keyword_matches.c
    for chunk in chunks(keys, KEYS_PER_QUERY):
        rows = connection.execute(
            select(km.owner_id, km.comment_id, km.keyword_id, km.start, km.end, km.matched_text,
                   km.context)
            .where(keys_in((km.owner_id, km.comment_id), chunk))
        )  # fmt: skip
        for r in rows:
            found.setdefault((r.owner_id, r.comment_id), set()).add(
                (r.keyword_id, r.start, r.end, r.matched_text, r.context)
            )
    return found


def replace_matches(connection: Connection, matches: dict[Key, list[Match]], now: datetime) -> int:
    """Make the stored matches of these comments exactly `matches`; returns rows inserted."""
    keys = sorted(matches)
    for chunk in chunks(keys, KEYS_PER_QUERY):
        connection.execute(
            delete(keyword_matches).where(
                keys_in((keyword_matches.c.owner_id, keyword_matches.c.comment_id), chunk)
            )
        )
    rows = [
        {
            "owner_id": owner_id,
            "comment_id": comment_id,
            "keyword_id": m.keyword_id,
            "start": m.start,
            "end": m.end,
            "matched_text": m.matched_text,
            "context": m.context,
            "matched_at": now,
        }
        for (owner_id, comment_id) in keys
        for m in matches[(owner_id, comment_id)]
    ]
    for chunk in chunks(rows, MATCH_ROWS_PER_STATEMENT):
        # A concurrent analysis of the same comment may have inserted the same rows already.
        stmt = upsert_insert(connection, keyword_matches).on_conflict_do_nothing()
        connection.execute(stmt, list(chunk))
    return len(rows)


def mark_analyzed(
    connection: Connection, analyzed: Sequence[tuple[int, int, str, int]], now: datetime
) -> int:
    """Set `analyzed_at` and `matched_keywords_count` of (owner_id, comment_id, text, count).

    Only where the text is still the one analyzed: a crawl that changed it meanwhile has set
    `analyzed_at` back to NULL, and it must stay NULL so the new text is analyzed too.
    """
    if not analyzed:
        return 0
    c = vk_comments.c
    stmt = (
        update(vk_comments)
        .where(
            c.owner_id == bindparam("b_owner"),
            c.comment_id == bindparam("b_comment"),
            c.text == bindparam("b_text"),
        )
        .values(matched_keywords_count=bindparam("b_count"), analyzed_at=now)
    )
    result = connection.execute(
        stmt,
        [{"b_owner": o, "b_comment": i, "b_text": t, "b_count": n} for o, i, t, n in analyzed],
    )
    return int(result.rowcount)


def mark_unanalyzed_after(
    connection: Connection, after: Key | None, limit: int
) -> tuple[Key | None, int]:
    """Queue the next `limit` comments after `after` (in key order) for analysis again.

    Returns the last key and the number of comments taken; (None, 0) when there are no more.
    """
    c = vk_comments.c
    query = select(c.owner_id, c.comment_id).order_by(c.owner_id, c.comment_id).limit(limit)
    if after is not None:
        query = query.where(
            tuple_(c.owner_id, c.comment_id) > tuple_(literal(after[0]), literal(after[1]))
        )
    keys = [(r.owner_id, r.comment_id) for r in connection.execute(query)]
    if not keys:
        return None, 0
    for chunk in chunks(keys, KEYS_PER_QUERY):
        connection.execute(
            update(vk_comments)
            .where(keys_in((c.owner_id, c.comment_id), chunk))
            .where(c.analyzed_at.is_not(None))
            .values(analyzed_at=None)
        )
    return keys[-1], len(keys)
