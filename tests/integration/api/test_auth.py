"""Auth: no key, a wrong key, a revoked key get 401 everywhere but the health probes (whose
anonymous answer is verdicts only); read-only keys 403."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from apikit import Api
from sqlalchemy import select

from parser_pipeline.store import api_keys as keys
from parser_pipeline.store.schema import api_keys

# POST endpoints that change nothing, so a read-only key may call them.
READ_ONLY_POSTS = {"/keywords/test"}
# Probes answer without a key: liveness, and readiness as verdicts only (test_health.py).
PUBLIC = {"/health/live", "/health/ready"}
WRITES = [
    ("POST", "/groups"),
    ("PATCH", "/groups/1"),
    ("DELETE", "/groups/1"),
    ("POST", "/groups/import"),
    ("POST", "/keywords"),
    ("PATCH", "/keywords/1"),
    ("DELETE", "/keywords/1"),
    ("POST", "/keywords/import"),
    ("POST", "/jobs"),
    ("POST", "/jobs/1/cancel"),
    ("POST", "/exports"),
    ("PATCH", "/comments/1/1/review"),
    ("POST", "/reviews"),
    ("POST", "/alerts"),
    ("POST", "/alerts/1/pause"),
    ("POST", "/alerts/1/resume"),
    ("POST", "/alerts/1/test"),
    ("DELETE", "/alerts/1"),
]


def _routes(api: Api) -> list[tuple[str, str]]:
    """(method, concrete path) of every endpoint in the OpenAPI schema, parameters filled in."""
    found: list[tuple[str, str]] = []
    for template, operations in api.app.openapi()["paths"].items():
        path = re.sub(r"\{[^}]+\}", "1", template)
        found.extend((method.upper(), path) for method in sorted(operations))
    return found


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


def test_every_endpoint_but_the_health_probes_needs_a_key(api: Api) -> None:
    routes = _routes(api)
    assert len(routes) >= 25
    for method, path in routes:
        response = api.client.request(method, path)
        if path in PUBLIC:
            assert response.status_code == 200, path
            continue
        assert response.status_code == 401, (method, path, response.text)
        assert _error(response)["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer vkp_000000000000_not-a-real-secret"},
        {"X-API-Key": "nonsense"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_a_wrong_key_is_refused(api: Api, headers: dict[str, str]) -> None:
    response = api.client.get("/groups", headers=headers)
    assert response.status_code == 401
    assert _error(response)["code"] in {"invalid_api_key", "unauthorized"}


def test_a_key_with_a_wrong_secret_is_refused(api: Api) -> None:
    good = api.rw["Authorization"].removeprefix("Bearer ")
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    response = api.client.get("/groups", headers={"X-API-Key": forged})
    assert response.status_code == 401
    assert _error(response)["code"] == "invalid_api_key"


def test_both_headers_work_and_read_only_keys_read(api: Api) -> None:
    assert api.client.get("/groups", headers=api.rw).status_code == 200
    assert api.client.get("/groups", headers=api.ro).status_code == 200
    ro_as_bearer = {"Authorization": f"Bearer {api.ro['X-API-Key']}"}
    assert api.client.get("/keywords", headers=ro_as_bearer).status_code == 200


def test_a_read_only_key_cannot_change_anything(api: Api) -> None:
    writes = [(m, p) for m, p in _routes(api) if m != "GET" and p not in READ_ONLY_POSTS]
    assert sorted(writes) == sorted(WRITES)
    for method, path in writes:
        response = api.client.request(method, path, headers=api.ro, json={})
        assert response.status_code == 403, (method, path, response.text)
        assert _error(response)["code"] == "read_only_key"
    response = api.client.post("/keywords/test", headers=api.ro, json={"text": "дорога"})
    assert response.status_code == 200


def test_a_revoked_key_stops_working_at_once(api: Api) -> None:
    created = keys.create_key(api.engine, "temp", read_only=True, now=datetime.now(UTC))
    headers = {"X-API-Key": created.key}
    assert api.client.get("/groups", headers=headers).status_code == 200
    keys.revoke_key(api.engine, "temp", datetime.now(UTC))
    response = api.client.get("/groups", headers=headers)
    assert response.status_code == 401


def test_keys_are_stored_hashed_and_their_use_recorded(api: Api) -> None:
    secret = api.rw["Authorization"].removeprefix("Bearer ")
    api.client.get("/groups", headers=api.rw)
    with api.engine.connect() as connection:
        rows = connection.execute(select(api_keys)).all()
    for row in rows:
        assert secret not in {str(v) for v in row}
    writer = next(r for r in rows if r.name == "writer")
    assert writer.secret_hash == keys.hash_key(secret)
    assert writer.last_used_at is not None


def test_openapi_schema_and_docs_are_served(api: Api) -> None:
    schema = api.get("/openapi.json").json()
    assert schema["info"]["title"] == "vkpipe"
    assert "/comments" in schema["paths"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schema["components"]["securitySchemes"])
    assert api.client.get("/docs", headers=api.rw).status_code == 200
