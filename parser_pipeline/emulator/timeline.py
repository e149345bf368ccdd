"""Time travel: one `advance()` step adds posts, comments and replies and deletes some comments.

Rules that keep incremental crawling exactly checkable:
- Within one step a post either gains comments or loses comments, never both, so its
  `comments.count` (and each touched thread's `thread.count`) changes whenever its content does
  -- except for the `pairs` posts an `advance(pairs=N)` asks for: each gains one comment and
  loses another in the same thread (or, without replies, at the top level), so neither its
  count nor the thread's moves. Only a full re-read of that post finds them.
- Likes, reposts and views never change; texts never change.
- New replies go only to live top-level comments; a deleted top-level comment (a placeholder)
  never loses its remaining replies, so placeholders are permanent. In one step a thread head
  and its replies are never both deleted.
- Every step touches the showcase post (a new reply in its 55-reply thread and a reply to a
  reply) and deletes at least one comment somewhere, so both paths are always exercised.
"""

from __future__ import annotations

import random
from typing import Any

from .model import Comment, Post, derive_seed
from .text import KIND_NORMAL
from .threads import planned_count
from .world import ADVANCE_SECONDS, Overlay, World

# Share of new comments in an "add" step that open a new thread.
NEW_TOP_LEVEL_SHARE = 0.4
REPLY_TO_REPLY_SHARE = 0.35
# Share of touched posts that lose comments instead of gaining them.
DELETE_MODE_SHARE = 0.3


def advance(world: World, pairs: int = 0) -> dict[str, Any]:
    """Move the world one step forward; returns a summary of what changed.

    `pairs` posts besides get one comment added and another deleted (count unchanged).
    """
    epoch = world.epoch + 1
    rng = random.Random(derive_seed(world.seed, world.scenario, "advance", epoch))
    prev_now = world.now
    now = prev_now + ADVANCE_SECONDS  # (pass_time() may have moved the clock on)
    spec = world.spec.advance
    summary: dict[str, Any] = {"epoch": epoch, "new_posts": [], "new_comments": 0,
                               "deleted_comments": 0, "posts_touched": [],
                               "pairs": []}  # fmt: skip
    touched: list[tuple[Post, str]] = []
    for group in world.open_groups():
        old = [p for p in world.posts[group.owner_id] if not p.comments_closed]
        for p in rng.sample(old, min(spec.touched_posts, len(old))):
            mode = "delete" if rng.random() < DELETE_MODE_SHARE else "add"
            touched.append((p, mode))
    hard = [p for p in world.iter_posts() if p.hard]
    touched = [(p, m) for p, m in touched if not p.hard] + [(p, "add") for p in hard]
    if not any(m == "delete" for _, m in touched) and len(touched) > len(hard):
        touched[0] = (touched[0][0], "delete")
    world.epoch = epoch
    world.now = now
    for post, mode in touched:
        key = (post.owner_id, post.post_id)
        overlay = world.overlays.setdefault(key, Overlay())
        live = world.state(post).comments
        if mode == "add":
            added = _add(world, rng, post, live, prev_now, now, overlay)
            summary["new_comments"] += added
        else:
            summary["deleted_comments"] += _delete(rng, live, epoch, spec.max_deletions, overlay)
        world.invalidate(post)
        summary["posts_touched"].append([post.owner_id, post.post_id, mode])
    if pairs:
        chosen = {(p.owner_id, p.post_id) for p, _ in touched}
        candidates = [
            p
            for g in world.open_groups()
            for p in world.posts[g.owner_id]
            if not p.hard
            and not p.comments_closed
            and (p.owner_id, p.post_id) not in chosen
            and p.created_epoch < epoch
        ]
        for post in rng.sample(candidates, min(pairs, len(candidates))):
            if _pair(world, rng, post, prev_now, now):
                world.invalidate(post)
                summary["pairs"].append([post.owner_id, post.post_id])
                summary["new_comments"] += 1
                summary["deleted_comments"] += 1
    for group in world.open_groups():
        for _ in range(spec.new_posts):
            post = _new_post(world, rng, group.owner_id, epoch, prev_now, now)
            summary["new_posts"].append([post.owner_id, post.post_id])
            summary["new_comments"] += world.view(post).total
    return summary


def _new_post(
    world: World, rng: random.Random, owner: int, epoch: int, prev: int, now: int
) -> Post:
    post_id = world.next_id[owner]
    seed = derive_seed(world.seed, owner, post_id)
    spec = world.spec
    n = planned_count(seed, False, spec.advance.mean_comments_new_post, spec.max_comments_per_post)
    world.allocate_id(owner, n + 1)
    post = Post(
        owner_id=owner, post_id=post_id, from_id=owner, date=rng.randint(prev + 1, now - n - 120),
        seed=seed, n_comments=n, likes=rng.randint(0, 100), reposts=rng.randint(0, 10),
        views=rng.randint(100, 5000), has_photo=rng.random() < 0.4, created_epoch=epoch,
    )  # fmt: skip
    world.posts[owner].append(post)
    world.post_by_key[(owner, post_id)] = post
    return post


def _add(
    world: World,
    rng: random.Random,
    post: Post,
    live: list[Comment],
    prev: int,
    now: int,
    overlay: Overlay,
) -> int:
    epoch = world.epoch
    heads = [c for c in live if not c.parent and c.exists_at(epoch - 1)]
    threads: dict[int, list[Comment]] = {}
    for c in live:
        if c.parent and c.exists_at(epoch - 1):
            threads.setdefault(c.parent, []).append(c)
    n = rng.randint(1, world.spec.advance.max_new_comments)
    dates = sorted(rng.randint(prev + 1, now) for _ in range(n))
    if post.hard:
        longest = max(heads, key=lambda h: len(threads.get(h.id, [])))
        plan: list[Comment | None] = [longest, longest]
    else:
        plan = []
    plan += [None] * (n - len(plan))
    for i, date in enumerate(dates):
        cid = world.allocate_id(post.owner_id)
        from_id = world.authors.pick(rng, post.owner_id)
        likes = min(int(rng.expovariate(0.4)), 500)
        head = plan[i] if i < len(plan) else None
        if head is None and heads and rng.random() >= NEW_TOP_LEVEL_SHARE:
            head = heads[rng.randrange(len(heads))]
        if head is None:
            c = Comment(cid, 0, 0, 0, from_id, date, likes, KIND_NORMAL, 0, created=epoch)
        else:
            replies = threads.setdefault(head.id, [])
            reply_to, reply_to_user = 0, 0
            force = post.hard and i == 1
            if replies and (force or rng.random() < REPLY_TO_REPLY_SHARE):
                target = replies[rng.randrange(len(replies))]
                reply_to, reply_to_user = target.id, target.from_id
            c = Comment(cid, head.id, reply_to, reply_to_user, from_id, date, likes,
                        KIND_NORMAL, 0, created=epoch)  # fmt: skip
            replies.append(c)
        overlay.added.append(c)
    return n


def _delete(
    rng: random.Random, live: list[Comment], epoch: int, most: int, overlay: Overlay
) -> int:
    alive = [c for c in live if c.exists_at(epoch - 1)]
    head_alive = {c.id for c in alive if not c.parent}
    replies_of: dict[int, list[int]] = {}
    for c in alive:
        if c.parent:
            replies_of.setdefault(c.parent, []).append(c.id)
    blocked: set[int] = set()
    deleted = 0
    for _ in range(rng.randint(1, most)):
        # replies of a placeholder never go; a head and its replies never go in the same step
        candidates = [
            c for c in alive if c.id not in blocked and (not c.parent or c.parent in head_alive)
        ]
        if not candidates:
            break
        victim = candidates[rng.randrange(len(candidates))]
        blocked.add(victim.id)
        if victim.parent:
            blocked.add(victim.parent)
        else:
            blocked.update(replies_of.get(victim.id, []))
        overlay.deleted[victim.id] = epoch
        deleted += 1
    return deleted


def _pair(world: World, rng: random.Random, post: Post, prev: int, now: int) -> bool:
    """Add one comment and delete another so that no count moves; False when the post has
    nothing to delete."""
    epoch = world.epoch
    key = (post.owner_id, post.post_id)
    live = [c for c in world.state(post).comments if c.exists_at(epoch - 1)]
    replies: dict[int, list[Comment]] = {}
    for c in live:
        if c.parent:
            replies.setdefault(c.parent, []).append(c)
    heads = {c.id for c in live if not c.parent}
    threads = [top for top, rs in replies.items() if top in heads and rs]
    overlay = world.overlays.setdefault(key, Overlay())
    cid = world.allocate_id(post.owner_id)
    date = rng.randint(prev + 1, now)
    from_id = world.authors.pick(rng, post.owner_id)
    if threads:
        top = threads[rng.randrange(len(threads))]
        victim = replies[top][rng.randrange(len(replies[top]))]
        added = Comment(cid, top, 0, 0, from_id, date, 0, KIND_NORMAL, 0, created=epoch)
    else:
        leaves = [c for c in live if not c.parent and c.id not in replies]
        if not leaves:
            return False
        victim = leaves[rng.randrange(len(leaves))]
        added = Comment(cid, 0, 0, 0, from_id, date, 0, KIND_NORMAL, 0, created=epoch)
    overlay.added.append(added)
    overlay.deleted[victim.id] = epoch
    return True
