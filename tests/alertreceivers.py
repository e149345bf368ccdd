"""Local receivers for alert tests: a webhook server that verifies Standard Webhooks signatures,
a fake Telegram Bot API, and an SMTP server (aiosmtpd). Each records what it took."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_dGVzdC1zZWNyZXQtbnVtYmVyLXR3by0xMjM0NTY="
BOT_TOKEN = "123456:TEST-bot-token-abcdefghijklmnop"


@dataclass
class Behaviour:
    """What the server answers: `status` for the next `times` requests (None: for ever), then
    its normal answer; optional Retry-After seconds."""

    status: int = 200
    times: int | None = 0
    retry_after: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self) -> tuple[int, int | None]:
        with self.lock:
            if self.times is None:
                return self.status, self.retry_after
            if self.times > 0:
                self.times -= 1
                return self.status, self.retry_after
            return 200, None

    def fail(self, status: int, times: int | None, retry_after: int | None = None) -> None:
        with self.lock:
            self.status, self.times, self.retry_after = status, times, retry_after


class WebhookReceiver:
    """Takes POSTs, verifies the signature with `standardwebhooks`, keeps a deduplicated view."""

    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        self.verifier = Webhook(secret)
        self.behaviour = Behaviour()
        self.lock = threading.Lock()
        self.requests = 0
        self.bad_signatures = 0
        self.received: list[str] = []  # delivery ids, every 2xx answer, duplicates included
        self.by_id: dict[str, dict[str, Any]] = {}  # the deduplicated view
        self.url = ""
        # While `hold` is set, requests wait at the door until `release` (a sender mid-delivery).
        self.hold = threading.Event()
        self.release = threading.Event()
        self.in_flight = 0

    def handle(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.requests += 1
        if self.hold.is_set():
            with self.lock:
                self.in_flight += 1
            self.release.wait(timeout=120)
            with self.lock:
                self.in_flight -= 1
        try:
            payload = self.verifier.verify(body, headers)
        except WebhookVerificationError:
            with self.lock:
                self.bad_signatures += 1
            return 401, {}
        status, retry_after = self.behaviour.next()
        if status >= 300:
            return status, {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self.lock:
            self.received.append(headers["webhook-id"])
            self.by_id.setdefault(headers["webhook-id"], payload)
        return 204, {}

    def comment_keys(self) -> list[tuple[int, int]]:
        """Every comment in the deduplicated view's deliveries."""
        return sorted(
            (c["owner_id"], c["comment_id"])
            for payload in self.by_id.values()
            for c in payload["data"]["comments"]
        )


class FakeTelegram:
    """The Bot API's sendMessage for one token; records chat ids and texts."""

    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.behaviour = Behaviour()
        self.lock = threading.Lock()
        self.messages: list[tuple[str, str]] = []
        self.url = ""

    def handle(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if path != f"/bot{self.token}/sendMessage":
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        status, retry_after = self.behaviour.next()
        if status == 429:
            return 429, {"ok": False, "error_code": 429,
                         "description": f"Too Many Requests: retry after {retry_after}",
                         "parameters": {"retry_after": retry_after}}  # fmt: skip
        if status >= 300:
            return status, {"ok": False, "error_code": status, "description": "Bad Gateway"}
        data = json.loads(body)
        text = data["text"]
        if len(text) > 4096:
            return 400, {"ok": False, "error_code": 400, "description": "message is too long"}
        with self.lock:
            self.messages.append((str(data["chat_id"]), text))
        return 200, {"ok": True, "result": {"message_id": len(self.messages)}}


def _server(target: WebhookReceiver | FakeTelegram) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if isinstance(target, WebhookReceiver):
                status, headers = target.handle(body, dict(self.headers.items()))
                answer = b""
            else:
                status, data = target.handle(self.path, body)
                headers, answer = {"content-type": "application/json"}, json.dumps(data).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@contextmanager
def serving(target: WebhookReceiver | FakeTelegram) -> Iterator[str]:
    """Serve `target` on a free loopback port; yields its base URL."""
    server = _server(target)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    target.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield target.url
    finally:
        server.shutdown()
        server.server_close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (openssl), which is also its own CA."""
    cert, key = directory / "smtp.pem", directory / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class _Password:
    """aiosmtpd's authenticator: one login and password."""

    def __init__(self, login: str, password: str) -> None:
        self.login, self.password = login.encode(), password.encode()

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            self.login, self.password)  # fmt: skip
        return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(
    security: str = "none",
    cert: tuple[Path, Path] | None = None,
    login: tuple[str, str] | None = None,
) -> Iterator[tuple[int, list[EmailMessage]]]:
    """A local SMTP server: plain, STARTTLS (required) or TLS from the start with `cert`, with
    AUTH for `login` (only over TLS); yields its port and the messages it took."""
    mailbox = _Mailbox()
    # aiosmtpd connects to its own port to see it is up, so it needs a real port number.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    context = None
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    options: dict[str, Any] = {}
    if security == "starttls":
        options.update(tls_context=context, require_starttls=True)
    if login is not None:
        options.update(authenticator=_Password(*login), auth_required=True)
        # aiosmtpd counts only STARTTLS as TLS; a TLS-from-the-start server is TLS all along.
        options.update(auth_require_tls=security != "tls")
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port,
        ssl_context=context if security == "tls" else None, **options,
    )  # fmt: skip
    controller.start()
    try:
        yield port, mailbox.messages
    finally:
        controller.stop()
