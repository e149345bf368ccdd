"""The analyze stage on SQLite and PostgreSQL: matches, counts, idempotency, rematch, requeue."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from structlog.testing import capture_logs

from analysisdata import (
    OWNER,
    add_rule,
    comment,
    comment_state,
    store_comments,
    stored,
)
from parser_pipeline.analyze import store as keyword_store
from parser_pipeline.analyze.service import (
    RuleCache,
    analyze_comments,
    rematch,
    request_reanalysis,
    unanalyzed_count,
)
from parser_pipeline.errors import NotFoundError
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import keyword_matches, keywords, vk_comments

TEXTS = {
    1: "Когда уже мэр займётся дорогой?",
    2: "На выборы не пойду, всё и так понятно. Про выборах молчат.",
    3: "Реклама: лучшая больница города",
    4: "Полностью согласен с автором.",
    5: "Спросите у мэра города, куда ушли деньги 😡",
    6: "",
}


def at(comment_id: int, keyword_id: int, word: str, text: str | None = None) -> tuple[Any, ...]:
    """The stored match row of `word`'s first occurrence in a comment."""
    start = (text or TEXTS[comment_id]).index(word)
    return (OWNER, comment_id, keyword_id, start, start + len(word), word)


def _setup(engine: Engine) -> dict[str, int]:
    store_comments(engine, [comment(i, text) for i, text in TEXTS.items()])
    return {
        "mayor": add_rule(engine, "мэр", category="power"),
        "mayor_city": add_rule(engine, "мэр города", category="power"),
        "elections": add_rule(engine, "выборы", category="power"),
        "road": add_rule(engine, "дорога", category="roads"),
        "hospital": add_rule(engine, "больница", category="health"),
        "ad": add_rule(engine, "реклама", category="health", exclude=True),
    }


def test_analyze_stores_matches_and_counts(engine: Engine) -> None:
    ids = _setup(engine)
    summary = analyze_comments(engine, batch_size=2, cache=RuleCache())
    assert (summary.comments, summary.batches, summary.rules) == (6, 3, 6)
    assert stored(engine) == {
        at(1, ids["mayor"], "мэр"),
        at(1, ids["road"], "дорогой"),
        at(2, ids["elections"], "выборы"),
        at(2, ids["elections"], "выборах"),
        at(3, ids["ad"], "Реклама"),
        at(3, ids["hospital"], "больница"),
        at(5, ids["mayor"], "мэра"),
        at(5, ids["mayor_city"], "мэра города"),
    }
    # 3: the hospital is in an excluded category; 5: two keywords of one category.
    assert comment_state(engine) == {
        1: (2, True), 2: (1, True), 3: (0, True), 4: (0, True), 5: (2, True), 6: (0, True),
    }  # fmt: skip
    with engine.connect() as connection:
        context = connection.execute(
            select(keyword_matches.c.context).where(keyword_matches.c.comment_id == 5).limit(1)
        ).scalar_one()
    assert context == TEXTS[5]
    assert unanalyzed_count(engine) == 0


def test_a_second_run_changes_nothing(engine: Engine) -> None:
    _setup(engine)
    cache = RuleCache()
    analyze_comments(engine, cache=cache)
    before = stored(engine)
    with engine.connect() as connection:
        stamps = connection.execute(select(vk_comments.c.analyzed_at)).scalars().all()
        matched_at = connection.execute(select(func.max(keyword_matches.c.matched_at))).scalar()
    again = analyze_comments(engine, [(OWNER, i) for i in TEXTS], cache=cache)
    assert (again.comments, again.changed, again.matches) == (6, 0, 0)
    assert analyze_comments(engine, cache=cache).comments == 0  # nothing waits
    assert stored(engine) == before
    with engine.connect() as connection:
        assert connection.execute(select(vk_comments.c.analyzed_at)).scalars().all() == stamps
        assert connection.execute(select(func.max(keyword_matches.c.matched_at))).scalar() == (
            matched_at
        )


def test_changed_text_is_analyzed_again_and_its_old_matches_go(engine: Engine) -> None:
    ids = _setup(engine)
    cache = RuleCache()
    analyze_comments(engine, cache=cache)
    changed = store_comments(engine, [comment(1, "Школа без ремонта, а выборов не видно")])
    assert changed == [(OWNER, 1)]
    assert comment_state(engine)[1] == (2, False)  # the crawl reset analyzed_at
    summary = analyze_comments(engine, cache=cache)
    assert (summary.comments, summary.changed) == (1, 1)
    ones = {m for m in stored(engine) if m[1] == 1}
    assert ones == {at(1, ids["elections"], "выборов", "Школа без ремонта, а выборов не видно")}
    assert comment_state(engine)[1] == (1, True)


def test_given_keys_are_analyzed_whatever_their_state(engine: Engine) -> None:
    _setup(engine)
    summary = analyze_comments(engine, [(OWNER, 1), (OWNER, 1), (OWNER, 404)], cache=RuleCache())
    assert summary.comments == 1
    assert {m[1] for m in stored(engine)} == {1}
    assert comment_state(engine)[2] == (0, False)


def test_rule_changes_rebuild_the_engine_and_rematch_replaces_matches(engine: Engine) -> None:
    ids = _setup(engine)
    cache = RuleCache()
    analyze_comments(engine, cache=cache)
    school = add_rule(engine, "понятно", mode="exact_word", category="misc")
    with transaction(engine) as connection:
        connection.execute(
            keyword_matches.update()
            .where(keyword_matches.c.keyword_id == ids["road"])
            .values(context="stale")
        )
        connection.execute(
            update(keywords).where(keywords.c.id == ids["ad"]).values(is_active=False)
        )
    with capture_logs() as logs:
        summary = rematch(engine, [school], batch_size=4, cache=cache, on_progress=None)
    assert any(e["event"] == "analyze.rules_compiled" and e["rules"] == 6 for e in logs)
    assert summary.comments == 6
    assert summary.changed == 3  # 1: context repaired; 2: new rule; 3: exclusion is inactive
    matches = stored(engine)
    assert at(2, school, "понятно") in matches
    assert not any(m[2] == ids["ad"] for m in matches)
    assert comment_state(engine)[3] == (1, True)
    assert comment_state(engine)[2] == (2, True)
    assert rematch(engine, cache=cache).changed == 0


def test_rematch_refuses_unknown_keywords(engine: Engine) -> None:
    _setup(engine)
    with pytest.raises(NotFoundError, match="keyword 999 does not exist"):
        rematch(engine, [999], cache=RuleCache())


def test_removing_a_rule_requeues_the_comments_it_matched(engine: Engine) -> None:
    ids = _setup(engine)
    cache = RuleCache()
    analyze_comments(engine, cache=cache)
    with transaction(engine) as connection:
        rows, requeued = keyword_store.remove_keywords(connection, [ids["ad"]])
    assert [r.phrase for r in rows] == ["реклама"]
    assert requeued == 1
    assert comment_state(engine)[3] == (0, False)
    analyze_comments(engine, cache=cache)
    assert comment_state(engine)[3] == (1, True)  # the hospital counts now


def test_request_reanalysis_queues_everything_in_batches(engine: Engine) -> None:
    _setup(engine)
    cache = RuleCache()
    analyze_comments(engine, cache=cache)
    progress: list[tuple[int, int]] = []
    assert (
        request_reanalysis(engine, batch_size=4, on_progress=lambda d, t: progress.append((d, t)))
        == 6
    )
    assert progress == [(4, 6), (6, 6)]
    assert unanalyzed_count(engine) == 6
    before = stored(engine)
    summary = analyze_comments(engine, max_comments=4, cache=cache)
    assert summary.comments == 4
    assert unanalyzed_count(engine) == 2
    analyze_comments(engine, cache=cache)
    assert unanalyzed_count(engine) == 0
    assert stored(engine) == before


def test_keywords_add_is_idempotent_and_reactivates(engine: Engine) -> None:
    first = add_rule(engine, "мэр")
    assert add_rule(engine, "  мэр ") == first
    assert add_rule(engine, "мэр", mode="exact_word") != first
    with transaction(engine) as connection:
        connection.execute(update(keywords).where(keywords.c.id == first).values(is_active=False))
        assert [r.id for r in keyword_store.active_rules(connection)] != [first]
    assert add_rule(engine, "мэр") == first
    with engine.connect() as connection:
        assert first in [r.id for r in keyword_store.active_rules(connection)]
