"""Reviews of comments: read one with its audit trail, change one or many, exclusion suggestions."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Row

from parser_pipeline.analyze.exclusions import exclusion_suggestions
from parser_pipeline.api import models
from parser_pipeline.api.auth import Reader, WriterKey
from parser_pipeline.api.deps import State
from parser_pipeline.api.params import CommentIdPath, GroupIdPath
from parser_pipeline.api.views import review_out
from parser_pipeline.store import reviews
from parser_pipeline.store.engine import transaction

router = APIRouter(tags=["reviews"], dependencies=[Reader])
PATH = "/comments/{group_id:int}/{comment_id:int}/review"


def _change(body: models.ReviewUpdate) -> reviews.ReviewChange:
    return reviews.ReviewChange(
        state=body.state,
        add_tags=tuple(body.add_tags),
        remove_tags=tuple(body.remove_tags),
        note=body.note,
    )


def _detail(
    key: reviews.Key, review: reviews.Review, history: list[Row[Any]]
) -> models.ReviewDetail:
    return models.ReviewDetail(
        group_id=-key[0],
        comment_id=key[1],
        review=review_out(review),
        history=[
            models.ReviewEvent(at=e.at, actor=e.actor, action=e.action, value=e.value)
            for e in history
        ],
    )


@router.get(PATH, response_model=models.ReviewDetail)
def get_review(
    state: State, group_id: GroupIdPath, comment_id: CommentIdPath
) -> models.ReviewDetail:
    """A comment's review state, tags, note, and who changed what when (newest first)."""
    key = (-group_id, comment_id)
    with state.engine.connect() as connection:
        review, history = reviews.review_detail(connection, key)
    return _detail(key, review, history)


@router.patch(PATH, response_model=models.ReviewDetail)
def update_review(
    state: State,
    group_id: GroupIdPath,
    comment_id: CommentIdPath,
    body: models.ReviewUpdate,
    api_key: WriterKey,
) -> models.ReviewDetail:
    """Change a comment's state, tags or note; the key's name is recorded as the reviewer."""
    key = (-group_id, comment_id)
    with transaction(state.engine) as connection:
        reviews.apply_review(
            connection, [key], _change(body), actor=api_key.name, now=state.clock()
        )
        review, history = reviews.review_detail(connection, key)
    return _detail(key, review, history)


@router.post("/reviews", response_model=models.BulkReviewed)
def bulk_review(state: State, body: models.BulkReview, api_key: WriterKey) -> models.BulkReviewed:
    """The same change to many comments at once (one transaction: all or none, 404 naming the
    first comment that is not stored)."""
    keys = [(-ref.group_id, ref.comment_id) for ref in body.comments]
    with transaction(state.engine) as connection:
        done = reviews.apply_review(
            connection, keys, _change(body), actor=api_key.name, now=state.clock()
        )
    return models.BulkReviewed(items=[_detail(key, review, []) for key, review in done.items()])


@router.get("/reviews/exclusion-suggestions", response_model=list[models.ExclusionSuggestion])
def suggestions(state: State) -> list[models.ExclusionSuggestion]:
    """Per keyword category, words that many comments marked irrelevant share and kept ones
    lack: candidates for an exclusion rule of that category."""
    with state.engine.connect() as connection:
        found = exclusion_suggestions(connection)
    return [models.ExclusionSuggestion(**asdict(s)) for s in found]
