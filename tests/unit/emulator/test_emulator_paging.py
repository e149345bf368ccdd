"""Contract: every visible comment is reachable exactly once by offset paging plus thread paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from emulator_refcrawl import Client

from parser_pipeline.emulator import Emulator


def _all_comments(vk: Client, owner: int, post_id: int, sort: str, page: int) -> list[int]:
    ids: list[int] = []
    offset = 0
    base: dict[str, Any] = {"owner_id": owner, "post_id": post_id, "sort": sort}
    while True:
        answer = vk.call(
            "wall.getComments", **base, offset=offset, count=page, thread_items_count=3
        )
        for c in answer["items"]:
            ids.append(c["id"])
            n = c["thread"]["count"]
            ids += [r["id"] for r in c["thread"]["items"]]
            for off in range(len(c["thread"]["items"]), n, page):
                thread = vk.call(
                    "wall.getComments", **base, comment_id=c["id"], offset=off, count=page
                )
                ids += [r["id"] for r in thread["items"]]
        offset += len(answer["items"])
        if offset >= answer["current_level_count"]:
            assert vk.call("wall.getComments", **base, offset=offset)["items"] == []
            return ids


def _visible(emu: Emulator, owner: int, post_id: int) -> set[int]:
    post = emu.world.post(owner, post_id)
    assert post is not None
    view = emu.world.view(post)
    return {c.id for c in view.tops} | {r.id for t in view.tops for r in view.thread(t.id)}


@pytest.mark.parametrize(("sort", "page"), [("asc", 100), ("desc", 7)])
def test_every_comment_exactly_once(small_emu: Emulator, vk: Client, sort: str, page: int) -> None:
    for owner_group in small_emu.world.open_groups():
        for post in small_emu.world.wall(owner_group.owner_id):
            if post.comments_closed:
                continue
            ids = _all_comments(vk, post.owner_id, post.post_id, sort, page)
            assert len(ids) == len(set(ids))
            assert set(ids) == _visible(small_emu, post.owner_id, post.post_id)


def test_count_fields_agree_with_paging(small_emu: Emulator, vk: Client) -> None:
    for group in small_emu.world.open_groups():
        posts = vk.call("wall.get", owner_id=group.owner_id, count=100)["items"]
        for p in posts:
            if not p["comments"]["can_post"]:
                continue
            first = vk.call("wall.getComments", owner_id=group.owner_id, post_id=p["id"], count=100)
            assert first["count"] == p["comments"]["count"]
            ids = _all_comments(vk, group.owner_id, p["id"], "asc", 100)
            world_post = small_emu.world.post(group.owner_id, p["id"])
            assert world_post is not None
            deleted_heads = sum(
                1 for c in small_emu.world.view(world_post).tops if c.deleted is not None
            )
            assert first["count"] == len(ids) - deleted_heads


def test_paging_stays_exact_after_time_travel(fresh_emu: Callable[..., Emulator]) -> None:
    emu = fresh_emu(scenario="small", seed=4)
    vk = Client(emu.base_url, retry=False)
    for _ in range(3):
        emu.advance()
    for group in emu.world.open_groups():
        for post in emu.world.wall(group.owner_id):
            if not post.comments_closed:
                ids = _all_comments(vk, post.owner_id, post.post_id, "asc", 100)
                assert sorted(ids) == sorted(_visible(emu, post.owner_id, post.post_id))
