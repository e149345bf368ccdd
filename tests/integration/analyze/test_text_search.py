"""Text search finds what the analyze stage saw: new, edited, emptied, deleted, re-analyzed
comments, by every path that stores them (store/text_search.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select

from analysisdata import NOW, OWNER, comment, store_comments
from parser_pipeline.analyze.service import analyze_comments, rematch, request_reanalysis
from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.crawl.runner import crawl_groups
from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig, run_emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.comment_filter import CommentFilter, DeletedMode, where
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import comment_search, vk_comments
from parser_pipeline.store.writes import mark_comments_deleted
from parser_pipeline.vk.client import VkClient
from truthcheck import CHECK_EVERY_CRAWL

TOKENS = ("search-token-a", "search-token-b")


def found(engine: Engine, needle: str, **fields: object) -> set[int]:
    """The comment ids the one comment filter selects for "text contains `needle`"."""
    f = CommentFilter.model_validate({"text": needle, **fields})
    with engine.connect() as connection:
        query = select(vk_comments.c.comment_id).where(*where(connection, f))
        return set(connection.execute(query).scalars())


def search_rows(engine: Engine) -> set[tuple[int, int, str]]:
    s = comment_search.c
    with engine.connect() as connection:
        return {tuple(r) for r in connection.execute(select(s.owner_id, s.comment_id, s.text))}  # type: ignore[misc]


def stored_texts(engine: Engine) -> set[tuple[int, int, str]]:
    """What comment_search must hold on PostgreSQL: every stored non-empty text."""
    c = vk_comments.c
    query = select(c.owner_id, c.comment_id, c.text).where(c.text != "")
    with engine.connect() as connection:
        return {tuple(r) for r in connection.execute(query)}  # type: ignore[misc]


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def test_a_stored_comment_is_found_by_its_text_once_analyzed(engine: Engine) -> None:
    store_comments(engine, [comment(1, "Яма на дороге у школы"), comment(2, "Спасибо мэрии")])
    # PostgreSQL searches the analyzed texts; SQLite scans vk_comments.text.
    assert found(engine, "ДОРОГ") == (set() if is_postgres(engine) else {1})
    analyze_comments(engine)  # `vkpipe crawl` and the analyze workers' backlog sweep
    assert found(engine, "ДОРОГ") == {1}
    assert found(engine, "мэри") == {2}
    assert search_rows(engine) == (stored_texts(engine) if is_postgres(engine) else set())


def test_an_edited_text_replaces_the_old_one(engine: Engine) -> None:
    store_comments(engine, [comment(1, "Яма на дороге"), comment(2, "Снег не убран")])
    analyze_comments(engine, [(OWNER, 1), (OWNER, 2)])  # the fleet's per-batch analyze task
    store_comments(engine, [comment(1, "Яму засыпали, спасибо")])  # a re-crawl sees the edit
    analyze_comments(engine, [(OWNER, 1)])
    assert found(engine, "засыпали") == {1}
    assert found(engine, "яма на") == set()
    assert found(engine, "снег") == {2}
    if is_postgres(engine):
        assert search_rows(engine) == stored_texts(engine)


def test_a_text_edited_to_nothing_leaves_the_search_table(pg_engine: Engine) -> None:
    store_comments(pg_engine, [comment(1, "Фото двора"), comment(2, "Двор чистый")])
    analyze_comments(pg_engine)
    store_comments(pg_engine, [comment(1, "")])  # only a photo is left
    analyze_comments(pg_engine)
    assert found(pg_engine, "двор") == {2}
    assert search_rows(pg_engine) == {(OWNER, 2, "Двор чистый")}


def test_a_deleted_comment_keeps_its_text_and_is_found_by_the_deleted_filter(
    engine: Engine,
) -> None:
    store_comments(engine, [comment(1, "Мэр опять обещал"), comment(2, "Мэр молодец")])
    analyze_comments(engine)
    with transaction(engine) as connection:
        mark_comments_deleted(connection, OWNER, [1], NOW)  # VK no longer shows it
    deleted = comment(1, "")
    deleted["is_deleted"] = True  # VK's placeholder: the stored text stays
    store_comments(engine, [deleted])
    analyze_comments(engine)
    assert found(engine, "мэр") == {1, 2}
    assert found(engine, "мэр", deleted=DeletedMode.only) == {1}
    assert found(engine, "мэр", deleted=DeletedMode.exclude) == {2}


def test_reanalysis_and_rematch_restore_lost_search_rows(pg_engine: Engine) -> None:
    store_comments(pg_engine, [comment(i, f"Остановка номер {i}") for i in range(1, 6)])
    analyze_comments(pg_engine)
    with transaction(pg_engine) as connection:
        connection.execute(delete(comment_search).where(comment_search.c.comment_id <= 2))
    assert found(pg_engine, "остановка") == {3, 4, 5}
    request_reanalysis(pg_engine)  # the fleet's rematch: the backlog sweeps analyze again
    analyze_comments(pg_engine)
    assert found(pg_engine, "остановка") == {1, 2, 3, 4, 5}
    assert search_rows(pg_engine) == stored_texts(pg_engine)
    rematch(pg_engine)  # `vkpipe analyze --rematch` writes nothing it does not need to
    assert search_rows(pg_engine) == stored_texts(pg_engine)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(
        scenario="small",
        seed=3,
        tokens=TOKENS,
        rate_limit_per_second=None,
        faults=FaultConfig.off(),
    )
    with run_emulator(config) as emu:
        yield emu


def test_a_crawl_then_analysis_makes_every_stored_text_searchable(
    pg_engine: Engine, emulator: Emulator
) -> None:
    """`vkpipe crawl`'s path: crawl the world, analyze; then time moves (comments added and
    deleted) and again. Afterwards comment_search holds exactly the stored non-empty texts."""
    settings = load_settings(
        vk_api_url=emulator.base_url, vk_tokens=",".join(TOKENS), vk_rps_per_token=100
    )
    client = VkClient.from_settings(settings)
    try:
        names = sorted(emulator.world.group_screen_names())
        register_groups(pg_engine, client, [(name, CrawlSettings()) for name in names])
        for _ in range(2):
            with pg_engine.connect() as connection:
                rows = group_store.list_groups(connection)
            assert crawl_groups(pg_engine, client, rows, policy=CHECK_EVERY_CRAWL).ok
            analyze_comments(pg_engine)
            texts = stored_texts(pg_engine)
            assert len(texts) > 300
            assert search_rows(pg_engine) == texts
            emulator.advance()
    finally:
        client.close()
