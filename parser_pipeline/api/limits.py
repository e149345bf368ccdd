"""Request size limits: bodies over MAX_BODY_BYTES get 413 before they are read into memory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from fastapi import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parser_pipeline.api.errors import ApiError
from parser_pipeline.groups_import import ImportProblem, readable_lines

# 5 MiB: a CSV of 100,000 groups or keywords is about 2 MB, and no JSON request of this API
# comes near it. Anything larger is a mistake or an attack; it never reaches the parsers.
MAX_BODY_BYTES: Final = 5 * 1024 * 1024


def _message(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


class _TooLarge(HTTPException):
    """Raised from `receive`: an HTTPException, so FastAPI's body parsing passes it on and the
    error handlers render it like every other error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _message(limit))


def _too_large_body(limit: int) -> bytes:
    error = {"code": "payload_too_large", "message": _message(limit), "details": {}}
    return json.dumps({"error": error}).encode()


class BodySizeLimit:
    """ASGI middleware: refuse a declared Content-Length over the limit at once, and stop a
    chunked body as soon as it passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = _too_large_body(self.max_bytes)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True, slots=True)
class Upload:
    """An uploaded CSV's text and the lines that could not be read (not UTF-8, or a NUL)."""

    text: str
    problems: list[ImportProblem]


def read_text_upload(file: UploadFile, max_bytes: int = MAX_BODY_BYTES) -> Upload:
    """An uploaded text file (UTF-8, a BOM allowed), line by line; 413 over the limit."""
    data = file.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApiError(
            413,
            "payload_too_large",
            f"the file is larger than {max_bytes} bytes",
        )
    text, problems = readable_lines(data)
    return Upload(text, problems)
