"""The VK calls a crawl makes, one builder per kind, and the VK method each kind costs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from parser_pipeline.constants import (
    VK_COMMENTS_MAX_COUNT,
    VK_THREAD_ITEMS_MAX,
    VK_WALL_GET_BY_ID_MAX_POSTS,
    VK_WALL_GET_MAX_COUNT,
)
from parser_pipeline.vk.batching import VkCall

WALL: Final = "wall"  # a wall.get page
CHECK: Final = "check"  # a wall.getById count check of up to 100 posts
TOP: Final = "top"  # a page of a post's top-level comments (with inline replies)
THREAD: Final = "thread"  # a page of one thread's replies

METHOD_OF_KIND: Final[Mapping[str, str]] = {
    WALL: "wall.get",
    CHECK: "wall.getById",
    TOP: "wall.getComments",
    THREAD: "wall.getComments",
}


def wall_params(owner_id: int, offset: int) -> dict[str, Any]:
    return {"owner_id": owner_id, "offset": offset, "count": VK_WALL_GET_MAX_COUNT}


def check_params(keys: Sequence[tuple[int, int]]) -> dict[str, Any]:
    """wall.getById for up to 100 posts, by `{owner_id}_{post_id}`."""
    if not 1 <= len(keys) <= VK_WALL_GET_BY_ID_MAX_POSTS:
        raise ValueError(f"a count check holds 1..{VK_WALL_GET_BY_ID_MAX_POSTS} posts")
    return {"posts": ",".join(f"{owner}_{post}" for owner, post in keys)}


def top_params(owner_id: int, post_id: int, offset: int) -> dict[str, Any]:
    return {
        "owner_id": owner_id,
        "post_id": post_id,
        "offset": offset,
        "count": VK_COMMENTS_MAX_COUNT,
        "sort": "asc",
        "need_likes": 1,
        "extended": 1,
        "thread_items_count": VK_THREAD_ITEMS_MAX,
    }


def thread_params(owner_id: int, post_id: int, top_id: int, offset: int) -> dict[str, Any]:
    return {
        "owner_id": owner_id,
        "post_id": post_id,
        "comment_id": top_id,
        "offset": offset,
        "count": VK_COMMENTS_MAX_COUNT,
        "sort": "asc",
        "need_likes": 1,
        "extended": 1,
    }


def vk_call(kind: str, params: Mapping[str, Any]) -> VkCall:
    """The VkCall of a stored call row."""
    return VkCall(METHOD_OF_KIND[kind], dict(params))
