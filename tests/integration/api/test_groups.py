"""/groups: list (filters, sorting, pages), get, add through VK, CSV import, update, delete."""

from __future__ import annotations

from apikit import Api, add_group, vk_settings
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import update
from structlog.testing import capture_logs

from parser_pipeline.api.app import create_app
from parser_pipeline.api.limits import MAX_BODY_BYTES
from parser_pipeline.emulator import Emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import vk_groups
from parser_pipeline.vk.client import VkClient


def _fields(response: object) -> set[str]:
    details = response.json()["error"]["details"]  # type: ignore[attr-defined]
    return {f["field"] for f in details["fields"]}


def _seed(api: Api) -> None:
    for i in range(1, 8):
        add_group(api.engine, i, f"g{i}", priority=i)
    with transaction(api.engine) as connection:
        connection.execute(update(vk_groups).where(vk_groups.c.id == 2).values(is_active=False))
        connection.execute(update(vk_groups).where(vk_groups.c.id == 3).values(is_closed=1))
        connection.execute(
            update(vk_groups).where(vk_groups.c.id == 4).values(last_error="VK error 15: closed")
        )


def test_list_filters_sorts_and_pages(api: Api) -> None:
    _seed(api)
    page = api.get("/groups").json()
    assert page["total"] == 7
    assert [g["id"] for g in page["items"]] == [1, 2, 3, 4, 5, 6, 7]
    assert page["items"][0]["url"] == "https://vk.com/g1"

    def ids(query: str) -> list[int]:
        return [g["id"] for g in api.get(f"/groups?{query}").json()["items"]]

    assert ids("active=false") == [2]
    assert 2 not in ids("active=true")
    assert ids("closed=true") == [3]
    assert ids("errors=true") == [4]
    assert ids("sort=-priority&limit=3") == [7, 6, 5]
    assert ids("sort=-priority&limit=3&offset=3") == [4, 3, 2]
    last = api.get("/groups?limit=2&offset=6").json()
    assert ([g["id"] for g in last["items"]], last["total"], last["limit"]) == ([7], 7, 2)


def test_list_refuses_bad_parameters_naming_them(api: Api) -> None:
    response = api.get("/groups?sort=password&limit=0&active=maybe")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert _fields(response) == {"sort", "limit", "active"}


def test_get_by_id_or_screen_name_and_404(api: Api) -> None:
    _seed(api)
    assert api.get("/groups/5").json()["screen_name"] == "g5"
    assert api.get("/groups/G5").json()["id"] == 5
    for spelling in ("public5", "club5", "event5", "-5", "@g5"):
        assert api.get(f"/groups/{spelling}").json()["id"] == 5, spelling
    response = api.get("/groups/nosuchgroup")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_add_resolves_through_vk_then_conflicts(api: Api, emulator: Emulator) -> None:
    name, group_id = sorted(emulator.world.group_screen_names().items())[0]
    response = api.post(
        "/groups",
        json={"group": f"https://vk.com/{name}", "priority": 9, "crawl_interval_minutes": 15},
    )
    assert response.status_code == 201, response.text
    added = response.json()
    assert (added["id"], added["screen_name"], added["priority"]) == (group_id, name, 9)
    assert added["crawl_interval_minutes"] == 15

    again = api.post("/groups", json={"group": str(group_id)})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "group_exists"
    assert again.json()["error"]["details"] == {"group_id": group_id}


def test_add_refuses_what_vk_does_not_know(api: Api) -> None:
    response = api.post("/groups", json={"group": "no_such_community_here"})
    assert response.status_code == 422
    assert _fields(response) == {"group"}
    response = api.post("/groups", json={"group": "not a name!"})
    assert response.status_code == 422
    response = api.post("/groups", json={"group": "x1", "priority": 11, "colour": "red"})
    assert response.status_code == 422
    assert _fields(response) == {"priority", "colour"}


def test_import_reports_each_line(api: Api, emulator: Emulator) -> None:
    names = sorted(emulator.world.group_screen_names())
    add_group(api.engine, emulator.world.group_screen_names()[names[1]], names[1])
    csv = (
        "group,interval,priority\n"
        f"{names[0]},30,8\n"
        f"{names[1]},,\n"
        "no_such_community_here,,\n"
        f"{names[2]},0,5\n"
    )
    response = api.post("/groups/import", files={"file": ("groups.csv", csv, "text/csv")})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["added"], report["updated"], report["rejected"]) == (1, 1, 2)
    lines = {line["line"]: line for line in report["lines"]}
    assert lines[2]["status"] == "added"
    assert lines[3]["status"] == "updated"
    assert lines[4]["status"] == "rejected"
    assert "no VK community" in lines[4]["message"]
    assert lines[5]["status"] == "rejected"
    assert "crawl_interval_minutes" in lines[5]["message"]
    assert api.get(f"/groups/{names[0]}").json()["crawl_interval_minutes"] == 30


def test_uploads_over_the_limit_get_413(api: Api) -> None:
    big = "g" * (MAX_BODY_BYTES + 10)
    response = api.post("/groups/import", files={"file": ("groups.csv", big, "text/csv")})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_import_rejects_the_lines_that_are_not_text(api: Api) -> None:
    data = b"\xff\xfe\x00bad\nnot\x00a name\n"
    response = api.post("/groups/import", files={"file": ("x.csv", data, "text/csv")})
    assert response.status_code == 200
    report = response.json()
    assert [(line["line"], line["status"]) for line in report["lines"]] == [
        (1, "rejected"),
        (2, "rejected"),
    ]
    assert "not UTF-8" in report["lines"][0]["message"]
    assert "NUL" in report["lines"][1]["message"]


def test_update_changes_only_what_is_sent(api: Api) -> None:
    _seed(api)
    response = api.patch("/groups/g5", json={"priority": 2, "max_post_age_days": 30})
    assert response.status_code == 200
    group = response.json()
    assert (group["priority"], group["max_post_age_days"], group["is_active"]) == (2, 30, True)
    group = api.patch("/groups/5", json={"is_active": False, "max_post_age_days": None}).json()
    assert (group["priority"], group["max_post_age_days"], group["is_active"]) == (2, None, False)

    bad = api.patch("/groups/5", json={"crawl_interval_minutes": 0, "priority": None})
    assert bad.status_code == 422
    assert _fields(bad) == {"crawl_interval_minutes", "priority"}
    assert _fields(api.patch("/groups/5", json={"priority": None})) == {"priority"}
    assert api.patch("/groups/404", json={"priority": 3}).status_code == 404


def test_delete_stops_monitoring(api: Api) -> None:
    _seed(api)
    assert api.delete("/groups/g6").status_code == 204
    assert api.get("/groups/6").status_code == 404
    assert api.delete("/groups/g6").status_code == 404
    assert api.get("/groups").json()["total"] == 6


def test_a_vk_failure_never_shows_or_logs_the_token(api: Api, emulator: Emulator) -> None:
    secret = "vk1.a.this-token-is-secret-and-unknown-to-the-emulator"
    settings = vk_settings(emulator, api.database_url).model_copy(
        update={"vk_tokens": (SecretStr(secret),), "vk_max_attempts": 2}
    )
    app = create_app(settings, engine=api.engine, make_vk=lambda: VkClient.from_settings(settings))
    with capture_logs() as logs, TestClient(app) as client:
        response = client.post("/groups", headers=api.rw, json={"group": "apiclub"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "vk_error"
    assert secret not in response.text
    assert secret[-12:] not in repr(logs)


def test_without_vk_tokens_group_adds_are_unavailable(api: Api) -> None:
    app = create_app(load_settings(database_url=api.database_url), engine=api.engine)
    with TestClient(app) as client:
        response = client.post("/groups", headers=api.rw, json={"group": "apiclub"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "vk_unavailable"
        assert client.get("/groups", headers=api.rw).status_code == 200
