"""Reviews of comments: a state, tags and a note per comment, changed one or many at a time,
every change recorded with who (the API key's name) and when.

A comment without a `comment_reviews` row is `new` with no tags and no note. `apply_review`
changes a selection in one transaction: what a change would do to each comment is decided by
the pure `review_actions`, so a comment already in the asked state gains no audit line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, delete, func, insert, select

from parser_pipeline.errors import NotFoundError
from parser_pipeline.store.keys import KEYS_PER_QUERY, keys_in
from parser_pipeline.store.names import ReviewState
from parser_pipeline.store.schema import comment_reviews, comment_tags, review_events, vk_comments
from parser_pipeline.store.writes import chunks, upsert_insert

# Comments one change may name: a page of the feed is at most this; one transaction of rows.
MAX_SELECTION: Final = 500
# Tags one change may add or remove at once.
MAX_TAGS_PER_CHANGE: Final = 20
# A note is a few sentences; this keeps a page of the feed small.
MAX_NOTE_CHARS: Final = 2000
# Audit lines shown per comment, newest first.
HISTORY_LIMIT: Final = 200

Key = tuple[int, int]  # (owner_id, comment_id)


@dataclass(frozen=True, slots=True)
class Review:
    """A comment's review; `updated_*` are None for a comment nobody reviewed."""

    state: ReviewState = ReviewState.new
    tags: tuple[str, ...] = ()
    note: str = ""
    updated_at: datetime | None = None
    updated_by: str | None = None


NOT_REVIEWED: Final = Review()


@dataclass(frozen=True, slots=True)
class ReviewChange:
    """What to do to each selected comment; None and empty leave that part as it is."""

    state: ReviewState | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    note: str | None = None

    @property
    def empty(self) -> bool:
        return (
            self.state is None
            and not self.add_tags
            and not self.remove_tags
            and (self.note is None)
        )


def review_actions(before: Review, change: ReviewChange) -> list[tuple[str, str]]:
    """The audit lines (action, value) `change` makes on a comment reviewed as `before`: only
    what differs, tags in the order given, a tag both added and removed is removed (pure)."""
    actions: list[tuple[str, str]] = []
    if change.state is not None and change.state != before.state:
        actions.append(("state", change.state.value))
    removed = set(change.remove_tags)
    for tag in dict.fromkeys(change.add_tags):
        if tag not in before.tags and tag not in removed:
            actions.append(("tag_added", tag))
    for tag in dict.fromkeys(change.remove_tags):
        if tag in before.tags:
            actions.append(("tag_removed", tag))
    if change.note is not None and change.note != before.note:
        actions.append(("note", change.note))
    return actions


def after(before: Review, actions: Sequence[tuple[str, str]]) -> Review:
    """The review `actions` (from `review_actions`) leave (pure; updated_* unchanged)."""
    state, tags, note = before.state, list(before.tags), before.note
    for action, value in actions:
        if action == "state":
            state = ReviewState(value)
        elif action == "tag_added":
            tags.append(value)
        elif action == "tag_removed":
            tags.remove(value)
        else:
            note = value
    return Review(state, tuple(sorted(tags)), note, before.updated_at, before.updated_by)


def missing_comments(connection: Connection, keys: Sequence[Key]) -> list[Key]:
    """The keys of `keys` that name no stored comment, in their order."""
    c = vk_comments.c
    found: set[Key] = set()
    for chunk in chunks(list(keys), KEYS_PER_QUERY):
        rows = connection.execute(
            select(c.owner_id, c.comment_id).where(keys_in((c.owner_id, c.comment_id), chunk))
        )
        found |= {(r.owner_id, r.comment_id) for r in rows}
    return [key for key in keys if key not in found]


def reviews_of(connection: Connection, keys: Iterable[Key]) -> dict[Key, Review]:
    """The reviews of comments (NOT_REVIEWED where none): two indexed queries per 500."""
    wanted = list(dict.fromkeys(keys))
    found: dict[Key, Review] = {}
    r, t = comment_reviews.c, comment_tags.c
    for chunk in chunks(wanted, KEYS_PER_QUERY):
        rows = connection.execute(
            select(comment_reviews).where(keys_in((r.owner_id, r.comment_id), chunk))
        )
        for row in rows:
            found[(row.owner_id, row.comment_id)] = Review(
                ReviewState(row.state), (), row.note, row.updated_at, row.updated_by
            )
        tags: dict[Key, list[str]] = {}
        for row in connection.execute(
            select(t.owner_id, t.comment_id, t.tag)
            .where(keys_in((t.owner_id, t.comment_id), chunk))
            .order_by(t.owner_id, t.comment_id, t.tag)
        ):
            tags.setdefault((row.owner_id, row.comment_id), []).append(row.tag)
        for key, names in tags.items():
            base = found.get(key, NOT_REVIEWED)
            found[key] = Review(
                base.state, tuple(names), base.note, base.updated_at, base.updated_by
            )
    return {key: found.get(key, NOT_REVIEWED) for key in wanted}


def apply_review(
    connection: Connection,
    keys: Sequence[Key],
    change: ReviewChange,
    *,
    actor: str,
    now: datetime,
) -> dict[Key, Review]:
    """Apply `change` to every comment of `keys` as `actor` at `now`: the reviews afterwards.

    NotFoundError names the first key that is no stored comment (nothing changes then).
    """
    keys = list(dict.fromkeys(keys))
    missing = missing_comments(connection, keys)
    if missing:
        owner_id, comment_id = missing[0]
        raise NotFoundError(f"comment {comment_id} of group {-owner_id} is not stored")
    before = reviews_of(connection, keys)
    events: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    added: list[dict[str, Any]] = []
    removed: list[Key | tuple[int, int, str]] = []
    result: dict[Key, Review] = {}
    for key in keys:
        actions = review_actions(before[key], change)
        if not actions:
            result[key] = before[key]
            continue
        new = after(before[key], actions)
        result[key] = Review(new.state, new.tags, new.note, now, actor)
        owner_id, comment_id = key
        rows.append(
            {"owner_id": owner_id, "comment_id": comment_id, "state": new.state.value,
             "note": new.note, "updated_at": now, "updated_by": actor}
        )  # fmt: skip
        for action, value in actions:
            events.append(
                {"owner_id": owner_id, "comment_id": comment_id, "at": now, "actor": actor,
                 "action": action, "value": value}
            )  # fmt: skip
            if action == "tag_added":
                added.append(
                    {"owner_id": owner_id, "comment_id": comment_id, "tag": value, "tagged_at": now}
                )
            elif action == "tag_removed":
                removed.append((owner_id, comment_id, value))
    _write(connection, rows, added, removed, events)
    return result


def _write(
    connection: Connection,
    rows: list[dict[str, Any]],
    added: list[dict[str, Any]],
    removed: list[Any],
    events: list[dict[str, Any]],
) -> None:
    r, t = comment_reviews.c, comment_tags.c
    for chunk in chunks(rows):
        stmt = upsert_insert(connection, comment_reviews).values(list(chunk))
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=[r.owner_id, r.comment_id],
                set_={
                    "state": stmt.excluded.state,
                    "note": stmt.excluded.note,
                    "updated_at": stmt.excluded.updated_at,
                    "updated_by": stmt.excluded.updated_by,
                },
            )
        )
    for chunk in chunks(added):
        connection.execute(
            upsert_insert(connection, comment_tags).values(list(chunk)).on_conflict_do_nothing()
        )
    for chunk in chunks(removed, KEYS_PER_QUERY):
        connection.execute(
            delete(comment_tags).where(keys_in((t.owner_id, t.comment_id, t.tag), chunk))
        )
    for chunk in chunks(events):
        connection.execute(insert(review_events).values(list(chunk)))


def history(connection: Connection, key: Key, limit: int = HISTORY_LIMIT) -> list[Row[Any]]:
    """A comment's audit trail, newest first: at, actor, action, value."""
    e = review_events.c
    return list(
        connection.execute(
            select(e.at, e.actor, e.action, e.value)
            .where(e.owner_id == key[0], e.comment_id == key[1])
            .order_by(e.id.desc())
            .limit(limit)
        )
    )


def tag_counts(connection: Connection) -> list[tuple[str, int]]:
    """Every tag in use with its number of comments, most used first."""
    t = comment_tags.c
    n = func.count().label("n")
    rows = connection.execute(select(t.tag, n).group_by(t.tag).order_by(n.desc(), t.tag))
    return [(row.tag, int(row.n)) for row in rows]


def review_detail(connection: Connection, key: Key) -> tuple[Review, list[Row[Any]]]:
    """A stored comment's review and audit trail; NotFoundError if it is not stored."""
    if missing_comments(connection, [key]):
        raise NotFoundError(f"comment {key[1]} of group {-key[0]} is not stored")
    return reviews_of(connection, [key])[key], history(connection, key)
