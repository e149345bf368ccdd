"""Analysis test data: comments, posts, authors and rules written as vkpipe writes them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from parser_pipeline.analyze.rules import make_spec
from parser_pipeline.analyze.store import add_keywords
from parser_pipeline.records import AuthorRecord, CommentRecord, PostRecord
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import keyword_matches, vk_comments
from parser_pipeline.store.writes import comment_row, upsert_authors, upsert_comments, upsert_posts

GROUP = 100
OWNER = -GROUP
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def comment(
    comment_id: int,
    text: str,
    *,
    post_id: int = 1,
    from_id: int = 7,
    date: datetime = NOW,
    owner_id: int = OWNER,
) -> dict[str, Any]:
    record = CommentRecord(
        owner_id=owner_id,
        comment_id=comment_id,
        post_id=post_id,
        parent_comment_id=None,
        reply_to_comment_id=None,
        reply_to_user_id=None,
        from_id=from_id,
        date=date,
        text=text,
        likes_count=0,
        attachments=None,
        is_deleted=False,
    )
    return comment_row(record, NOW, thread_complete=True)


def store_comments(engine: Engine, rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    with transaction(engine) as connection:
        return upsert_comments(connection, rows)


def store_post(engine: Engine, post_id: int, text: str, owner_id: int = OWNER) -> None:
    post = PostRecord(owner_id, post_id, owner_id, NOW, text, 0, 0, 0, None, False, False)
    with transaction(engine) as connection:
        upsert_posts(connection, [post], NOW)


def store_author(engine: Engine, author_id: int, name: str) -> None:
    with transaction(engine) as connection:
        upsert_authors(connection, [AuthorRecord(author_id, name, None)], NOW)


def add_rule(engine: Engine, phrase: str, **options: Any) -> int:
    spec = make_spec(
        phrase,
        options.get("category", ""),
        options.get("mode", "word_forms"),
        case_sensitive=options.get("case", False),
        is_exclusion=options.get("exclude", False),
    )
    with transaction(engine) as connection:
        (added,) = add_keywords(connection, [spec])
    return added.id


def stored(engine: Engine) -> set[tuple[int, int, int, int, int, str]]:
    km = keyword_matches.c
    with engine.connect() as connection:
        rows = connection.execute(
            select(km.owner_id, km.comment_id, km.keyword_id, km.start, km.end, km.matched_text)
        )
        return {tuple(r) for r in rows}


def comment_state(engine: Engine) -> dict[int, tuple[int, bool]]:
    """comment_id -> (matched_keywords_count, analyzed)."""
    c = vk_comments.c
    with engine.connect() as connection:
        rows = connection.execute(select(c.comment_id, c.matched_keywords_count, c.analyzed_at))
        return {r.comment_id: (r.matched_keywords_count, r.analyzed_at is not None) for r in rows}
