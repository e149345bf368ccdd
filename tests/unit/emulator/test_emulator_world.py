"""Contract: generated worlds: determinism, hard cases, text, counting rules, lazy `large`."""

from __future__ import annotations

import re
import tracemalloc
from typing import Any

import pytest

from parser_pipeline.emulator import World, build_truth
from parser_pipeline.emulator.config import EmulatorConfig
from parser_pipeline.emulator.service import VkService
from parser_pipeline.emulator.text import LEXEMES, MAX_COMMENT_CHARS
from parser_pipeline.emulator.views import build_view


@pytest.fixture(scope="module")
def small_truth() -> dict[str, list[dict[str, Any]]]:
    return build_truth(World("small", 1))


def test_same_seed_same_world_other_seed_other_world() -> None:
    assert build_truth(World("small", 1)) == build_truth(World("small", 1))
    assert build_truth(World("small", 2))["comments"] != build_truth(World("small", 1))["comments"]


def test_scenario_sizes() -> None:
    small = build_truth(World("small", 1))
    assert 2 <= len([g for g in small["groups"] if not g["is_closed"]]) <= 3
    assert 200 <= len(small["comments"]) <= 1000
    standard = World("standard", 1)
    assert len(standard.target_groups()) == 6
    assert 10_000 <= sum(p.n_comments for p in standard.iter_posts()) < 100_000


def test_truth_fields_and_order(small_truth: dict[str, list[dict[str, Any]]]) -> None:
    assert set(small_truth) == {"groups", "posts", "comments", "authors"}
    assert set(small_truth["groups"][0]) == {
        "id",
        "screen_name",
        "name",
        "is_closed",
        "deactivated",
    }
    assert set(small_truth["posts"][0]) == {
        "owner_id", "post_id", "from_id", "date", "text", "comments_count", "likes_count",
        "reposts_count", "views_count", "is_pinned", "comments_closed",
    }  # fmt: skip
    assert set(small_truth["comments"][0]) == {
        "owner_id", "post_id", "comment_id", "parent_comment_id", "reply_to_comment_id",
        "reply_to_user_id", "from_id", "date", "text", "likes_count", "is_deleted", "attachments",
    }  # fmt: skip
    assert set(small_truth["authors"][0]) == {"id", "name", "screen_name"}
    keys = [(c["owner_id"], c["post_id"], c["comment_id"]) for c in small_truth["comments"]]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert [a["id"] for a in small_truth["authors"]] == sorted(
        a["id"] for a in small_truth["authors"]
    )


def test_hard_cases_are_present(small_truth: dict[str, list[dict[str, Any]]]) -> None:
    world = World("small", 1)
    comments = small_truth["comments"]
    by_post: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for c in comments:
        by_post.setdefault((c["owner_id"], c["post_id"]), []).append(c)
    tops = max(sum(1 for c in cs if c["parent_comment_id"] is None) for cs in by_post.values())
    assert tops > 100
    threads: dict[int, int] = {}
    for c in comments:
        if c["parent_comment_id"] is not None:
            threads[c["parent_comment_id"]] = threads.get(c["parent_comment_id"], 0) + 1
    assert max(threads.values()) >= 50
    assert sum(1 for n in threads.values() if n > 10) >= 3
    assert any(c["reply_to_comment_id"] is not None for c in comments)
    deleted_heads = [c for c in comments if c["is_deleted"] and c["parent_comment_id"] is None
                     and threads.get(c["comment_id"])]  # fmt: skip
    assert deleted_heads
    assert all(c["text"] == "" for c in deleted_heads)
    assert any(c["from_id"] < 0 for c in comments)
    pinned = [p for p in small_truth["posts"] if p["is_pinned"]]
    assert pinned
    assert pinned[0]["date"] == min(
        p["date"] for p in small_truth["posts"] if p["owner_id"] == pinned[0]["owner_id"]
    )
    closed = [p for p in small_truth["posts"] if p["comments_closed"]]
    assert closed
    assert all(p["comments_count"] == 0 for p in closed)
    assert not any((c["owner_id"], c["post_id"]) == (closed[0]["owner_id"], closed[0]["post_id"])
                   for c in comments)  # fmt: skip
    closed_group = world.group_screen_names()["zakrytyi_klub"]
    assert not any(p["owner_id"] == -closed_group for p in small_truth["posts"])
    assert any(g["is_closed"] == 1 for g in small_truth["groups"])


def test_awkward_texts_are_present(small_truth: dict[str, list[dict[str, Any]]]) -> None:
    texts = [c["text"] for c in small_truth["comments"] if not c["is_deleted"] or c["text"]]
    assert max(len(t) for t in texts) == MAX_COMMENT_CHARS
    assert any("null" in t and "\\N" in t for t in texts)
    assert any(t != t.strip() for t in texts)
    assert any("\t" in t for t in texts)
    assert any("\n" in t for t in texts)
    assert any("«" in t for t in texts)
    assert any('"' in t for t in texts)
    assert any(re.search(r"[A-Za-z]{3,}", t) for t in texts)
    assert any(re.search("[\U0001f300-\U0001faff]", t) for t in texts)
    empty = [c for c in small_truth["comments"] if c["text"] == "" and not c["is_deleted"]]
    assert empty
    assert all(c["attachments"] for c in empty)
    photo = next(a for c in empty for a in c["attachments"] if a["type"] == "photo")["photo"]
    assert {"id", "owner_id", "album_id", "date", "sizes", "access_key"} <= set(photo)
    joined = " ".join(texts).lower()
    for lexeme in ("выборы", "мэр", "дорога", "школа"):
        forms = {f for f in LEXEMES[lexeme].values() if re.search(rf"\b{f}\b", joined)}
        assert len(forms) >= 3, (lexeme, forms)


def test_counting_rules_match_the_api() -> None:
    world = World("small", 1)
    for post in world.iter_posts():
        comments = world.comments_of(post)
        view = build_view(comments, world.epoch)
        alive = [c for c in comments if c.deleted is None]
        assert view.total == len(alive)
        tops = [c for c in comments if not c.parent and (c.deleted is None or view.thread(c.id))]
        assert [c.id for c in view.tops] == [c.id for c in tops]
        for top in view.tops:
            assert view.thread(top.id) == [c for c in alive if c.parent == top.id]


def test_large_world_is_lazy_and_big() -> None:
    tracemalloc.start()
    world = World("large", 1)
    assert sum(p.n_comments for p in world.iter_posts()) >= 1_000_000
    service = VkService(EmulatorConfig(scenario="large", rate_limit_per_second=None), world)
    params = {"access_token": "emulator-token", "v": "5.199", "count": "100"}
    for group in world.open_groups():
        reply = service.handle("wall.get", {**params, "owner_id": str(group.owner_id)})
        assert reply.status == 200
        assert b'"items"' in reply.body
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 300 * 1024 * 1024
