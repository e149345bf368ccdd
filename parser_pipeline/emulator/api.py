"""The VK methods: pure handlers from (world, params) to a response, or a VkApiError."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import render
from .model import Comment, Group
from .params import (
    ERROR_ACCESS_DENIED,
    ERROR_COMMENTS_DENIED,
    ERROR_INVALID_USER,
    ERROR_PRIVATE_PROFILE,
    Params,
    VkApiError,
    get_flag,
    get_int,
    get_list,
    param_error,
    require_int,
)
from .world import World

Handler = Callable[[World, Params], Any]

# VK's page caps and defaults (VK_API.md): wall.get 20/100, wall.getComments 10/100,
# thread previews up to 10, users.get up to 1000 ids, groups.getById up to 500.
WALL_GET_DEFAULT = 20
WALL_GET_MAX = 100
COMMENTS_DEFAULT = 10
COMMENTS_MAX = 100
THREAD_ITEMS_MAX = 10
USERS_GET_MAX = 1000
GROUPS_GET_MAX = 500
WALL_GET_BY_ID_MAX = 100
WALL_FILTERS = frozenset({"all", "owner", "others", "postponed", "suggests", "donut"})
CLOSED_WALL_MESSAGE = "Access denied: this wall available only for community members"
BLOCKED_WALL_MESSAGE = "Access denied: group is blocked"


def _wall_owner(world: World, params: Params) -> Group:
    """The community whose wall is asked for, by owner_id or domain, with VK's refusals."""
    domain = params.get("domain", "").strip()
    if "owner_id" in params or not domain:
        owner_id = require_int(params, "owner_id")
    else:
        hit = world.resolve(domain)
        if hit is None:
            raise param_error("domain is invalid")
        owner_id = hit[1] if hit[0] == "user" else -hit[1]
    if owner_id > 0:
        if owner_id in world.user_by_id:
            raise VkApiError(ERROR_PRIVATE_PROFILE)
        raise param_error("owner_id is incorrect")
    group = world.group_by_id.get(-owner_id)
    if group is None:
        raise param_error("owner_id is incorrect")
    if group.deactivated:
        raise VkApiError(ERROR_ACCESS_DENIED, BLOCKED_WALL_MESSAGE)
    if group.is_closed:
        raise VkApiError(ERROR_ACCESS_DENIED, CLOSED_WALL_MESSAGE)
    return group


def _extended(world: World, author_ids: Iterable[int]) -> dict[str, list[render.JSON]]:
    ids = sorted(set(author_ids))
    profiles = [render.profile(world.user_by_id[i]) for i in ids if i in world.user_by_id]
    groups = [render.group(world.group_by_id[-i]) for i in ids if -i in world.group_by_id]
    return {"profiles": profiles, "groups": groups}


def wall_get(world: World, params: Params) -> Any:
    group = _wall_owner(world, params)
    offset = get_int(params, "offset", 0, low=0) or 0
    count = get_int(params, "count", WALL_GET_DEFAULT, low=0, high=WALL_GET_MAX)
    flt = params.get("filter", "all") or "all"
    if flt not in WALL_FILTERS:
        raise param_error("filter is invalid")
    posts = world.wall(group.owner_id)
    if flt == "others":
        posts = [p for p in posts if p.from_id != group.owner_id]
    elif flt in {"postponed", "suggests", "donut"}:
        posts = []
    page = posts[offset : offset + (count if count is not None else WALL_GET_DEFAULT)]
    items = [render.post(world.seed, p, world.comments_count(p)) for p in page]
    answer: dict[str, Any] = {"count": len(posts), "items": items}
    if get_flag(params, "extended"):
        answer.update(_extended(world, (p.from_id for p in page)))
    return answer


def wall_get_by_id(world: World, params: Params) -> Any:
    """Posts by `{owner_id}_{post_id}`; ones that do not exist or are not visible are left out."""
    refs = get_list(params, "posts")
    if not refs:
        raise param_error("posts is undefined")
    if len(refs) > WALL_GET_BY_ID_MAX:
        raise param_error(f"posts should be at most {WALL_GET_BY_ID_MAX}")
    found: list[Any] = []
    seen: set[tuple[int, int]] = set()
    for ref in refs:
        owner_text, sep, post_text = ref.partition("_")
        try:
            owner_id, post_id = int(owner_text), int(post_text)
        except ValueError:
            raise param_error("posts is invalid") from None
        if not sep:
            raise param_error("posts is invalid")
        group = world.group_by_id.get(-owner_id)
        if group is None or group.wall_denied:
            continue
        post = world.post(owner_id, post_id)
        if post is not None and (owner_id, post_id) not in seen:
            seen.add((owner_id, post_id))
            found.append(post)
    answer: dict[str, Any] = {
        "items": [render.post(world.seed, p, world.comments_count(p)) for p in found]
    }
    if get_flag(params, "extended"):
        answer.update(_extended(world, (p.from_id for p in found)))
    return answer


def wall_get_comments(world: World, params: Params) -> Any:
    owner_id = require_int(params, "owner_id")
    post_id = require_int(params, "post_id", low=0)
    offset = get_int(params, "offset", 0, low=0) or 0
    count = get_int(params, "count", COMMENTS_DEFAULT, low=0, high=COMMENTS_MAX)
    preview = get_int(params, "thread_items_count", 0, low=0, high=THREAD_ITEMS_MAX) or 0
    sort = params.get("sort", "asc") or "asc"
    if sort not in {"asc", "desc"}:
        raise param_error("sort is invalid")
    comment_id = get_int(params, "comment_id", low=0)
    start_id = get_int(params, "start_comment_id", low=0)
    need_likes = get_flag(params, "need_likes")
    group = _wall_owner(world, {"owner_id": str(owner_id)})
    post = world.post(group.owner_id, post_id)
    if post is None:
        raise param_error("post_id is invalid")
    if post.comments_closed:
        raise VkApiError(ERROR_COMMENTS_DENIED)
    view = world.view(post)
    if comment_id:
        head = view.by_id.get(comment_id)
        if head is None or head.parent:
            raise param_error("comment_id is invalid")
        level = view.thread(comment_id)
    else:
        level = view.tops
    ordered = level if sort == "asc" else level[::-1]
    if start_id:
        ids = [c.id for c in ordered]
        offset += ids.index(start_id) if start_id in ids else len(ids)
    page = ordered[offset : offset + (count if count is not None else COMMENTS_DEFAULT)]
    epoch = world.epoch
    shown: list[Comment] = list(page)
    items = []
    for c in page:
        obj = render.comment(world.seed, post.owner_id, post.post_id, c, epoch, need_likes)
        if not comment_id:
            thread = view.thread(c.id)
            # the preview is the thread's first replies in the answer's own order
            first = (thread if sort == "asc" else thread[::-1])[:preview]
            shown.extend(first)
            obj["thread"] = {
                "count": len(thread),
                "items": [
                    render.comment(world.seed, post.owner_id, post.post_id, r, epoch, need_likes)
                    for r in first
                ],
                "can_post": not c.is_deleted_at(epoch),
                "show_reply_button": True,
                "groups_can_post": True,
            }
        items.append(obj)
    answer: dict[str, Any] = {
        "count": len(level) if comment_id else view.total,
        "items": items,
        "current_level_count": len(level),
        "can_post": True,
        "show_reply_button": True,
        "groups_can_post": True,
    }
    if get_flag(params, "extended"):
        ids = [c.from_id for c in shown] + [c.reply_to_user for c in shown if c.reply_to]
        answer.update(_extended(world, ids))
    return answer


def groups_get_by_id(world: World, params: Params) -> Any:
    refs = get_list(params, "group_ids") + get_list(params, "group_id")
    if len(refs) > GROUPS_GET_MAX:
        raise param_error(f"group_ids should be at most {GROUPS_GET_MAX}")
    fields = frozenset(get_list(params, "fields"))
    found: list[Group] = []
    for ref in refs:
        g = world.group_by_ref(ref)
        if g is not None and g not in found:
            found.append(g)
    if not found:
        raise param_error("group_ids is undefined")
    return {"groups": [render.group(g, fields) for g in found], "profiles": []}


def users_get(world: World, params: Params) -> Any:
    refs = get_list(params, "user_ids")
    if not refs:
        raise param_error("user_ids is undefined")
    if len(refs) > USERS_GET_MAX:
        raise param_error(f"user_ids should be at most {USERS_GET_MAX}")
    fields = frozenset(get_list(params, "fields"))
    out = []
    for ref in refs:
        if ref.isdigit():
            u = world.user_by_id.get(int(ref))
            if u is None:  # VK answers a stub for ids nobody holds
                out.append({"id": int(ref), "first_name": "DELETED", "last_name": "",
                            "deactivated": "deleted", "can_access_closed": True,
                            "is_closed": False})  # fmt: skip
                continue
        else:
            hit = world.resolve(ref)
            if hit is None or hit[0] != "user":
                raise VkApiError(ERROR_INVALID_USER)
            u = world.user_by_id[hit[1]]
        out.append(render.user(u, fields))
    return out


def resolve_screen_name(world: World, params: Params) -> Any:
    name = params.get("screen_name", "").strip()
    if not name:
        raise param_error("screen_name is undefined")
    hit = world.resolve(name)
    if hit is None:
        return []
    return {"type": hit[0], "object_id": hit[1]}


HANDLERS: dict[str, Handler] = {
    "utils.resolveScreenName": resolve_screen_name,
    "groups.getById": groups_get_by_id,
    "wall.get": wall_get,
    "wall.getById": wall_get_by_id,
    "wall.getComments": wall_get_comments,
    "users.get": users_get,
}
