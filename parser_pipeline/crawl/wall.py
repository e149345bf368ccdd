"""List the walls of many groups with wall.get pages packed into shared executes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from parser_pipeline.constants import VK_WALL_GET_MAX_COUNT
from parser_pipeline.crawl.comments import CallsRunner
from parser_pipeline.crawl.parse import parse_wall_page
from parser_pipeline.crawl.planning import page_reaches_cutoff, wall_offsets
from parser_pipeline.errors import VkError
from parser_pipeline.records import PostRecord
from parser_pipeline.vk.batching import VkCall


@dataclass(frozen=True, slots=True)
class WallTarget:
    group_id: int
    cutoff: datetime | None = None  # posts older than this are not wanted (max_post_age_days)


@dataclass(slots=True)
class WallListing:
    """A group's wall as listed now: posts by id (deduplicated), or the error that stopped it."""

    group_id: int
    posts: dict[int, PostRecord] = field(default_factory=dict)
    total: int = 0
    error: VkError | None = None
    calls: int = 0

    @property
    def owner_id(self) -> int:
        return -self.group_id


def wall_call(owner_id: int, offset: int) -> VkCall:
    return VkCall(
        "wall.get", {"owner_id": owner_id, "offset": offset, "count": VK_WALL_GET_MAX_COUNT}
    )


def list_walls(client: CallsRunner, targets: Sequence[WallTarget]) -> list[WallListing]:
    """Every wanted post of every target wall.

    Pages are read by offset; posts published meanwhile shift later pages, so a post can show up
    twice and is kept once (by id). With a cutoff, pages are read one after another until one
    reaches it; without, all remaining pages go out together after the first.
    """
    listings = {t.group_id: WallListing(t.group_id) for t in targets}
    cutoffs = {t.group_id: t.cutoff for t in targets}
    calls = [(t.group_id, wall_call(-t.group_id, 0)) for t in targets]
    while calls:
        outcomes = client.call_many([call for _, call in calls])
        follow_up: list[tuple[int, VkCall]] = []
        for (group_id, call), outcome in zip(calls, outcomes, strict=True):
            listing = listings[group_id]
            listing.calls += 1
            if listing.error is not None:
                continue
            if outcome.error is not None:
                listing.error = outcome.error
                continue
            try:
                page = parse_wall_page(outcome.value, listing.owner_id)
            except VkError as error:
                listing.error = error
                continue
            first = call.params["offset"] == 0
            listing.total = max(listing.total, page.total)
            for post in page.posts:
                listing.posts.setdefault(post.post_id, post)
            cutoff = cutoffs[group_id]
            if cutoff is not None:
                next_offset = int(call.params["offset"]) + VK_WALL_GET_MAX_COUNT
                if (
                    page.posts
                    and next_offset < page.total
                    and not page_reaches_cutoff(page.posts, cutoff)
                ):
                    follow_up.append((group_id, wall_call(listing.owner_id, next_offset)))
            elif first:
                follow_up.extend(
                    (group_id, wall_call(listing.owner_id, offset))
                    for offset in wall_offsets(page.total, VK_WALL_GET_MAX_COUNT)
                )
        calls = follow_up
    return [listings[t.group_id] for t in targets]
