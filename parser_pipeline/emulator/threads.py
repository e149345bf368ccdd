"""Generation of one post's comment tree (pure, from the post's own seed, so it can be lazy)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .model import Comment, Post
from .text import KIND_EMPTY, KIND_NORMAL, SPECIAL_KINDS

ATTACH_NONE = 0
ATTACH_PHOTO = 1
ATTACH_STICKER = 2

# Share of new comments that open a thread rather than answer one.
TOP_LEVEL_SHARE = 0.6
# Share of replies that answer another reply (reply_to_comment) instead of the thread head.
REPLY_TO_REPLY_SHARE = 0.35
# Share of comments written on behalf of a community (negative from_id).
COMMUNITY_AUTHOR_SHARE = 0.05
# Share of comments deleted before the first crawl.
INITIAL_DELETED_SHARE = 0.03
PHOTO_SHARE = 0.04
STICKER_SHARE = 0.015
EMPTY_PHOTO_SHARE = 0.01
# Comments start this long after their post (seconds).
FIRST_COMMENT_DELAY = 60

# The showcase post: more than 100 top-level comments (one page is not enough), a thread
# of 55 replies (beyond any thread_items_count), a few just over 10, and a deleted head
# that keeps its replies.
HARD_TOP_LEVEL = 130
HARD_LONG_THREADS: dict[int, int] = {3: 55, 10: 14, 20: 12, 40: 11}
HARD_DELETED_HEADS = (10,)  # has replies: stays as a placeholder
HARD_DELETED_LONE = (5,)  # no replies: disappears
HARD_SMALL_THREAD_SHARE = 0.3
_HARD_DELETED = frozenset((*HARD_DELETED_HEADS, *HARD_DELETED_LONE))


@dataclass(frozen=True)
class AuthorPool:
    """Who may comment: users (with a few very active ones) and communities."""

    users: Sequence[int]
    communities: Sequence[int]

    def pick(self, rng: random.Random, owner_id: int) -> int:
        if rng.random() < COMMUNITY_AUTHOR_SHARE:
            if rng.random() < 0.5 or not self.communities:
                return owner_id
            return -rng.choice(self.communities)
        if rng.random() < 0.3:
            return self.users[rng.randrange(max(1, len(self.users) // 10))]
        return rng.choice(self.users)


def hard_shape(seed: int) -> list[int]:
    """Thread sizes of the showcase post's top-level comments, in creation order."""
    rng = random.Random(seed ^ 0x5EED)
    sizes = []
    for i in range(HARD_TOP_LEVEL):
        if i in HARD_LONG_THREADS:
            sizes.append(HARD_LONG_THREADS[i])
        elif i in HARD_DELETED_LONE:
            sizes.append(0)
        else:
            sizes.append(rng.randint(1, 3) if rng.random() < HARD_SMALL_THREAD_SHARE else 0)
    return sizes


def generic_shape(rng: random.Random, n: int) -> list[int]:
    """Thread sizes for n comments: preferential attachment gives a few long threads."""
    sizes: list[int] = []
    urn: list[int] = []  # each thread once, plus once per reply: P(pick) ~ size + 1
    for _ in range(n):
        if not sizes or rng.random() < TOP_LEVEL_SHARE:
            urn.append(len(sizes))
            sizes.append(0)
        else:
            t = urn[rng.randrange(len(urn))]
            sizes[t] += 1
            urn.append(t)
    return sizes


def _attachment(rng: random.Random) -> int:
    r = rng.random()
    if r < PHOTO_SHARE:
        return ATTACH_PHOTO
    if r < PHOTO_SHARE + STICKER_SHARE:
        return ATTACH_STICKER
    return ATTACH_NONE


def build_comments(post: Post, authors: AuthorPool, end: int) -> list[Comment]:
    """The post's base comments in id order (ids post_id+1 ..), dated between the post and `end`."""
    if post.n_comments == 0:
        return []
    rng = random.Random(post.seed)
    sizes = hard_shape(post.seed) if post.hard else generic_shape(rng, post.n_comments)
    if sum(len_ + 1 for len_ in sizes) != post.n_comments:
        raise AssertionError("comment shape does not match the post's planned count")
    start = post.date + FIRST_COMMENT_DELAY
    end = max(end, start + len(sizes) + 1)
    # (time, thread index, is_reply): sorting by time assigns ids in chronological order
    events: list[tuple[int, int, int]] = []
    for t, size in enumerate(sizes):
        t_top = rng.randint(start, end)
        events.append((t_top, t, 0))
        events.extend((rng.randint(t_top, end), t, 1) for _ in range(size))
    events.sort()
    comments: list[Comment] = []
    head_id: dict[int, int] = {}
    thread_replies: dict[int, list[Comment]] = {}
    top_seen = 0
    for seq, (when, t, is_reply) in enumerate(events):
        cid = post.post_id + 1 + seq
        from_id = authors.pick(rng, post.owner_id)
        kind, attach = KIND_NORMAL, _attachment(rng)
        if rng.random() < EMPTY_PHOTO_SHARE:
            kind, attach = KIND_EMPTY, ATTACH_PHOTO
        likes = min(int(rng.expovariate(0.4)), 500)
        if not is_reply:
            if post.hard and top_seen < len(SPECIAL_KINDS) and t not in _HARD_DELETED:
                kind = SPECIAL_KINDS[top_seen]
                attach = ATTACH_PHOTO if kind == KIND_EMPTY else ATTACH_NONE
                top_seen += 1
            head_id[t] = cid
            c = Comment(cid, 0, 0, 0, from_id, when, likes, kind, attach)
        else:
            earlier = thread_replies.setdefault(t, [])
            reply_to, reply_to_user = 0, 0
            if earlier and rng.random() < REPLY_TO_REPLY_SHARE:
                target = earlier[rng.randrange(len(earlier))]
                reply_to, reply_to_user = target.id, target.from_id
            c = Comment(
                cid, head_id[t], reply_to, reply_to_user, from_id, when, likes, kind, attach
            )
            earlier.append(c)
        if rng.random() < INITIAL_DELETED_SHARE and kind not in SPECIAL_KINDS:
            c.deleted = 0
        comments.append(c)
    if post.hard:
        for t in _HARD_DELETED:
            comments[head_id[t] - post.post_id - 1].deleted = 0
    return comments


def planned_count(post_seed: int, hard: bool, mean: float, cap: int) -> int:
    """How many base comments a post gets, without generating them (heavy-tailed)."""
    if hard:
        return sum(s + 1 for s in hard_shape(post_seed))
    rng = random.Random(post_seed ^ 0xC0FFEE)
    sigma = 0.9
    n = int(mean * rng.lognormvariate(-sigma * sigma / 2, sigma))
    return max(0, min(n, cap))
