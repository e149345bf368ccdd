"""Compare the database with the emulator's ground truth, field by field (shared by tests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from parser_pipeline.crawl.jobs import CrawlPolicy
from parser_pipeline.store.schema import vk_authors, vk_comments, vk_groups, vk_posts
from parser_pipeline.tiers import parse_tiers

# Every post's count checked on every crawl: the database then equals the truth after any
# crawl, whatever the posts' ages (the default tiers check old posts daily, by design).
CHECK_EVERY_CRAWL = CrawlPolicy(parse_tiers("*=0/30d"))

COMMENT_FIELDS = (
    "post_id", "parent_comment_id", "reply_to_comment_id", "reply_to_user_id", "from_id",
    "date", "text", "likes_count", "is_deleted", "attachments",
)  # fmt: skip
POST_FIELDS = (
    "from_id", "date", "text", "comments_count", "likes_count", "reposts_count", "views_count",
    "is_pinned", "comments_closed",
)  # fmt: skip


def _row(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    values = {}
    for name in fields:
        value = row[name]
        if name == "date" and not isinstance(value, int):
            value = int(value.timestamp())
        if name == "attachments":
            value = value or []
        values[name] = value
    return values


def database_state(engine: Engine) -> dict[str, dict[Any, dict[str, Any]]]:
    with engine.connect() as connection:
        comments = {
            (r.owner_id, r.comment_id): _row(r._mapping, COMMENT_FIELDS)
            for r in connection.execute(select(vk_comments))
        }
        posts = {
            (r.owner_id, r.post_id): _row(r._mapping, POST_FIELDS)
            for r in connection.execute(select(vk_posts))
        }
        groups = {
            r.id: {
                "screen_name": r.screen_name,
                "name": r.name,
                "is_closed": r.is_closed,
                "deactivated": r.deactivated,
            }
            for r in connection.execute(select(vk_groups))
        }
        authors = {r.id: r.name for r in connection.execute(select(vk_authors))}
    return {"comments": comments, "posts": posts, "groups": groups, "authors": authors}


def truth_state(truth: dict[str, list[dict[str, Any]]]) -> dict[str, dict[Any, Any]]:
    return {
        "comments": {
            (c["owner_id"], c["comment_id"]): _row(c, COMMENT_FIELDS) for c in truth["comments"]
        },
        "posts": {(p["owner_id"], p["post_id"]): _row(p, POST_FIELDS) for p in truth["posts"]},
        "groups": {
            g["id"]: {
                "screen_name": g["screen_name"],
                "name": g["name"],
                "is_closed": g["is_closed"],
                "deactivated": g["deactivated"],
            }
            for g in truth["groups"]
        },
        "authors": {a["id"]: a["name"] for a in truth["authors"]},
    }


def differences(
    engine: Engine, truth: dict[str, list[dict[str, Any]]], limit: int = 5
) -> list[str]:
    """Human-readable differences between the database and the truth (empty when equal)."""
    got, want = database_state(engine), truth_state(truth)
    problems: list[str] = []
    for table in ("groups", "posts", "comments", "authors"):
        missing = sorted(set(want[table]) - set(got[table]))
        extra = sorted(set(got[table]) - set(want[table]))
        if missing:
            problems.append(f"{table}: {len(missing)} missing, e.g. {missing[:limit]}")
        if extra:
            problems.append(f"{table}: {len(extra)} unexpected, e.g. {extra[:limit]}")
        wrong = [k for k in want[table] if k in got[table] and got[table][k] != want[table][k]]
        for key in wrong[:limit]:
            g, w = got[table][key], want[table][key]
            diff = (
                {f: (g[f], w[f]) for f in w if g.get(f) != w[f]} if isinstance(w, dict) else (g, w)
            )
            problems.append(f"{table} {key}: (stored, truth) {diff}")
        if len(wrong) > limit:
            problems.append(f"{table}: {len(wrong)} rows differ in all")
    return problems
