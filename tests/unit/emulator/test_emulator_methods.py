"""Contract: each VK method of the emulator answers like VK 5.199 (shapes, paging, errors)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from emulator_refcrawl import Client, VkCallError

from parser_pipeline.emulator import Emulator


def _err(vk: Client, method: str, **params: Any) -> dict[str, Any]:
    body = vk.answer(method, params)
    assert "error" in body, body
    error: dict[str, Any] = body["error"]
    return error


def hard_post(emu: Emulator) -> tuple[int, int]:
    post = next(p for p in emu.world.iter_posts() if p.hard)
    return post.owner_id, post.post_id


def closed_comments_post(emu: Emulator) -> tuple[int, int]:
    post = next(p for p in emu.world.iter_posts() if p.comments_closed)
    return post.owner_id, post.post_id


# ---- utils.resolveScreenName --------------------------------------------------


def test_resolve_screen_name_group_user_and_unknown(small_emu: Emulator, vk: Client) -> None:
    names = small_emu.world.group_screen_names()
    for screen, gid in names.items():
        got = vk.call("utils.resolveScreenName", screen_name=screen)
        assert got["object_id"] == gid
        assert got["type"] in {"group", "page"}
    gid = names["gorod_novosti"]
    assert vk.call("utils.resolveScreenName", screen_name=f"club{gid}")["object_id"] == gid
    user = small_emu.world.users[0]
    assert vk.call("utils.resolveScreenName", screen_name=user.screen_name) == {
        "type": "user",
        "object_id": user.id,
    }
    assert vk.call("utils.resolveScreenName", screen_name="no_such_name_here") == []
    assert _err(vk, "utils.resolveScreenName")["error_code"] == 100


# ---- groups.getById ------------------------------------------------------------


def test_groups_get_by_id_mixed_refs_and_closed_flag(small_emu: Emulator, vk: Client) -> None:
    names = small_emu.world.group_screen_names()
    refs = [str(names["gorod_novosti"]), "zakrytyi_klub", f"public{names['dvor_i_doroga']}"]
    got = vk.call("groups.getById", group_ids=",".join(refs), fields="members_count")
    assert set(got) == {"groups", "profiles"}
    by_name = {g["screen_name"]: g for g in got["groups"]}
    assert set(by_name) == set(names)
    assert by_name["zakrytyi_klub"]["is_closed"] == 1
    assert by_name["gorod_novosti"]["is_closed"] == 0
    for g in got["groups"]:
        assert {"id", "name", "screen_name", "is_closed", "type", "members_count"} <= set(g)
    single = vk.call("groups.getById", group_id="gorod_novosti")
    assert [g["id"] for g in single["groups"]] == [names["gorod_novosti"]]


def test_groups_get_by_id_unknown_is_error_100(vk: Client) -> None:
    error = _err(vk, "groups.getById", group_ids="nobody_has_this_name")
    assert error["error_code"] == 100
    assert "group_ids" in error["error_msg"]


# ---- users.get -----------------------------------------------------------------


def test_users_get_fields_stub_and_invalid(small_emu: Emulator, vk: Client) -> None:
    users = small_emu.world.users[:3]
    got = vk.call("users.get", user_ids=",".join(str(u.id) for u in users), fields="screen_name")
    assert [u["id"] for u in got] == [u.id for u in users]
    assert [(u["first_name"], u["last_name"], u["screen_name"]) for u in got] == [
        (u.first_name, u.last_name, u.screen_name) for u in users
    ]
    stub = vk.call("users.get", user_ids="999")[0]
    assert stub["deactivated"] == "deleted"
    assert _err(vk, "users.get", user_ids="surely_not_a_user")["error_code"] == 113
    too_many = ",".join(str(i) for i in range(1, 1002))
    assert _err(vk, "users.get", user_ids=too_many)["error_code"] == 100


# ---- wall.get ------------------------------------------------------------------


def test_wall_get_pinned_first_then_newest_first(small_emu: Emulator, vk: Client) -> None:
    gid = small_emu.world.group_screen_names()["gorod_novosti"]
    page = vk.call("wall.get", owner_id=-gid, count=100)
    items = page["items"]
    assert page["count"] == len(items)
    assert items[0]["is_pinned"] == 1
    assert items[0]["date"] == min(i["date"] for i in items)  # an old post, pinned
    rest = items[1:]
    assert all("is_pinned" not in i for i in rest)
    assert [i["date"] for i in rest] == sorted((i["date"] for i in rest), reverse=True)
    post = items[0]
    for key in ("id", "owner_id", "from_id", "date", "text", "attachments"):
        assert key in post
    assert set(post["comments"]) >= {"count", "can_post"}
    assert {"count"} <= set(post["likes"])
    assert "count" in post["reposts"]
    assert "count" in post["views"]


def test_wall_get_default_count_offset_domain_and_extended(small_emu: Emulator, vk: Client) -> None:
    full = vk.call("wall.get", domain="gorod_novosti", count=100)
    assert len(vk.call("wall.get", domain="gorod_novosti")["items"]) == min(20, full["count"])
    paged = []
    for offset in range(0, full["count"], 3):
        paged += vk.call("wall.get", domain="gorod_novosti", offset=offset, count=3)["items"]
    assert [p["id"] for p in paged] == [p["id"] for p in full["items"]]
    ext = vk.call("wall.get", domain="gorod_novosti", count=2, extended=1)
    gid = small_emu.world.group_screen_names()["gorod_novosti"]
    assert [g["id"] for g in ext["groups"]] == [gid]
    assert ext["profiles"] == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"domain": "gorod_novosti", "count": 101}, 100),
        ({"domain": "gorod_novosti", "count": "many"}, 100),
        ({"domain": "gorod_novosti", "offset": -1}, 100),
        ({"owner_id": -1}, 100),
        ({"domain": "no_such_domain"}, 100),
        ({"domain": "zakrytyi_klub"}, 15),
        ({}, 100),
    ],
)
def test_wall_get_errors(vk: Client, params: dict[str, Any], code: int) -> None:
    assert _err(vk, "wall.get", **params)["error_code"] == code


def test_wall_get_closed_group_message(vk: Client) -> None:
    error = _err(vk, "wall.get", domain="zakrytyi_klub")
    assert error["error_msg"] == "Access denied: this wall available only for community members"


def test_comments_closed_post_in_wall_and_212(small_emu: Emulator, vk: Client) -> None:
    owner, post_id = closed_comments_post(small_emu)
    items = vk.call("wall.get", owner_id=owner, count=100)["items"]
    post = next(i for i in items if i["id"] == post_id)
    assert post["comments"]["count"] == 0
    assert post["comments"]["can_post"] == 0
    error = _err(vk, "wall.getComments", owner_id=owner, post_id=post_id)
    assert (error["error_code"], error["error_msg"]) == (212, "Access to post comments denied")


# ---- wall.getComments ----------------------------------------------------------


def test_get_comments_top_level_shape(small_emu: Emulator, vk: Client) -> None:
    owner, post_id = hard_post(small_emu)
    page = vk.call("wall.getComments", owner_id=owner, post_id=post_id)
    assert {"count", "items", "current_level_count", "can_post", "show_reply_button",
            "groups_can_post"} <= set(page)  # fmt: skip
    assert len(page["items"]) == 10  # VK's default count
    assert page["current_level_count"] > 100  # the showcase post needs several pages
    assert page["count"] > page["current_level_count"]  # replies count too
    for c in page["items"]:
        assert {"id", "from_id", "date", "text", "post_id", "owner_id", "parents_stack"} <= set(c)
        assert c["parents_stack"] == []
        assert c["thread"]["items"] == []  # thread_items_count defaults to 0
        assert {"count", "can_post", "show_reply_button"} <= set(c["thread"])
        assert "likes" not in c


def test_get_comments_preview_likes_extended(small_emu: Emulator, vk: Client) -> None:
    owner, post_id = hard_post(small_emu)
    page = vk.call("wall.getComments", owner_id=owner, post_id=post_id, count=100,
                   thread_items_count=10, need_likes=1, extended=1)  # fmt: skip
    authors = set()
    for c in page["items"]:
        assert set(c["likes"]) == {"count", "user_likes", "can_like"}
        thread = c["thread"]
        assert len(thread["items"]) == min(10, thread["count"])
        for r in thread["items"]:
            assert r["parents_stack"] == [c["id"]]
            authors.add(r["from_id"])
            if "reply_to_comment" in r:
                authors.add(r["reply_to_user"])
        authors.add(c["from_id"])
    known = {p["id"] for p in page["profiles"]} | {-g["id"] for g in page["groups"]}
    assert known == authors
    assert any(a < 0 for a in authors)  # communities comment too
    assert {"first_name", "last_name", "screen_name"} <= set(page["profiles"][0])


def test_get_comments_thread_paging_and_sort(small_emu: Emulator, vk: Client) -> None:
    owner, post_id = hard_post(small_emu)
    tops = vk.call("wall.getComments", owner_id=owner, post_id=post_id, count=100)["items"]
    tops += vk.call("wall.getComments", owner_id=owner, post_id=post_id, count=100,
                    offset=100)["items"]  # fmt: skip
    longest = max(tops, key=lambda c: c["thread"]["count"])
    assert longest["thread"]["count"] >= 50
    assert sum(1 for c in tops if c["thread"]["count"] > 10) >= 3
    n = longest["thread"]["count"]
    got = []
    for off in range(0, n, 20):
        page = vk.call("wall.getComments", owner_id=owner, post_id=post_id,
                       comment_id=longest["id"], offset=off, count=20)  # fmt: skip
        assert page["count"] == n
        assert page["current_level_count"] == n
        got += page["items"]
    assert len(got) == n
    assert len({r["id"] for r in got}) == n
    assert [r["id"] for r in got] == sorted(r["id"] for r in got)
    assert all(r["parents_stack"] == [longest["id"]] for r in got)
    assert any("reply_to_comment" in r for r in got)
    desc = vk.call("wall.getComments", owner_id=owner, post_id=post_id, sort="desc", count=100)
    asc_ids = [c["id"] for c in tops]
    assert [c["id"] for c in desc["items"]] == asc_ids[::-1][:100]


def test_deleted_comment_with_replies_is_a_placeholder(small_emu: Emulator, vk: Client) -> None:
    owner, post_id = hard_post(small_emu)
    tops = []
    for off in (0, 100):
        tops += vk.call("wall.getComments", owner_id=owner, post_id=post_id, count=100,
                        offset=off, need_likes=1)["items"]  # fmt: skip
    deleted = [c for c in tops if c.get("deleted")]
    assert deleted
    for c in deleted:
        assert c["text"] == ""
        assert "attachments" not in c
        assert c["thread"]["count"] > 0


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"count": 101}, 100),
        ({"thread_items_count": 11}, 100),
        ({"sort": "random"}, 100),
        ({"comment_id": 1}, 100),
    ],
)
def test_get_comments_param_errors(small_emu: Emulator, vk: Client, params: dict[str, Any],
                                   code: int) -> None:  # fmt: skip
    owner, post_id = hard_post(small_emu)
    error = _err(vk, "wall.getComments", owner_id=owner, post_id=post_id, **params)
    assert error["error_code"] == code


def test_get_comments_missing_post_and_closed_group(small_emu: Emulator, vk: Client) -> None:
    owner, _ = hard_post(small_emu)
    assert _err(vk, "wall.getComments", owner_id=owner, post_id=999_999)["error_code"] == 100
    assert _err(vk, "wall.getComments", owner_id=owner)["error_code"] == 100
    closed = small_emu.world.group_screen_names()["zakrytyi_klub"]
    post = small_emu.world.posts[-closed][0]
    error = _err(vk, "wall.getComments", owner_id=-closed, post_id=post.post_id)
    assert error["error_code"] == 15


# ---- protocol ------------------------------------------------------------------


def test_error_shape_echoes_params_but_never_the_token(small_emu: Emulator) -> None:
    resp = requests.get(
        f"{small_emu.base_url}/wall.get",
        params={"domain": "zakrytyi_klub", "access_token": "emulator-token", "v": "5.199"},
        timeout=5,
    )
    assert resp.status_code == 200
    error = resp.json()["error"]
    assert set(error) == {"error_code", "error_msg", "request_params"}
    params = {p["key"]: p["value"] for p in error["request_params"]}
    assert params["method"] == "wall.get"
    assert params["oauth"] == "1"
    assert params["domain"] == "zakrytyi_klub"
    assert params["v"] == "5.199"
    assert "access_token" not in params
    assert "emulator-token" not in resp.text


def test_get_and_post_answer_alike_and_unknown_method(small_emu: Emulator, vk: Client) -> None:
    params = {"screen_name": "gorod_novosti", "access_token": "emulator-token", "v": "5.199"}
    url = f"{small_emu.base_url}/utils.resolveScreenName"
    assert (
        requests.get(url, params=params, timeout=5).json()
        == requests.post(url, data=params, timeout=5).json()
    )
    assert _err(vk, "wall.nothing")["error_code"] == 3
    no_v = requests.post(url, data={"screen_name": "x", "access_token": "emulator-token"},
                         timeout=5)  # fmt: skip
    assert no_v.json()["error"]["error_code"] == 8


def test_call_error_helper(vk: Client) -> None:
    with pytest.raises(VkCallError) as info:
        vk.call("wall.get", domain="zakrytyi_klub")
    assert info.value.code == 15
