"""/comments: search with filters, two sort orders and keyset pages; one comment with its thread."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Query
from sqlalchemy import and_, func, select

from parser_pipeline.api import models, search
from parser_pipeline.api.auth import Reader
from parser_pipeline.api.deps import State
from parser_pipeline.api.errors import ApiError, invalid
from parser_pipeline.api.views import comments_out, post_out
from parser_pipeline.errors import NotFoundError
from parser_pipeline.store.schema import vk_comments, vk_posts

router = APIRouter(prefix="/comments", tags=["comments"], dependencies=[Reader])

# Replies shown with one comment: a VK thread can hold thousands; the rest are counted.
THREAD_REPLIES_MAX: Final = 500
# A needle longer than this is a pasted paragraph, not a search.
MAX_TEXT_CHARS: Final = 200


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get("", response_model=models.CommentPage)
def search_comments(
    state: State,
    text: Annotated[
        str | None,
        Query(
            min_length=search.MIN_TEXT_CHARS,
            max_length=MAX_TEXT_CHARS,
            description="the text contains this (case-insensitive)",
        ),
    ] = None,
    group: Annotated[list[str], Query(description="group id or screen name; repeat")] = [],  # noqa: B006
    post: Annotated[int | None, Query(description="post id; needs exactly one group")] = None,
    author: Annotated[list[int], Query(description="author id (users > 0); repeat")] = [],  # noqa: B006
    keyword: Annotated[list[int], Query(description="keyword id; repeat")] = [],  # noqa: B006
    category: Annotated[list[str], Query(description="keyword category; repeat")] = [],  # noqa: B006
    matched_only: bool = False,
    since: Annotated[datetime | None, Query(description="from (inclusive); naive = UTC")] = None,
    until: Annotated[datetime | None, Query(description="to (exclusive); naive = UTC")] = None,
    deleted: search.DeletedMode = "include",
    sort: Annotated[
        search.Sort, Query(description="-date (newest first), date, -likes, likes")
    ] = "-date",
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = search.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> models.CommentPage:
    """Stored comments, newest (or most liked) first, each with its links, author and matches."""
    lower, upper = _utc(since), _utc(until)
    if lower is not None and upper is not None and lower >= upper:
        raise invalid("since", "must be before until", "query")
    if post is not None and len(group) != 1:
        raise invalid("post", "a post filter needs exactly one group", "query")
    try:
        after = search.decode_cursor(cursor, sort) if cursor else None
    except search.CursorError as exc:
        raise invalid("cursor", str(exc), "query") from None
    with state.engine.connect() as connection:
        filters = search.resolve_filters(
            connection,
            text=text,
            groups=group,
            post=post,
            authors=author,
            keyword_ids=keyword,
            categories=category,
            matched_only=matched_only,
            since=lower,
            until=upper,
            deleted=deleted,
        )
        page = search.search(connection, filters, sort, after, limit)
        items = comments_out(connection, page.rows)
    return models.CommentPage(items=items, limit=limit, next_cursor=page.next_cursor)


@router.get("/{group_id}/{comment_id}", response_model=models.CommentThread)
def get_comment(state: State, group_id: int, comment_id: int) -> models.CommentThread:
    """One comment with its post and its whole thread (the top comment and its replies)."""
    if group_id <= 0:
        raise ApiError(404, "not_found", "group ids are positive (VK's owner id is -group_id)")
    owner_id = -group_id
    c = vk_comments.c
    with state.engine.connect() as connection:
        row = connection.execute(
            select(vk_comments).where(c.owner_id == owner_id, c.comment_id == comment_id)
        ).first()
        if row is None:
            raise NotFoundError(f"comment {comment_id} of group {group_id} is not stored")
        top_id = row.parent_comment_id or row.comment_id
        top = row
        if top_id != row.comment_id:
            top = (
                connection.execute(
                    select(vk_comments).where(c.owner_id == owner_id, c.comment_id == top_id)
                ).first()
                or row
            )
        in_thread = and_(
            c.owner_id == owner_id, c.post_id == row.post_id, c.parent_comment_id == top_id
        )
        replies = list(
            connection.execute(
                select(vk_comments)
                .where(in_thread)
                .order_by(c.comment_id)
                .limit(THREAD_REPLIES_MAX)
            )
        )
        total = connection.execute(select(func.count()).where(in_thread)).scalar_one()
        post = connection.execute(
            select(vk_posts).where(
                vk_posts.c.owner_id == owner_id, vk_posts.c.post_id == row.post_id
            )
        ).first()
        comment_out, top_out, *replies_out = comments_out(connection, [row, top, *replies])
    return models.CommentThread(
        comment=comment_out,
        post=post_out(post) if post is not None else None,
        top=top_out,
        replies=replies_out,
        replies_total=int(total),
    )
