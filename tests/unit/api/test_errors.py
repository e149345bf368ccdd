"""Error bodies and the request size limit, on a tiny app with the API's handlers (no database)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, UploadFile
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from parser_pipeline.api.errors import ApiError, install_error_handlers
from parser_pipeline.api.limits import BodySizeLimit, read_text_upload
from parser_pipeline.errors import ConfigError, NotFoundError, StorageError, VkTransportError

LIMIT = 1000


class Body(BaseModel):
    n: int = Field(ge=1)


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=LIMIT)

    @app.post("/echo")
    def echo(body: Body) -> Body:
        return body

    @app.post("/upload")
    def upload(file: UploadFile) -> dict[str, Any]:
        read = read_text_upload(file, LIMIT)
        return {"chars": len(read.text), "unreadable": [p.line for p in read.problems]}

    errors: dict[str, Exception] = {
        "notfound": NotFoundError("group 'x' is not monitored"),
        "config": ConfigError("VKPIPE_X: bad"),
        "storage": StorageError("database down"),
        "vk": VkTransportError("timeout", method="wall.get", params={"access_token": "SECRET"}),
        "api": ApiError(409, "taken", "the name is taken", {"id": 3}),
        "bug": RuntimeError("internal detail with SECRET"),
    }

    @app.get("/raise/{name}")
    def fail(name: str) -> None:
        raise errors[name]

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("notfound", 404, "not_found"),
        ("config", 422, "invalid_value"),
        ("storage", 503, "storage_unavailable"),
        ("vk", 502, "vk_error"),
        ("api", 409, "taken"),
        ("bug", 500, "internal_error"),
    ],
)
def test_errors_have_one_shape(client: TestClient, name: str, status: int, code: str) -> None:
    response = client.get(f"/raise/{name}")
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], dict)
    assert "SECRET" not in response.text


def test_validation_errors_name_the_fields(client: TestClient) -> None:
    response = client.post("/echo", json={"n": 0})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"]["fields"] == [
        {"location": "body", "field": "n", "message": "Input should be greater than or equal to 1"}
    ]
    assert error["message"].startswith("n: ")


def test_bodies_over_the_limit_get_413(client: TestClient) -> None:
    assert client.post("/echo", json={"n": 1}).status_code == 200
    big = client.post(
        "/echo", content=b"{" + b" " * LIMIT + b"}", headers={"content-type": "application/json"}
    )
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"


def test_chunked_bodies_are_cut_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"n": 1'
        for _ in range(LIMIT):
            yield b" "
        yield b"}"

    response = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_uploads_are_read_line_by_line_within_the_limit(client: TestClient) -> None:
    ok = client.post("/upload", files={"file": ("a.csv", "да,нет\n".encode(), "text/csv")})
    assert ok.json() == {"chars": 7, "unreadable": []}
    data = b"ok\n\xff\xfe\xfa\nnul\x00\nok\n"
    mixed = client.post("/upload", files={"file": ("a.csv", data, "text/csv")})
    assert mixed.json() == {"chars": len("ok\n\n\nok\n"), "unreadable": [2, 3]}
