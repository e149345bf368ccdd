"""VK 5.199 JSON objects for posts, comments, users, communities and attachments (pure)."""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

from .model import Comment, Group, Post, User, derive_seed
from .text import comment_text, post_text
from .threads import ATTACH_PHOTO, ATTACH_STICKER

JSON = dict[str, Any]

# Texts are regenerated from seeds on every answer; a cache keeps hot pages cheap
# (~50k entries of ~200 chars: ~20 MB at worst).
TEXT_CACHE_SIZE = 50_000
_PHOTO_SIZES = (("s", 75, 56), ("m", 130, 97), ("x", 604, 453), ("y", 807, 605))
# VK's album of photos attached to wall posts and comments.
WALL_ALBUM_ID = -7


@lru_cache(maxsize=TEXT_CACHE_SIZE)
def text_of(seed: int, owner_id: int, comment_id: int, kind: int) -> str:
    return comment_text(kind, random.Random(derive_seed(seed, owner_id, comment_id, "text")))


@lru_cache(maxsize=4096)
def post_text_of(seed: int, owner_id: int, post_id: int) -> str:
    return post_text(random.Random(derive_seed(seed, owner_id, post_id, "post-text")))


def photo(owner_id: int, item_id: int, date: int, seed: int) -> JSON:
    photo_id = 457_239_017 + derive_seed(seed, owner_id, item_id, "photo") % 10_000_000
    key = f"{derive_seed(seed, photo_id):016x}"[:18]
    sizes = [
        {
            "height": h,
            "type": t,
            "width": w,
            "url": f"https://sun9-{photo_id % 80}.userapi.com/impg/{key}/{photo_id}.jpg"
            f"?size={w}x{h}&quality=95&type=album",
        }
        for t, w, h in _PHOTO_SIZES
    ]
    return {
        "type": "photo",
        "photo": {
            "album_id": WALL_ALBUM_ID,
            "date": date,
            "id": photo_id,
            "owner_id": owner_id,
            "access_key": key,
            "sizes": sizes,
            "text": "",
            "has_tags": False,
        },
    }


def sticker(item_id: int) -> JSON:
    sticker_id = 1 + item_id % 160
    images = [
        {"url": f"https://vk.com/sticker/1-{sticker_id}-{s}", "width": s, "height": s}
        for s in (64, 128, 256)
    ]
    return {
        "type": "sticker",
        "sticker": {
            "product_id": 1 + sticker_id // 48,
            "sticker_id": sticker_id,
            "images": images,
            "images_with_background": images,
            "is_allowed": True,
        },
    }


def comment_attachments(seed: int, owner_id: int, c: Comment) -> list[JSON]:
    if c.attach == ATTACH_PHOTO:
        return [photo(c.from_id, c.id, c.date, seed)]
    if c.attach == ATTACH_STICKER:
        return [sticker(c.id)]
    return []


def comment(
    seed: int, owner_id: int, post_id: int, c: Comment, epoch: int, need_likes: bool
) -> JSON:
    """A comment as wall.getComments shows it; a deleted one is a placeholder with empty text."""
    deleted = c.is_deleted_at(epoch)
    obj: JSON = {
        "id": c.id,
        "from_id": c.from_id,
        "date": c.date,
        "text": "" if deleted else text_of(seed, owner_id, c.id, c.kind),
        "post_id": post_id,
        "owner_id": owner_id,
        "parents_stack": [c.parent] if c.parent else [],
    }
    if deleted:
        obj["deleted"] = True
    else:
        attachments = comment_attachments(seed, owner_id, c)
        if attachments:
            obj["attachments"] = attachments
    if c.reply_to:
        obj["reply_to_user"] = c.reply_to_user
        obj["reply_to_comment"] = c.reply_to
    if need_likes:
        obj["likes"] = {"count": c.likes, "user_likes": 0, "can_like": 0 if deleted else 1}
    return obj


def post(seed: int, p: Post, comments_count: int) -> JSON:
    obj: JSON = {
        "id": p.post_id,
        "owner_id": p.owner_id,
        "from_id": p.from_id,
        "date": p.date,
        "post_type": "post",
        "text": post_text_of(seed, p.owner_id, p.post_id),
        "marked_as_ads": 0,
        "is_favorite": False,
        "post_source": {"type": "vk"},
        "comments": {
            "count": 0 if p.comments_closed else comments_count,
            "can_post": 0 if p.comments_closed else 1,
            "groups_can_post": not p.comments_closed,
        },
        "likes": {"count": p.likes, "user_likes": 0, "can_like": 1, "can_publish": 1},
        "reposts": {"count": p.reposts, "user_reposted": 0},
        "views": {"count": p.views},
        "attachments": [photo(p.owner_id, p.post_id, p.date, seed)] if p.has_photo else [],
    }
    if p.is_pinned:
        obj["is_pinned"] = 1
    return obj


def user(u: User, fields: frozenset[str] = frozenset()) -> JSON:
    obj: JSON = {
        "id": u.id,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "can_access_closed": True,
        "is_closed": False,
    }
    if u.deactivated:
        obj["deactivated"] = u.deactivated
    if "screen_name" in fields or "domain" in fields:
        obj["screen_name"] = u.screen_name
        obj["domain"] = u.screen_name
    if "sex" in fields:
        obj["sex"] = u.sex
    if "photo_100" in fields:
        obj["photo_100"] = f"https://sun9-1.userapi.com/s/v1/ig2/{u.id}.jpg?size=100x100"
    return obj


def profile(u: User) -> JSON:
    """A user in an `extended=1` answer (VK adds these fields there by default)."""
    obj = user(u, frozenset({"screen_name", "sex", "photo_100"}))
    obj.pop("domain", None)
    obj["photo_50"] = f"https://sun9-1.userapi.com/s/v1/ig2/{u.id}.jpg?size=50x50"
    obj["online"] = 0
    return obj


def group(g: Group, fields: frozenset[str] = frozenset()) -> JSON:
    obj: JSON = {
        "id": g.id,
        "name": g.name,
        "screen_name": g.screen_name,
        "is_closed": g.is_closed,
        "type": g.type,
        "is_admin": 0,
        "is_member": 0,
        "is_advertiser": 0,
        "photo_50": f"https://sun9-2.userapi.com/s/v1/if1/{g.id}.jpg?size=50x50",
        "photo_100": f"https://sun9-2.userapi.com/s/v1/if1/{g.id}.jpg?size=100x100",
        "photo_200": f"https://sun9-2.userapi.com/s/v1/if1/{g.id}.jpg?size=200x200",
    }
    if g.deactivated:
        obj["deactivated"] = g.deactivated
    if "description" in fields:
        obj["description"] = f"Сообщество «{g.name}»"
    if "members_count" in fields:
        obj["members_count"] = 1000 + g.id % 50_000
    return obj
