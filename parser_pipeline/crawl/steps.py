"""Steps shared by the in-process crawl and the distributed stages: store a listing, read state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from parser_pipeline.crawl.planning import PostFetch, StoredComment, plan_post_fetches
from parser_pipeline.crawl.wall import WallListing
from parser_pipeline.errors import VkError
from parser_pipeline.store import jobs as job_store
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.reads import stored_comments, stored_posts
from parser_pipeline.store.writes import upsert_posts


def store_listing(
    engine: Engine,
    listing: WallListing,
    job_id: int,
    *,
    full_verify: bool,
    cutoff: datetime | None,
    now: datetime,
) -> list[PostFetch]:
    """Store a wall's listed posts and plan which of them need their comments read.

    The plan is made from the watermarks as they were before this listing, in the same
    transaction that stores the posts, so a repeated listing plans the same work.
    """
    with transaction(engine) as connection:
        known = stored_posts(connection, listing.owner_id)
        upsert_posts(connection, listing.posts.values(), now)
        job_store.add_progress(connection, job_id, {"posts_count": len(listing.posts)})
    return plan_post_fetches(
        sorted(listing.posts.values(), key=lambda p: -p.post_id),
        known,
        full_verify=full_verify,
        cutoff=cutoff,
    )


def read_stored(
    engine: Engine, batch: list[PostFetch]
) -> Mapping[tuple[int, int], list[StoredComment]]:
    """What the store holds of these posts' comments (for thread and deletion decisions)."""
    with engine.connect() as connection:
        return stored_comments(connection, [(p.owner_id, p.post_id) for p in batch])


def skip_entry(target: PostFetch, error: VkError) -> dict[str, Any]:
    """A post skipped for a permanent reason, as a job's details list it."""
    return {
        "owner_id": target.owner_id,
        "post_id": target.post_id,
        "code": error.code,
        "reason": error.vk_message,
    }
