"""The emulated world: communities, users, posts, and lazily built comment trees with time travel.

Everything derives from (scenario, seed). Posts are created eagerly (a few thousand small
records even in `large`); each post's comments are generated on demand from the post's own
seed and kept in an LRU cache, so the `large` world (over a million comments) stays small in
memory. Changes made by `advance()` live in per-post overlays that survive cache eviction.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from .model import Comment, Group, Post, User, derive_seed
from .scenarios import SCENARIO_SPECS, GroupSpec, ScenarioSpec
from .text import person_name
from .threads import AuthorPool, build_comments, planned_count
from .views import PostView, build_view

# The initial "now" of every world: 2024-06-01 00:00 UTC. Fixed so worlds are reproducible.
BASE_TIME = 1_717_200_000
# How much world time one advance() covers.
ADVANCE_SECONDS = 3600
# Group and user ids live in realistic, non-overlapping ranges.
GROUP_ID_BASE = 30_000_000
USER_ID_RANGE = (1_000_000, 800_000_000)
# Share of users with a custom screen name (the rest are "id<N>", as VK).
CUSTOM_SCREEN_NAME_SHARE = 0.4
_LATIN_NICKS = ("anna", "sergey", "dima", "olga", "ivan", "masha", "alex", "nik", "kate", "max")

PostKey = tuple[int, int]  # (owner_id, post_id)


@dataclass
class Overlay:
    """Changes made to one post by advance(): comments added and deletions (id -> epoch)."""

    added: list[Comment] = field(default_factory=list)
    deleted: dict[int, int] = field(default_factory=dict)


@dataclass
class PostState:
    comments: list[Comment]  # id order
    view: PostView


class World:
    """A deterministic VK world; `epoch` 0 is the initial state, advance() increments it."""

    def __init__(self, scenario: str = "small", seed: int = 1) -> None:
        if scenario not in SCENARIO_SPECS:
            raise ValueError(f"unknown scenario {scenario!r}")
        self.spec: ScenarioSpec = SCENARIO_SPECS[scenario]
        self.scenario = scenario
        self.seed = seed
        self.epoch = 0
        self.start_now = BASE_TIME
        self.now = BASE_TIME
        rng = random.Random(derive_seed(seed, scenario, "world"))
        self.users: list[User] = self._make_users(rng)
        self.user_by_id = {u.id: u for u in self.users}
        self.groups: list[Group] = self._make_groups(rng)
        self.group_by_id = {g.id: g for g in self.groups}
        self.posts: dict[int, list[Post]] = {}  # owner_id -> posts in id order
        self.post_by_key: dict[PostKey, Post] = {}
        self.next_id: dict[int, int] = {}
        self.overlays: dict[PostKey, Overlay] = {}
        self._cache: OrderedDict[PostKey, PostState] = OrderedDict()
        self._totals: dict[PostKey, int] = {}
        externals = [g.id for g in self.groups if not g.target]
        self.authors = AuthorPool(users=[u.id for u in self.users], communities=externals)
        for spec, group in zip(self.spec.groups, self.groups, strict=False):
            self._make_posts(rng, spec, group)
        self._screen_names: dict[str, tuple[str, int]] = {}
        for g in self.groups:
            self._screen_names[g.screen_name] = (g.type, g.id)
        for u in self.users:
            self._screen_names[u.screen_name] = ("user", u.id)

    # ---- construction -------------------------------------------------------------

    def _make_users(self, rng: random.Random) -> list[User]:
        ids = rng.sample(range(*USER_ID_RANGE), self.spec.n_users)
        users = []
        taken: set[str] = set()
        for uid in ids:
            first, last, sex = person_name(rng)
            screen = f"id{uid}"
            if rng.random() < CUSTOM_SCREEN_NAME_SHARE:
                nick = f"{rng.choice(_LATIN_NICKS)}_{rng.randint(1, 99999)}"
                if nick not in taken:
                    screen = nick
                    taken.add(nick)
            users.append(User(uid, first, last, screen, sex, None))
        return users

    def _make_groups(self, rng: random.Random) -> list[Group]:
        groups = []
        for i, spec in enumerate(self.spec.groups):
            gid = GROUP_ID_BASE + i * 1_000_003 + rng.randrange(1000)
            groups.append(
                Group(gid, spec.screen_name, spec.name, spec.type, spec.is_closed,
                      spec.deactivated, target=True)
            )  # fmt: skip
        for j, (screen, name) in enumerate(self.spec.externals):
            gid = GROUP_ID_BASE + (50 + j) * 1_000_003 + rng.randrange(1000)
            groups.append(Group(gid, screen, name, "group", 0, None, target=False))
        return groups

    def _make_posts(self, rng: random.Random, spec: GroupSpec, group: Group) -> None:
        owner = group.owner_id
        span = self.spec.span_days * 86_400
        first_date = self.start_now - span
        step = span // max(1, spec.n_posts)
        hard_index = spec.n_posts // 2 if spec.hard else -1
        closed_index = hard_index + 1 if spec.hard else -1
        next_id = 1 + rng.randrange(50)
        posts = []
        for i in range(spec.n_posts):
            post_id = next_id
            seed = derive_seed(self.seed, owner, post_id)
            hard = i == hard_index
            closed = i == closed_index
            n = 0 if closed else planned_count(seed, hard, spec.mean_comments,
                                               self.spec.max_comments_per_post)  # fmt: skip
            date = first_date + i * step + rng.randrange(max(1, step // 2))
            post = Post(
                owner_id=owner, post_id=post_id, from_id=owner, date=date, seed=seed,
                n_comments=n, likes=rng.randint(0, 400), reposts=rng.randint(0, 40),
                views=rng.randint(500, 50_000), has_photo=rng.random() < 0.4,
                is_pinned=i == spec.pinned_from_oldest, comments_closed=closed, hard=hard,
            )  # fmt: skip
            posts.append(post)
            self.post_by_key[(owner, post_id)] = post
            next_id = post_id + n + 1 + rng.randrange(3)
        self.posts[owner] = posts
        self.next_id[owner] = next_id

    # ---- lookups ------------------------------------------------------------------

    def target_groups(self) -> list[Group]:
        """The communities a crawl is pointed at, including the closed/blocked ones."""
        return [g for g in self.groups if g.target]

    def group_screen_names(self) -> dict[str, int]:
        """screen_name -> group id of every target community (closed ones included)."""
        return {g.screen_name: g.id for g in self.target_groups()}

    def open_groups(self) -> list[Group]:
        return [g for g in self.target_groups() if not g.wall_denied]

    def closed_groups(self) -> list[Group]:
        return [g for g in self.target_groups() if g.wall_denied]

    def resolve(self, screen_name: str) -> tuple[str, int] | None:
        """(type, object_id) for a screen name, "club123"/"public123"/"id123" included."""
        hit = self._screen_names.get(screen_name)
        if hit is not None:
            return hit
        for prefix in ("club", "public", "event"):
            rest = screen_name.removeprefix(prefix)
            if rest != screen_name and rest.isdigit() and int(rest) in self.group_by_id:
                g = self.group_by_id[int(rest)]
                return g.type, g.id
        rest = screen_name.removeprefix("id")
        if rest != screen_name and rest.isdigit() and int(rest) in self.user_by_id:
            return "user", int(rest)
        return None

    def group_by_ref(self, ref: str) -> Group | None:
        """A community by numeric id, screen name, or club/public<id>."""
        ref = ref.strip()
        if ref.lstrip("-").isdigit():
            return self.group_by_id.get(abs(int(ref)))
        hit = self.resolve(ref)
        if hit is None or hit[0] == "user":
            return None
        return self.group_by_id.get(hit[1])

    def wall(self, owner_id: int) -> list[Post]:
        """Posts that exist now, in VK's order: the pinned one first, then newest first."""
        posts = [p for p in self.posts.get(owner_id, []) if p.created_epoch <= self.epoch]
        pinned = [p for p in posts if p.is_pinned]
        rest = [p for p in reversed(posts) if not p.is_pinned]
        return pinned + rest

    def post(self, owner_id: int, post_id: int) -> Post | None:
        post = self.post_by_key.get((owner_id, post_id))
        if post is None or post.created_epoch > self.epoch:
            return None
        return post

    def iter_posts(self) -> Iterator[Post]:
        for owner in sorted(self.posts):
            yield from self.posts[owner]

    # ---- comment trees ------------------------------------------------------------

    def comments_of(self, post: Post) -> list[Comment]:
        """All comments ever created on the post (deleted included), in id order."""
        return self.state(post).comments

    def view(self, post: Post) -> PostView:
        return self.state(post).view

    def comments_count(self, post: Post) -> int:
        """VK's `comments.count` now (see views.py for what it counts)."""
        key = (post.owner_id, post.post_id)
        total = self._totals.get(key)
        if total is None:
            total = self.view(post).total
            self._totals[key] = total
        return total

    def comments_snapshot(self, post: Post) -> list[Comment]:
        """Like comments_of, but a cache miss is built without evicting hot posts."""
        hit = self._cache.get((post.owner_id, post.post_id))
        return hit.comments if hit is not None else self.build(post)

    def state(self, post: Post) -> PostState:
        key = (post.owner_id, post.post_id)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        comments = self.build(post)
        st = PostState(comments, build_view(comments, self.epoch))
        self._cache[key] = st
        limit = self.spec.cached_posts
        if limit is not None and len(self._cache) > limit:
            self._cache.popitem(last=False)
        return st

    def build(self, post: Post) -> list[Comment]:
        """The post's comments from its seed plus its overlay, without touching the cache."""
        comments = build_comments(
            post, self.authors, self.start_now + post.created_epoch * ADVANCE_SECONDS
        )
        if post.created_epoch:
            for c in comments:
                c.created = post.created_epoch
                if c.deleted is not None:
                    c.deleted = post.created_epoch
        overlay = self.overlays.get((post.owner_id, post.post_id))
        if overlay is not None:
            comments.extend(c.copy() for c in overlay.added)
            by_id = {c.id: c for c in comments}
            for cid, epoch in overlay.deleted.items():
                by_id[cid].deleted = epoch
        return comments

    def invalidate(self, post: Post) -> None:
        key = (post.owner_id, post.post_id)
        self._cache.pop(key, None)
        self._totals.pop(key, None)

    def allocate_id(self, owner_id: int, n: int = 1) -> int:
        """Reserve n consecutive ids on a wall (posts and comments share one counter, as VK)."""
        first = self.next_id[owner_id]
        self.next_id[owner_id] = first + n
        return first

    def author_name(self, author_id: int) -> tuple[str, str] | None:
        """(name, screen_name) of a user (positive id) or community (negative id)."""
        if author_id > 0:
            u = self.user_by_id.get(author_id)
            return (u.name, u.screen_name) if u else None
        g = self.group_by_id.get(-author_id)
        return (g.name, g.screen_name) if g else None
