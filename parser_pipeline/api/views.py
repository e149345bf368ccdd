"""Database rows as response models: links, authors and keyword matches put beside comments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection, Row

from parser_pipeline.api import models
from parser_pipeline.export.rows import comment_url, post_url
from parser_pipeline.store.comments import beside
from parser_pipeline.store.reviews import Review, reviews_of

VK_URL: Final = "https://vk.com"


def group_url(group_id: int, screen_name: str | None) -> str:
    return f"{VK_URL}/{screen_name}" if screen_name else f"{VK_URL}/club{group_id}"


def author_url(author_id: int) -> str:
    """Users have positive ids, communities negative ones."""
    return f"{VK_URL}/id{author_id}" if author_id > 0 else f"{VK_URL}/club{-author_id}"


def group_out(row: Row[Any]) -> models.GroupOut:
    values = dict(row._mapping)
    return models.GroupOut(url=group_url(row.id, row.screen_name), **values)


def keyword_out(row: Row[Any], matches: int | None = None) -> models.KeywordOut:
    values = dict(row._mapping)
    if matches is not None:
        values["matches"] = matches
    return models.KeywordOut(**values)


def job_out(row: Row[Any]) -> models.JobOut:
    return models.JobOut(**dict(row._mapping))


def _match_out(r: Row[Any]) -> models.CommentMatch:
    return models.CommentMatch(
        keyword_id=r.keyword_id,
        phrase=r.phrase,
        category=r.category,
        is_exclusion=r.is_exclusion,
        start=r.start,
        end=r.end,
        matched_text=r.matched_text,
        context=r.context,
    )


def comments_out(connection: Connection, rows: Sequence[Row[Any]]) -> list[models.CommentOut]:
    """Comment rows (every column of vk_comments) with their author, group name and matches."""
    if not rows:
        return []
    found = beside(connection, rows)
    authors, names = found.authors, found.group_names
    reviews = reviews_of(connection, [(r.owner_id, r.comment_id) for r in rows])
    out = []
    for r in rows:
        author = authors.get(r.from_id) if r.from_id is not None else None
        out.append(
            models.CommentOut(
                group_id=-r.owner_id,
                group_name=names.get(-r.owner_id),
                owner_id=r.owner_id,
                post_id=r.post_id,
                comment_id=r.comment_id,
                parent_comment_id=r.parent_comment_id,
                reply_to_comment_id=r.reply_to_comment_id,
                reply_to_user_id=r.reply_to_user_id,
                date=r.date,
                text=r.text,
                likes=r.likes_count,
                is_deleted=r.is_deleted,
                matched_keywords_count=r.matched_keywords_count,
                author=None
                if r.from_id is None
                else models.Author(
                    id=r.from_id,
                    name=author.name if author is not None else None,
                    screen_name=author.screen_name if author is not None else None,
                    url=author_url(r.from_id),
                ),
                links=models.CommentLinks(
                    post=post_url(r.owner_id, r.post_id),
                    comment=comment_url(r.owner_id, r.post_id, r.comment_id, r.parent_comment_id),
                    author=author_url(r.from_id) if r.from_id is not None else None,
                ),
                matches=[_match_out(m) for m in found.matches.get((r.owner_id, r.comment_id), [])],
                review=review_out(reviews[(r.owner_id, r.comment_id)]),
            )
        )
    return out


def review_out(review: Review) -> models.ReviewOut:
    return models.ReviewOut(
        state=review.state,
        tags=list(review.tags),
        note=review.note,
        updated_at=review.updated_at,
        updated_by=review.updated_by,
    )


def post_out(row: Row[Any]) -> models.PostOut:
    return models.PostOut(
        group_id=-row.owner_id,
        post_id=row.post_id,
        date=row.date,
        text=row.text,
        comments_count=row.comments_count,
        likes_count=row.likes_count,
        url=post_url(row.owner_id, row.post_id),
    )
