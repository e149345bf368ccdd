"""The three scenarios (small, standard, large): which communities exist and how busy they are."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GroupSpec:
    screen_name: str
    name: str
    type: str = "page"
    is_closed: int = 0
    deactivated: str | None = None
    n_posts: int = 0
    mean_comments: float = 0.0
    hard: bool = False  # holds the showcase post (every hard case) and the comments-closed post
    pinned_from_oldest: int | None = None  # which post is pinned, counted from the oldest


@dataclass(frozen=True)
class AdvanceSpec:
    """What one `advance()` does to each open target community."""

    new_posts: int
    touched_posts: int
    max_new_comments: int
    max_deletions: int
    mean_comments_new_post: float


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    groups: tuple[GroupSpec, ...]
    externals: tuple[tuple[str, str], ...]  # communities that only comment: (screen_name, name)
    n_users: int
    max_comments_per_post: int
    span_days: int  # how far back the oldest posts go
    # Posts whose comment trees stay in memory at once; None keeps all (small worlds).
    cached_posts: int | None
    advance: AdvanceSpec


_EXTERNALS = (
    ("shkola_17_official", "МБОУ СОШ №17"),
    ("dorozhny_dozor", "Дорожный дозор"),
    ("club_avtomobilistov", "Клуб автомобилистов"),
)

_SMALL = ScenarioSpec(
    name="small",
    groups=(
        GroupSpec("gorod_novosti", "Новости города N", "page", n_posts=8, mean_comments=12,
                  hard=True, pinned_from_oldest=0),
        GroupSpec("dvor_i_doroga", "Двор и дорога", "group", n_posts=6, mean_comments=14),
        GroupSpec("zakrytyi_klub", "Закрытый клуб жильцов", "group", is_closed=1, n_posts=3,
                  mean_comments=5),
    ),
    externals=_EXTERNALS,
    n_users=150,
    max_comments_per_post=60,
    span_days=60,
    cached_posts=None,
    advance=AdvanceSpec(new_posts=1, touched_posts=3, max_new_comments=4, max_deletions=2,
                        mean_comments_new_post=5),
)  # fmt: skip

_STANDARD = ScenarioSpec(
    name="standard",
    groups=(
        GroupSpec("gorod_novosti", "Новости города N", "page", n_posts=90, mean_comments=110,
                  hard=True, pinned_from_oldest=0),
        GroupSpec("dvor_i_doroga", "Двор и дорога", "group", n_posts=80, mean_comments=110,
                  pinned_from_oldest=30),
        GroupSpec("vybory_2024", "Выборы 2024: наблюдатели", "page", n_posts=70, mean_comments=130),
        GroupSpec("shkoly_goroda", "Школы города", "group", n_posts=60, mean_comments=80),
        GroupSpec("zakrytyi_klub", "Закрытый клуб жильцов", "group", is_closed=1, n_posts=10,
                  mean_comments=20),
        GroupSpec("zablokirovano", "Заблокированное сообщество", "page", deactivated="banned",
                  n_posts=5, mean_comments=10),
    ),
    externals=_EXTERNALS,
    n_users=3000,
    max_comments_per_post=1200,
    span_days=365,
    cached_posts=None,
    advance=AdvanceSpec(new_posts=2, touched_posts=8, max_new_comments=6, max_deletions=3,
                        mean_comments_new_post=10),
)  # fmt: skip

_LARGE = ScenarioSpec(
    name="large",
    groups=(
        GroupSpec("gorod_novosti", "Новости города N", "page", n_posts=3200, mean_comments=95,
                  hard=True, pinned_from_oldest=0),
        GroupSpec("dvor_i_doroga", "Двор и дорога", "group", n_posts=3000, mean_comments=95,
                  pinned_from_oldest=500),
        GroupSpec("vybory_2024", "Выборы 2024: наблюдатели", "page", n_posts=3000,
                  mean_comments=95),
        GroupSpec("shkoly_goroda", "Школы города", "group", n_posts=3000, mean_comments=95),
        GroupSpec("zakrytyi_klub", "Закрытый клуб жильцов", "group", is_closed=1, n_posts=50,
                  mean_comments=20),
        GroupSpec("zablokirovano", "Заблокированное сообщество", "page", deactivated="banned",
                  n_posts=20, mean_comments=10),
    ),
    externals=_EXTERNALS,
    n_users=50000,
    max_comments_per_post=3000,
    span_days=1500,
    # ~1500 posts x ~95 comments in memory at once: tens of MB, well under the 300 MB budget.
    cached_posts=1500,
    advance=AdvanceSpec(new_posts=3, touched_posts=10, max_new_comments=6, max_deletions=3,
                        mean_comments_new_post=10),
)  # fmt: skip

# A region's monitoring list: many community walls, busy with posts, each lightly commented (as
# most VK posts are). Nearly every post needs its own wall.getComments call, so the crawl is
# bound by VK's request budget rather than by storing: 40 walls x 800 posts need about 1,200
# executes, over two minutes at 3 tokens x 3 requests per second (bench/e2e.py).
_WIDE_GROUPS = 40
_WIDE = ScenarioSpec(
    name="wide",
    groups=tuple(
        GroupSpec(f"rayon_{i:02d}", f"Район №{i}: новости и обсуждения",
                  "group" if i % 2 else "page", n_posts=800, mean_comments=5)
        for i in range(1, _WIDE_GROUPS + 1)
    ),
    externals=_EXTERNALS,
    n_users=20000,
    max_comments_per_post=400,
    span_days=730,
    cached_posts=1500,
    advance=AdvanceSpec(new_posts=2, touched_posts=5, max_new_comments=4, max_deletions=2,
                        mean_comments_new_post=4),
)  # fmt: skip

SCENARIO_SPECS: dict[str, ScenarioSpec] = {s.name: s for s in (_SMALL, _STANDARD, _LARGE, _WIDE)}
