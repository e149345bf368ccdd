"""Export test data: a small set of awkward comments and the database's own view of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from parser_pipeline.records import AuthorRecord, CommentRecord, GroupInfo
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import (
    comment_reviews,
    comment_tags,
    keyword_matches,
    keywords,
    vk_authors,
    vk_comments,
    vk_groups,
)
from parser_pipeline.store.text_search import index_texts
from parser_pipeline.store.writes import comment_row, upsert_authors, upsert_comments, upsert_groups

T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
CRAWLED = datetime(2024, 7, 1, tzinfo=UTC)
LONG_TEXT = ('Длинный текст 😀 с "кавычками";\tи табами\n' * 200)[:4096]
TEXTS = {
    1: "Привет 👋🏽 мир 🇷🇺 — дорога",
    2: "line1\nline2\r\nline3\rline4",
    3: 'He said "hi", \'ok\' ""',
    4: "tab\there\tand\tthere",
    5: "semi;colon;;",
    6: LONG_TEXT,
    7: "",
    8: '=HYPERLINK("http://x")',
    9: "#N/A",
    10: "  spaces around  ",
    11: "bell\x07 and \x1b escape",
    12: "удалённый",
    13: "ответ в ветке, школа",
}
assert len(LONG_TEXT) == 4096


@dataclass(frozen=True)
class Dataset:
    comment_ids: list[tuple[int, int]]  # (owner_id, comment_id) in export order
    keyword_ids: dict[str, int]


def _comment(owner: int, cid: int, post: int, date: datetime, **kw: Any) -> CommentRecord:
    values: dict[str, Any] = {
        "parent_comment_id": None,
        "reply_to_comment_id": None,
        "reply_to_user_id": None,
        "from_id": 100,
        "text": TEXTS.get(cid, f"comment {cid}"),
        "likes_count": cid,
        "attachments": None,
        "is_deleted": False,
    }
    values.update(kw)
    return CommentRecord(owner_id=owner, comment_id=cid, post_id=post, date=date, **values)


def insert_dataset(engine: Engine) -> Dataset:
    g1, g2 = -1001, -2002
    records = [
        _comment(g1, 1, 10, T0 + timedelta(minutes=1)),
        _comment(g1, 2, 10, T0 + timedelta(minutes=2), from_id=101),
        _comment(g1, 3, 10, T0 + timedelta(minutes=3), from_id=-1001),
        _comment(g1, 4, 10, T0 + timedelta(minutes=4), from_id=None),
        _comment(g1, 5, 10, T0 + timedelta(minutes=5)),
        _comment(g1, 6, 11, T0 + timedelta(days=1)),
        _comment(g1, 7, 11, T0 + timedelta(days=1, minutes=1), from_id=101),
        _comment(g1, 8, 11, T0 + timedelta(days=1, minutes=2)),
        _comment(g1, 9, 11, T0 + timedelta(days=2)),
        # Same date as 9 in another group: ordered by owner_id (-2002 < -1001), then id.
        _comment(g2, 10, 20, T0 + timedelta(days=2)),
        _comment(g2, 11, 20, T0 + timedelta(days=2), from_id=101),
        _comment(g2, 12, 20, T0 + timedelta(days=3), is_deleted=True),
        _comment(g2, 13, 20, T0 + timedelta(days=4), parent_comment_id=11, reply_to_user_id=101),
    ]
    with transaction(engine) as connection:
        upsert_groups(
            connection,
            [
                GroupInfo(id=1001, screen_name="gorod", name='Город; "новости"\tТВ', is_closed=0),
                GroupInfo(id=2002, screen_name="second", name="Second 😀", is_closed=0),
            ],
        )
        upsert_authors(
            connection,
            [
                AuthorRecord(id=100, name="Анна Петрова 👩", screen_name="anna"),
                AuthorRecord(id=101, name='Bob "the" Builder', screen_name=None),
                AuthorRecord(id=-1001, name="Город", screen_name="gorod"),
            ],
            CRAWLED,
        )
        upsert_comments(connection, [comment_row(r, CRAWLED, True) for r in records])
        # What the analyze stage copies for text search (store/text_search.py).
        index_texts(connection, [(r.owner_id, r.comment_id, r.text) for r in records])
        ids = {}
        for phrase, category, exclusion in (
            ("дорога", "transport", False),
            ("школа", "education", False),
            ("мэрия", "", False),
            ("спам", "transport", True),
        ):
            ids[phrase] = connection.execute(
                insert(keywords)
                .values(phrase=phrase, category=category, is_exclusion=exclusion)
                .returning(keywords.c.id)
            ).scalar_one()
        matches = [
            (g1, 1, "дорога", 0),
            (g1, 1, "дорога", 30),
            (g1, 1, "школа", 40),
            (g1, 5, "мэрия", 0),
            (g1, 5, "дорога", 9),
            (g1, 9, "спам", 0),  # an exclusion rule: never a keyword of the comment
            (g2, 13, "школа", 16),
        ]
        for owner, cid, phrase, start in matches:
            connection.execute(
                insert(keyword_matches).values(
                    owner_id=owner,
                    comment_id=cid,
                    keyword_id=ids[phrase],
                    start=start,
                    end=start + len(phrase),
                    matched_text=phrase,
                    context=phrase,
                    matched_at=CRAWLED,
                )
            )
        for owner, cid, count in ((g1, 1, 3), (g1, 5, 2), (g2, 13, 1)):
            connection.execute(
                update(vk_comments)
                .where(vk_comments.c.owner_id == owner, vk_comments.c.comment_id == cid)
                .values(matched_keywords_count=count, analyzed_at=CRAWLED)
            )
        # A reviewed comment with a tag that reads like a spreadsheet formula.
        connection.execute(
            insert(comment_reviews).values(
                owner_id=g1, comment_id=5, state="done", updated_at=CRAWLED, updated_by="t"
            )
        )
        for tag in ("=1+2", "жалоба"):
            connection.execute(insert(comment_tags).values(owner_id=g1, comment_id=5, tag=tag))
    order = sorted(records, key=lambda r: (r.date, r.owner_id, r.comment_id))
    return Dataset([(r.owner_id, r.comment_id) for r in order], ids)


def database_view(engine: Engine) -> list[dict[str, Any]]:
    """Every comment as the database holds it, built without the export code, in export order."""
    g, a = vk_groups.c, vk_authors.c
    with engine.connect() as connection:
        groups = {row.id: row.name for row in connection.execute(select(g.id, g.name))}
        authors = {row.id: row.name for row in connection.execute(select(a.id, a.name))}
        kws = {row.id: row for row in connection.execute(select(keywords))}
        found: dict[tuple[int, int], list[Any]] = {}
        for m in connection.execute(select(keyword_matches)):
            found.setdefault((m.owner_id, m.comment_id), []).append(kws[m.keyword_id])
        comments = list(connection.execute(select(vk_comments)))
        states = {(r.owner_id, r.comment_id): r.state for r in connection.execute(
            select(comment_reviews))}  # fmt: skip
        tags: dict[tuple[int, int], list[str]] = {}
        for t in connection.execute(select(comment_tags)):
            tags.setdefault((t.owner_id, t.comment_id), []).append(t.tag)
    rows = []
    for r in sorted(comments, key=lambda r: (r.date, r.owner_id, r.comment_id)):
        rules = [k for k in found.get((r.owner_id, r.comment_id), []) if not k.is_exclusion]
        base = f"https://vk.com/wall{r.owner_id}_{r.post_id}"
        link = f"{base}?reply={r.comment_id}"
        if r.parent_comment_id is not None:
            link += f"&thread={r.parent_comment_id}"
        rows.append(
            {
                "group_id": -r.owner_id,
                "group_name": groups.get(-r.owner_id),
                "post_id": r.post_id,
                "post_url": base,
                "comment_id": r.comment_id,
                "comment_url": link,
                "parent_comment_id": r.parent_comment_id,
                "author_id": r.from_id,
                "author_name": authors.get(r.from_id) if r.from_id is not None else None,
                "date": r.date,
                "text": r.text,
                "likes": r.likes_count,
                "is_deleted": r.is_deleted,
                "keywords": sorted({k.phrase for k in rules}),
                "categories": sorted({k.category for k in rules if k.category}),
                "review_state": states.get((r.owner_id, r.comment_id), "new"),
                "tags": sorted(tags.get((r.owner_id, r.comment_id), [])),
            }
        )
    return rows
