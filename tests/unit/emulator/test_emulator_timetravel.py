"""Contract: advance() changes the world in ways an incremental crawler can detect exactly."""

from __future__ import annotations

from typing import Any

from parser_pipeline.emulator import World, build_truth
from parser_pipeline.emulator.timeline import advance


def _snapshot(world: World) -> dict[tuple[int, int], dict[str, Any]]:
    out = {}
    for post in world.iter_posts():
        if post.created_epoch > world.epoch:
            continue
        view = world.view(post)
        out[(post.owner_id, post.post_id)] = {
            "total": view.total,
            "alive": {c.id for c in world.comments_of(post) if c.exists_at(world.epoch)},
            "threads": {t.id: frozenset(r.id for r in view.thread(t.id)) for t in view.tops},
        }
    return out


def test_advance_adds_and_deletes_and_is_deterministic() -> None:
    a, b = World("small", 3), World("small", 3)
    summaries = [advance(a) for _ in range(3)]
    assert summaries == [advance(b) for _ in range(3)]
    assert all(s["new_posts"] and s["new_comments"] and s["deleted_comments"] for s in summaries)
    assert build_truth(a) == build_truth(b)


def test_each_change_moves_the_counts_a_crawler_watches() -> None:
    world = World("small", 5)
    before = _snapshot(world)
    for _ in range(4):
        advance(world)
        after = _snapshot(world)
        for key, now in after.items():
            old = before.get(key)
            if old is None:
                continue
            added, removed = now["alive"] - old["alive"], old["alive"] - now["alive"]
            assert not (added and removed), key  # never both in one step
            assert (now["total"] != old["total"]) == bool(added or removed)
            for top, replies in now["threads"].items():
                was = old["threads"].get(top)
                if was is not None and len(was) == len(replies):
                    assert was == replies, (key, top)  # same thread.count, same replies
        before = after


def test_old_threads_grow_and_deleted_comments_keep_their_text() -> None:
    world = World("small", 1)
    first = build_truth(world)
    hard = next(p for p in world.iter_posts() if p.hard)
    longest_before = max(len(world.view(hard).thread(t.id)) for t in world.view(hard).tops)
    summaries = [advance(world) for _ in range(3)]
    longest_after = max(len(world.view(hard).thread(t.id)) for t in world.view(hard).tops)
    assert longest_after > longest_before
    later = build_truth(world)
    old = {(c["owner_id"], c["post_id"], c["comment_id"]): c for c in first["comments"]}
    new = {(c["owner_id"], c["post_id"], c["comment_id"]): c for c in later["comments"]}
    assert set(old) <= set(new)
    newly_deleted = [k for k in old if not old[k]["is_deleted"] and new[k]["is_deleted"]]
    assert len(newly_deleted) >= 1
    for k in newly_deleted:
        assert new[k]["text"] == old[k]["text"]
    old_posts = {(p["owner_id"], p["post_id"]) for p in first["posts"]}
    new_replies_on_old = [c for k, c in new.items() if k not in old and k[:2] in old_posts
                          and c["parent_comment_id"] in {o[2] for o in old}]  # fmt: skip
    assert new_replies_on_old
    assert sum(len(s["new_posts"]) for s in summaries) == 3 * 2
    assert len(later["posts"]) == len(first["posts"]) + 6
