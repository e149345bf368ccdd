"""/keywords: list, get, add (409 on a duplicate), update, delete, CSV import, rule test."""

from __future__ import annotations

from apikit import Api, add_comments, add_group
from sqlalchemy import func, select

from parser_pipeline.analyze.service import analyze_comments
from parser_pipeline.store.schema import keyword_matches, vk_comments


def _add(api: Api, phrase: str, **extra: object) -> dict[str, object]:
    response = api.post("/keywords", json={"phrase": phrase, **extra})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_add_list_get_and_conflict(api: Api) -> None:
    road = _add(api, "дорога", category="city")
    mayor = _add(api, "мэр", category="politics", match_mode="exact_word")
    assert (road["phrase"], road["match_mode"], road["is_active"]) == ("дорога", "word_forms", True)
    listed = api.get("/keywords").json()
    assert [k["id"] for k in listed] == [road["id"], mayor["id"]]
    assert [k["id"] for k in api.get("/keywords?category=politics").json()] == [mayor["id"]]
    assert api.get(f"/keywords/{road['id']}").json()["phrase"] == "дорога"
    assert api.get("/keywords/999").status_code == 404

    again = api.post("/keywords", json={"phrase": "  дорога ", "category": "city"})
    assert again.status_code == 409
    assert again.json()["error"]["details"] == {"keyword_id": road["id"]}


def test_add_refuses_bad_rules_naming_the_field(api: Api) -> None:
    response = api.post("/keywords", json={"phrase": "a, b!"})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "phrase"
    response = api.post("/keywords", json={"phrase": "x", "match_mode": "regex"})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "match_mode"
    assert api.post("/keywords", json={"phrase": ""}).status_code == 422


def test_update_requeues_matched_comments_and_delete_removes(api: Api) -> None:
    add_group(api.engine, 100, "g100")
    add_comments(api.engine, 100, [{"comment_id": 1, "text": "Плохая дорога"},
                                   {"comment_id": 2, "text": "нет слов"}])  # fmt: skip
    road = _add(api, "дорога")
    analyze_comments(api.engine)
    assert api.get(f"/keywords/{road['id']}").json()["matches"] == 1

    unchanged = api.patch(f"/keywords/{road['id']}", json={"phrase": "дорога"}).json()
    assert (unchanged["requeued"], unchanged["hint"]) == (0, None)
    assert unchanged["keyword"]["matches"] == 1

    changed = api.patch(f"/keywords/{road['id']}", json={"phrase": "слово"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["keyword"]["phrase"], body["requeued"]) == ("слово", 1)
    assert "rematch" in body["hint"]
    with api.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(keyword_matches)).scalar() == 0
        waiting = connection.execute(
            select(func.count()).where(vk_comments.c.analyzed_at.is_(None))
        ).scalar()
    assert waiting == 1

    other = _add(api, "дорога")
    clash = api.patch(f"/keywords/{other['id']}", json={"phrase": "слово"})
    assert clash.status_code == 409
    assert api.patch(f"/keywords/{other['id']}", json={"match_mode": None}).status_code == 422
    assert api.patch("/keywords/999", json={"is_active": False}).status_code == 404

    deleted = api.delete(f"/keywords/{road['id']}")
    assert deleted.status_code == 200
    assert deleted.json()["keyword"] is None
    assert api.delete(f"/keywords/{road['id']}").status_code == 404


def test_import_reports_each_line(api: Api) -> None:
    _add(api, "дорога")
    csv = "phrase,category,mode\nдорога,,\nмэр,politics,exact_word\n,x,\nокно,,regex\n"
    response = api.post("/keywords/import", files={"file": ("k.csv", csv, "text/csv")})
    assert response.status_code == 200, response.text
    report = response.json()
    assert [(line["line"], line["status"]) for line in report["lines"]] == [
        (2, "exists"),
        (3, "added"),
        (4, "rejected"),
        (5, "rejected"),
    ]
    assert (report["added"], report["rejected"]) == (1, 2)


def test_rule_test_shows_what_matches_and_where(api: Api) -> None:
    text = "Дороги разбиты, а мэрия молчит. Мэр уехал."
    response = api.post(
        "/keywords/test",
        json={"text": text, "rule": {"phrase": "дорога", "match_mode": "word_forms"}},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["rules"] == 1
    [match] = result["matches"]
    assert (match["start"], match["end"], match["matched_text"]) == (0, 6, "Дороги")
    assert match["keyword_id"] is None
    assert result["counted_keywords"] == 1

    mayor = _add(api, "мэр", match_mode="exact_word")
    stored = api.post("/keywords/test", json={"text": text}).json()
    assert [(m["keyword_id"], m["matched_text"]) for m in stored["matches"]] == [
        (mayor["id"], "Мэр")
    ]
    bad = api.post("/keywords/test", json={"text": text, "rule": {"phrase": "?!"}})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "rule.phrase"
