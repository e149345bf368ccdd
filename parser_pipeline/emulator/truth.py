"""Ground truth: exactly what a perfect crawl must have stored, with the database's field names.

A perfect crawler crawls at the start and again after every `advance()`. Rules:
- groups: every target community (`world.group_screen_names()`), closed and blocked included.
- posts: every post of the open target communities that exists now (posts are never deleted);
  posts on a closed/blocked wall (error 15) are absent. `comments_count` is the current
  `comments.count` (0 for posts with comments closed, which have no comments at all);
  likes, reposts and views never change.
- comments: every comment some crawl could see. A comment seen with its content keeps that
  content; if it is deleted later `is_deleted` is True (the crawler notices: the post's
  count changes, and a comment missing from a full listing, or shown as `deleted: true`,
  was deleted). A top-level comment deleted before any crawl saw it but still holding
  replies appears as VK shows it: `is_deleted` True, empty text, no attachments, its real
  `from_id`, `date` and `likes_count`. A comment deleted without replies before any crawl
  saw it never appears.
- `parent_comment_id` is None for top-level comments and the top-level id for every reply;
  `reply_to_comment_id`/`reply_to_user_id` are set only when a reply answers another reply.
- authors: every id used as `from_id` of a post or comment, or as `reply_to_user_id`
  (users > 0 as "First Last", communities < 0 by name), i.e. the `profiles`/`groups` of
  `extended=1` answers.
Every list is sorted by its key columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from . import render
from .model import Comment, Post
from .world import World

Row = dict[str, Any]


def group_rows(world: World) -> list[Row]:
    return [
        {"id": g.id, "screen_name": g.screen_name, "name": g.name, "is_closed": g.is_closed,
         "deactivated": g.deactivated}
        for g in sorted(world.target_groups(), key=lambda g: g.id)
    ]  # fmt: skip


def truth_posts(world: World) -> list[Post]:
    open_owners = {g.owner_id for g in world.open_groups()}
    return [
        p
        for p in world.iter_posts()
        if p.owner_id in open_owners and p.created_epoch <= world.epoch
    ]


def post_row(world: World, p: Post) -> Row:
    return {
        "owner_id": p.owner_id,
        "post_id": p.post_id,
        "from_id": p.from_id,
        "date": p.date,
        "text": render.post_text_of(world.seed, p.owner_id, p.post_id),
        "comments_count": 0 if p.comments_closed else world.comments_count(p),
        "likes_count": p.likes,
        "reposts_count": p.reposts,
        "views_count": p.views,
        "is_pinned": p.is_pinned,
        "comments_closed": p.comments_closed,
    }


def comment_rows(world: World, p: Post, comments: list[Comment]) -> Iterator[Row]:
    """Rows for one post's comments (`comments` in id order)."""
    heads_with_seen_replies = {c.parent for c in comments if c.parent and c.ever_seen()}
    for c in comments:
        seen = c.ever_seen()
        if not seen and not (not c.parent and c.id in heads_with_seen_replies):
            continue
        yield {
            "owner_id": p.owner_id,
            "post_id": p.post_id,
            "comment_id": c.id,
            "parent_comment_id": c.parent or None,
            "reply_to_comment_id": c.reply_to or None,
            "reply_to_user_id": c.reply_to_user if c.reply_to else None,
            "from_id": c.from_id,
            "date": c.date,
            "text": render.text_of(world.seed, p.owner_id, c.id, c.kind) if seen else "",
            "likes_count": c.likes,
            "is_deleted": c.deleted is not None,
            "attachments": render.comment_attachments(world.seed, p.owner_id, c) if seen else [],
        }


def iter_comment_rows(world: World, posts: list[Post]) -> Iterator[Row]:
    for p in posts:
        yield from comment_rows(world, p, world.comments_snapshot(p))


def author_rows(world: World, ids: set[int]) -> list[Row]:
    rows = []
    for author_id in sorted(ids):
        hit = world.author_name(author_id)
        if hit is not None:
            rows.append({"id": author_id, "name": hit[0], "screen_name": hit[1]})
    return rows


def _author_ids(row: Row) -> Iterator[int]:
    yield row["from_id"]
    if row.get("reply_to_user_id") is not None:
        yield row["reply_to_user_id"]


def build_truth(world: World) -> dict[str, list[Row]]:
    """The whole truth in memory (fine for small and standard; stream `large` with write_truth)."""
    posts = truth_posts(world)
    post_list = [post_row(world, p) for p in posts]
    comments = list(iter_comment_rows(world, posts))
    ids = {a for row in (*post_list, *comments) for a in _author_ids(row)}
    return {
        "groups": group_rows(world),
        "posts": post_list,
        "comments": comments,
        "authors": author_rows(world, ids),
    }


def write_truth(world: World, out: IO[str]) -> dict[str, int]:
    """Stream the truth as one JSON object to `out`; returns the row counts."""

    def dump(row: Row) -> str:
        return json.dumps(row, ensure_ascii=False, separators=(",", ":"))

    posts = truth_posts(world)
    ids: set[int] = set()
    counts = {"groups": 0, "posts": 0, "comments": 0, "authors": 0}
    out.write('{"groups":[')
    groups = group_rows(world)
    out.write(",".join(dump(r) for r in groups))
    counts["groups"] = len(groups)
    out.write('],\n"posts":[\n')
    for i, p in enumerate(posts):
        row = post_row(world, p)
        ids.update(_author_ids(row))
        out.write(("," if i else "") + dump(row) + "\n")
    counts["posts"] = len(posts)
    out.write('],\n"comments":[\n')
    n = 0
    for row in iter_comment_rows(world, posts):
        ids.update(_author_ids(row))
        out.write(("," if n else "") + dump(row) + "\n")
        n += 1
    counts["comments"] = n
    out.write('],\n"authors":[\n')
    authors = author_rows(world, ids)
    out.write(",\n".join(dump(r) for r in authors))
    counts["authors"] = len(authors)
    out.write("]}\n")
    return counts
