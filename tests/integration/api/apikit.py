"""Helpers of the API tests: a client with keys of both scopes, groups and comments to search."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from parser_pipeline.emulator import Emulator
from parser_pipeline.records import AuthorRecord, CommentRecord, GroupInfo, PostRecord
from parser_pipeline.settings import Settings, load_settings
from parser_pipeline.store import api_keys as keys
from parser_pipeline.store.engine import make_engine, transaction
from parser_pipeline.store.text_search import index_texts
from parser_pipeline.store.writes import (
    comment_row,
    upsert_authors,
    upsert_comments,
    upsert_groups,
    upsert_posts,
)
from parser_pipeline.vk.client import VkClient
from parser_pipeline.web.app import create_app

EMULATOR_TOKENS = ("api-test-token",)
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@dataclass
class Api:
    """A test client with a read-write and a read-only key."""

    app: FastAPI
    client: TestClient
    engine: Engine
    database_url: str
    export_dir: Path
    rw: dict[str, str]
    ro: dict[str, str]

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, headers=self.rw, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.client.post(url, headers=self.rw, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.client.patch(url, headers=self.rw, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.client.delete(url, headers=self.rw, **kwargs)


def vk_settings(emulator: Emulator, database_url: str) -> Settings:
    return load_settings(
        database_url=database_url,
        vk_api_url=emulator.base_url,
        vk_tokens=",".join(EMULATOR_TOKENS),
        vk_rps_per_token=100,
        vk_backoff_base_seconds=0.01,
        vk_backoff_cap_seconds=0.1,
    )


def open_api(database_url: str, emulator: Emulator, export_dir: Path) -> Iterator[Api]:
    """The API on `database_url`, a migrated database, with a key of each scope."""
    engine = make_engine(database_url)
    settings = vk_settings(emulator, database_url)
    rw = keys.create_key(engine, "writer", read_only=False, now=NOW)
    ro = keys.create_key(engine, "reader", read_only=True, now=NOW)
    app = create_app(
        settings,
        engine=engine,
        export_dir=export_dir,
        make_vk=lambda: VkClient.from_settings(settings),
    )
    try:
        with TestClient(app) as client:
            yield Api(
                app,
                client,
                engine,
                database_url,
                export_dir,
                {"Authorization": f"Bearer {rw.key}"},
                {"X-API-Key": ro.key},
            )
    finally:
        engine.dispose()


def add_group(engine: Engine, group_id: int, screen_name: str, **settings: Any) -> None:
    with transaction(engine) as connection:
        upsert_groups(
            connection,
            [
                GroupInfo(
                    id=group_id, screen_name=screen_name, name=f"Group {group_id}", is_closed=0
                )
            ],
            **settings,
        )


def add_comments(
    engine: Engine,
    group_id: int,
    specs: list[dict[str, Any]],
    *,
    post_id: int = 1,
) -> None:
    """Comments of one post: each spec gives comment_id and optionally text, likes, date,
    from_id, parent, deleted; authors of positive ids are stored as "Author N"."""
    owner = -group_id
    post = PostRecord(
        owner, post_id, owner, NOW, f"post {post_id}", len(specs), 3, 0, None, False, False
    )
    rows = []
    authors = set()
    for spec in specs:
        record = CommentRecord(
            owner_id=owner,
            comment_id=spec["comment_id"],
            post_id=spec.get("post_id", post_id),
            parent_comment_id=spec.get("parent"),
            reply_to_comment_id=spec.get("parent"),
            reply_to_user_id=None,
            from_id=spec.get("from_id", 7),
            date=spec.get("date", NOW - timedelta(minutes=spec["comment_id"])),
            text=spec.get("text", f"comment {spec['comment_id']}"),
            likes_count=spec.get("likes", 0),
            attachments=None,
            is_deleted=spec.get("deleted", False),
        )
        rows.append(comment_row(record, NOW, thread_complete=True))
        authors.add(record.from_id)
    with transaction(engine) as connection:
        upsert_posts(connection, [post], NOW)
        upsert_comments(connection, rows)
        # Searchable by text as after the analyze stage (store/text_search.py).
        index_texts(connection, [(r["owner_id"], r["comment_id"], r["text"]) for r in rows])
        upsert_authors(
            connection, [AuthorRecord(a, f"Author {a}", None) for a in authors if a], NOW
        )
