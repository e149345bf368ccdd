"""The workspace over HTTP: sessions and their cookie, CSRF, read-only keys, forms' errors,
"new since you opened it", keywords (test, import, export), charts' numbers, on both databases."""

from __future__ import annotations

import re
from datetime import timedelta

from apikit import NOW, Api, add_comments, add_group
from fastapi.testclient import TestClient

from parser_pipeline.analyze.rules import make_spec
from parser_pipeline.analyze.service import analyze_comments
from parser_pipeline.analyze.store import add_keywords
from parser_pipeline.store import api_keys as keys
from parser_pipeline.store.engine import transaction

CSRF = re.compile(r'"X-CSRF-Token": "([0-9a-f]+)"')


def seed(api: Api) -> None:
    add_group(api.engine, 100, "city")
    add_comments(api.engine, 100, [{"comment_id": i, "text": f"дорога {i}"} for i in range(1, 4)])
    with transaction(api.engine) as connection:
        add_keywords(connection, [make_spec("дорога", "roads")])
    analyze_comments(api.engine)


def sign_in(client: TestClient, headers: dict[str, str]) -> str:
    """Sign in with the key of `headers`; the page's CSRF token."""
    key = next(iter(headers.values())).removeprefix("Bearer ")
    response = client.post("/workspace/sign-in", data={"key": key}, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = CSRF.search(client.get("/workspace/feed").text)
    assert match is not None
    return match.group(1)


def test_a_session_cookie_is_httponly_lax_and_ends_on_sign_out_or_revocation(any_api: Api) -> None:
    client = any_api.client
    assert client.get("/workspace/feed", follow_redirects=False).headers["location"] == (
        "/workspace/sign-in?next=%2Fworkspace%2Ffeed"
    )
    wrong = client.post("/workspace/sign-in", data={"key": "vkp_nope"})
    assert wrong.status_code == 401
    assert 'id="key-error"' in wrong.text
    response = client.post("/workspace/sign-in", data={"key": any_api.rw["Authorization"][7:]},
                           follow_redirects=False)  # fmt: skip
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/workspace" in cookie
    assert "Secure" not in cookie  # plain HTTP here; HTTPS gets Secure (next test)
    csrf = CSRF.search(client.get("/workspace/feed").text)
    assert csrf is not None
    out = client.post("/workspace/sign-out", data={"csrf_token": csrf.group(1)},
                      follow_redirects=False)  # fmt: skip
    assert out.status_code == 303
    assert client.get("/workspace/feed", follow_redirects=False).status_code == 303
    sign_in(client, any_api.ro)
    keys.revoke_key(any_api.engine, "reader", NOW)
    assert client.get("/workspace/feed", follow_redirects=False).status_code == 303


def test_the_cookie_is_secure_over_https(any_api: Api) -> None:
    with TestClient(any_api.app, base_url="https://testserver") as client:
        key = any_api.rw["Authorization"][7:]
        response = client.post("/workspace/sign-in", data={"key": key}, follow_redirects=False)
    assert "Secure" in response.headers["set-cookie"]


def test_changes_need_the_csrf_token_and_a_key_that_may_write(any_api: Api) -> None:
    seed(any_api)
    client = any_api.client
    csrf = sign_in(client, any_api.rw)
    form = {"comment": "-100_1", "state": "done"}
    assert client.post("/workspace/review", data=form).status_code == 403
    forged = client.post("/workspace/review", data={**form, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    other_site = client.post(
        "/workspace/review", data=form, headers={"X-CSRF-Token": csrf, "Origin": "https://evil"}
    )
    assert other_site.status_code == 403
    done = client.post("/workspace/review", data=form, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200
    assert "1 comment reviewed." in done.text
    read_only = TestClient(any_api.app)
    ro_csrf = sign_in(read_only, any_api.ro)
    refused = read_only.post("/workspace/review", data=form, headers={"X-CSRF-Token": ro_csrf})
    assert refused.status_code == 403
    assert "read-only" in refused.text
    assert "✓ Done" not in read_only.get("/workspace/feed").text  # no review buttons shown
    crawl = read_only.post("/workspace/groups/100/crawl", headers={"X-CSRF-Token": ro_csrf})
    assert crawl.status_code == 403


def test_form_errors_are_shown_next_to_their_fields(any_api: Api) -> None:
    seed(any_api)
    sign_in(any_api.client, any_api.rw)
    page = any_api.client.get(
        "/workspace/feed", params={"since": "yesterday", "group": "nowhere", "tag": "a|b"}
    )
    assert page.status_code == 422
    for field in ("since", "group", "tag"):
        assert f'id="{field}-error"' in page.text
        assert f'aria-describedby="{field}-error"' in page.text
    review = any_api.client.post(
        "/workspace/review",
        data={"comment": "-100_1", "add_tags": "a|b"},
        headers={"X-CSRF-Token": CSRF.findall(page.text)[0]},
    )
    assert review.status_code == 422
    assert "Tags:" in review.text


def test_new_comments_since_the_page_opened_are_counted(any_api: Api) -> None:
    seed(any_api)
    sign_in(any_api.client, any_api.rw)
    opened = (NOW + timedelta(seconds=1)).isoformat()
    params = {"opened": opened, "matched_only": "false"}
    assert any_api.client.get("/workspace/feed/new", params=params).text.strip() == ""
    add_comments(any_api.engine, 100, [{"comment_id": 9, "text": "новый"}], post_id=2)
    # apikit stores comments as first seen at NOW: count from just before it
    earlier = {**params, "opened": (NOW - timedelta(seconds=1)).isoformat()}
    text = any_api.client.get("/workspace/feed/new", params=earlier).text
    assert "4 new comments since you opened this page" in text
    only_matched = any_api.client.get("/workspace/feed/new", params={**earlier, "tag": "x"})
    assert only_matched.text.strip() == ""


def test_keywords_page_tests_imports_and_exports_rules(any_api: Api) -> None:
    seed(any_api)
    csrf = sign_in(any_api.client, any_api.rw)
    headers = {"X-CSRF-Token": csrf}
    trial = any_api.client.post(
        "/workspace/keywords/test", data={"text": "Дороги разбиты", "phrase": "дорога"},
        headers={**headers, "HX-Request": "true"},
    )  # fmt: skip
    assert trial.status_code == 200
    assert '<mark title="дорога">Дороги</mark>' in trial.text
    bad = any_api.client.post(
        "/workspace/keywords/test", data={"text": "", "phrase": "a-b!"}, headers=headers
    )
    assert bad.status_code == 422
    assert 'id="rt-text-error"' in bad.text
    imported = any_api.client.post(
        "/workspace/keywords/import",
        files={"file": ("k.csv", "phrase,category\nшкола,city\n,broken\n".encode())},
        headers=headers,
    )
    assert "1 added, 0 already there, 1 rejected." in imported.text
    exported = any_api.client.get("/workspace/keywords.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "школа,city,word_forms,false,false" in exported.text


def test_charts_data_are_the_numbers_of_get_stats(any_api: Api) -> None:
    seed(any_api)
    sign_in(any_api.client, any_api.rw)
    data = any_api.client.get("/workspace/charts/data.json", params={"category": "roads"}).json()
    stats = any_api.get("/stats", params={"category": "roads"}).json()
    assert data["stats"] == stats
    assert data["group_names"] == {"100": "Group 100"}
    bad = any_api.client.get("/workspace/charts/data.json", params={"since": "x"})
    assert bad.status_code == 422
    assert "since" in bad.json()["errors"]
