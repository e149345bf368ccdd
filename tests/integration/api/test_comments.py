"""/comments on SQLite and PostgreSQL: each filter, both sorts, stable keyset pages, threads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from apikit import NOW, Api, add_comments, add_group

from parser_pipeline.analyze.rules import make_spec
from parser_pipeline.analyze.service import analyze_comments
from parser_pipeline.analyze.store import add_keywords
from parser_pipeline.store.engine import transaction


def _seed(api: Api) -> dict[str, int]:
    add_group(api.engine, 100, "city")
    add_group(api.engine, 200, "village")
    add_comments(
        api.engine,
        100,
        [
            {"comment_id": 1, "text": "Дорога разбита, 100% позор", "likes": 5, "from_id": 11},
            {"comment_id": 2, "text": "Мэр обещал ремонт", "likes": 9, "from_id": 12},
            {"comment_id": 3, "text": "ответ про дорогу", "parent": 1, "from_id": 12},
            {"comment_id": 4, "text": "удалено", "deleted": True, "from_id": 13},
            {"comment_id": 5, "text": "ещё ответ", "parent": 1, "likes": 1, "from_id": 11},
        ],
    )
    add_comments(api.engine, 100, [{"comment_id": 6, "text": "другой пост"}], post_id=2)
    add_comments(api.engine, 200, [{"comment_id": 1, "text": "Деревенская ДОРОГА", "likes": 2}])
    with transaction(api.engine) as connection:
        road, mayor = add_keywords(
            connection,
            [make_spec("дорога", "roads"), make_spec("мэр", "politics", "exact_word")],
        )
    analyze_comments(api.engine)
    return {"road": road.id, "mayor": mayor.id}


def _keys(api: Api, query: str) -> list[tuple[int, int]]:
    response = api.get(f"/comments?{query}")
    assert response.status_code == 200, response.text
    return [(c["group_id"], c["comment_id"]) for c in response.json()["items"]]


def test_each_filter(any_api: Api) -> None:
    api = any_api
    ids = _seed(api)
    # Newest first; a tie on the date goes by owner id (-100 before -200), then comment id.
    assert _keys(api, "") == [(100, 1), (200, 1), (100, 2), (100, 3), (100, 4), (100, 5), (100, 6)]
    assert set(_keys(api, "text=дорог")) == {(100, 1), (100, 3), (200, 1)}  # any case
    assert set(_keys(api, "text=100%25")) == {(100, 1)}  # % is literal
    assert _keys(api, "text=DEREV") == []
    assert set(_keys(api, "group=village")) == {(200, 1)}
    assert set(_keys(api, "group=100&post=2")) == {(100, 6)}
    assert set(_keys(api, "author=12")) == {(100, 2), (100, 3)}
    assert set(_keys(api, "author=11&author=13")) == {(100, 1), (100, 4), (100, 5)}
    assert set(_keys(api, f"keyword={ids['mayor']}")) == {(100, 2)}
    assert set(_keys(api, "category=ROADS")) == {(100, 1), (100, 3), (200, 1)}
    assert set(_keys(api, "matched_only=true")) == {(100, 1), (100, 2), (100, 3), (200, 1)}
    assert _keys(api, "deleted=only") == [(100, 4)]
    assert (100, 4) not in _keys(api, "deleted=exclude")
    since = (NOW - timedelta(minutes=3)).isoformat()
    until = (NOW - timedelta(minutes=1)).isoformat()
    window = f"since={since}&until={until}".replace("+", "%2B")
    assert set(_keys(api, window)) == {(100, 2), (100, 3)}
    assert _keys(api, "sort=-likes&limit=3") == [(100, 2), (100, 1), (200, 1)]
    assert _keys(api, "sort=likes&limit=2") == [(100, 3), (100, 4)]


def test_items_carry_links_author_and_matches(any_api: Api) -> None:
    api = any_api
    ids = _seed(api)
    [item] = api.get("/comments?group=100&author=11&text=разбита").json()["items"]
    assert item["links"] == {
        "post": "https://vk.com/wall-100_1",
        "comment": "https://vk.com/wall-100_1?reply=1",
        "author": "https://vk.com/id11",
    }
    assert item["author"] == {
        "id": 11,
        "name": "Author 11",
        "screen_name": None,
        "url": "https://vk.com/id11",
    }
    assert item["group_name"] == "Group 100"
    assert [(m["keyword_id"], m["matched_text"], m["start"]) for m in item["matches"]] == [
        (ids["road"], "Дорога", 0)
    ]


def test_bad_filters_are_422_or_404(any_api: Api) -> None:
    api = any_api
    _seed(api)

    def error(query: str) -> tuple[int, Any]:
        response = api.get(f"/comments?{query}")
        body = response.json()["error"]
        return response.status_code, [f["field"] for f in body["details"].get("fields", [])]

    assert error("text=ab") == (422, ["text"])
    assert error("post=0") == (422, ["post"])
    assert error("sort=views&limit=100000") == (422, ["sort", "limit"])
    # An empty range and a post of any group are questions with an answer, not errors.
    assert api.get("/comments?since=2026-01-02&until=2026-01-01").json()["items"] == []
    assert api.get("/comments?post=1").status_code == 200
    assert error("cursor=garbage") == (422, ["cursor"])
    assert error("keyword=999")[0] == 404
    assert error("category=nothing")[0] == 404
    assert error("group=unknown")[0] == 404
    first = api.get("/comments?limit=1").json()["next_cursor"]
    assert error(f"cursor={first}&sort=likes") == (422, ["cursor"])


def _all_pages(api: Api, query: str, between: Any = None) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    cursor = None
    pages = 0
    while True:
        url = f"/comments?{query}" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(url).json()
        seen += [(c["group_id"], c["comment_id"]) for c in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        if between is not None:
            between(pages)
        if cursor is None:
            return seen


def test_pages_neither_repeat_nor_skip_while_rows_arrive(any_api: Api) -> None:
    api = any_api
    add_group(api.engine, 100, "city")
    add_group(api.engine, 200, "village")
    # Many comments share a date and a likes count, so the tie-breakers carry the keyset.
    same = NOW - timedelta(hours=1)
    add_comments(
        api.engine,
        100,
        [{"comment_id": i, "date": same if i % 3 else NOW - timedelta(minutes=i), "likes": i % 4}
         for i in range(1, 61)],
    )  # fmt: skip
    add_comments(
        api.engine, 200, [{"comment_id": i, "date": same, "likes": i % 4} for i in range(1, 41)]
    )
    before = {(100, i) for i in range(1, 61)} | {(200, i) for i in range(1, 41)}
    next_id = iter(range(1000, 2000))

    def insert_newer_and_older(page: int) -> None:
        # Rows sorting before and after the cursor, in both groups, after every page.
        n = next(next_id)
        add_comments(api.engine, 100, [{"comment_id": n, "date": NOW + timedelta(minutes=n),
                                        "likes": 99}])  # fmt: skip
        add_comments(api.engine, 200, [{"comment_id": n, "date": NOW - timedelta(days=n),
                                        "likes": 0}])  # fmt: skip

    for query in ("limit=7", "limit=9&sort=date", "limit=8&sort=-likes", "limit=6&sort=likes",
                  "limit=5&group=100", "limit=4&group=200&sort=-likes"):  # fmt: skip
        seen = _all_pages(api, query, insert_newer_and_older)
        assert len(seen) == len(set(seen)), query
        wanted = {k for k in before if "group=" not in query or f"group={k[0]}" in query}
        assert wanted <= set(seen), (query, sorted(wanted - set(seen)))


def test_one_comment_with_its_thread(any_api: Api) -> None:
    api = any_api
    _seed(api)
    thread = api.get("/comments/100/5").json()
    assert thread["comment"]["comment_id"] == 5
    assert thread["top"]["comment_id"] == 1
    assert [r["comment_id"] for r in thread["replies"]] == [3, 5]
    assert thread["replies_total"] == 2
    assert thread["post"]["url"] == "https://vk.com/wall-100_1"
    assert thread["comment"]["links"]["comment"] == "https://vk.com/wall-100_1?reply=5&thread=1"
    top = api.get("/comments/100/1").json()
    assert top["top"]["comment_id"] == 1
    assert [r["comment_id"] for r in top["replies"]] == [3, 5]
    assert api.get("/comments/100/77").status_code == 404
    assert api.get("/comments/-100/1").status_code == 404
    assert api.get("/comments/abc/1").status_code == 404  # no comment can be there
