"""Statistics queries on SQLite and PostgreSQL: per day, top keywords/categories/authors/posts."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from analysisdata import (
    GROUP,
    NOW,
    add_rule,
    comment,
    store_author,
    store_comments,
    store_post,
)
from parser_pipeline.analyze import stats
from parser_pipeline.analyze.service import RuleCache, analyze_comments
from parser_pipeline.analyze.stats import (
    AuthorCount,
    CategoryCount,
    GroupDay,
    KeywordCount,
    MatchDay,
    PostCount,
)
from parser_pipeline.store.comment_filter import CommentFilter

OTHER = 200
DAY1 = NOW - timedelta(days=1)  # 2026-11-28 12:00 UTC
LATE = datetime(2026, 11, 29, 23, 59, 59, tzinfo=NOW.tzinfo)


def _world(engine: Engine) -> dict[str, int]:
    store_post(engine, 1, "Новости города\n\nРемонт дороги начнётся весной")
    store_post(engine, 2, "Выборы мэра")
    store_post(engine, 5, "Другая группа", owner_id=-OTHER)
    store_author(engine, 7, "Анна Иванова")
    store_author(engine, 8, "Сергей Петров")
    store_comments(
        engine,
        [
            comment(1, "Мэр и дорога, опять мэр", date=DAY1),
            comment(2, "Дороги разбиты", date=DAY1, from_id=8),
            comment(3, "Реклама: мэр обещал", post_id=2),
            comment(4, "Спасибо", post_id=2, date=LATE),
            comment(5, "мэр другой группы", owner_id=-OTHER, post_id=5, from_id=8),
        ],
    )
    ids = {
        "mayor": add_rule(engine, "мэр", category="power"),
        "road": add_rule(engine, "дорога", category="roads"),
        "ad": add_rule(engine, "реклама", category="power", exclude=True),
    }
    analyze_comments(engine, cache=RuleCache())
    return ids


def test_every_statistic_on_all_groups(engine: Engine) -> None:
    ids = _world(engine)
    f = CommentFilter()
    with engine.connect() as connection:
        assert stats.comments_per_day(connection, f) == [
            GroupDay(date(2026, 11, 28), GROUP, 2),
            GroupDay(date(2026, 11, 29), GROUP, 2),
            GroupDay(date(2026, 11, 29), OTHER, 1),
        ]
        # comment 3's "мэр" does not count: its category is excluded by "реклама" there
        assert stats.top_keywords(connection, f) == [
            KeywordCount(ids["mayor"], "мэр", "power", 3, 2),
            KeywordCount(ids["road"], "дорога", "roads", 2, 2),
        ]
        assert stats.top_categories(connection, f) == [
            CategoryCount("power", 3, 2),
            CategoryCount("roads", 2, 2),
        ]
        assert stats.matches_per_day(connection, f) == [
            MatchDay(date(2026, 11, 28), 4, 2),
            MatchDay(date(2026, 11, 29), 1, 1),
        ]
        assert stats.top_authors(connection, f) == [
            AuthorCount(7, "Анна Иванова", 3, 1),
            AuthorCount(8, "Сергей Петров", 2, 2),
        ]
        assert stats.top_posts(connection, f, limit=2) == [
            PostCount(GROUP, 1, 2, 2, "Новости города Ремонт дороги начнётся весной"),
            PostCount(GROUP, 2, 2, 0, "Выборы мэра"),
        ]


def test_filters_by_group_and_days(engine: Engine) -> None:
    ids = _world(engine)
    with engine.connect() as connection:
        only_other = CommentFilter(group_ids=(OTHER,))
        assert stats.top_keywords(connection, only_other) == [
            KeywordCount(ids["mayor"], "мэр", "power", 1, 1)
        ]
        day2 = CommentFilter(group_ids=(GROUP,), since=date(2026, 11, 29), until=date(2026, 11, 29))
        assert stats.comments_per_day(connection, day2) == [GroupDay(date(2026, 11, 29), GROUP, 2)]
        assert stats.top_keywords(connection, day2) == []
        assert stats.matches_per_day(connection, CommentFilter(until=date(2026, 11, 28))) == [
            MatchDay(date(2026, 11, 28), 4, 2)
        ]
        assert stats.top_authors(connection, CommentFilter(since=date(2026, 11, 30))) == []
