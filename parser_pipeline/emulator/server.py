"""A lean asyncio HTTP/1.1 server for the emulator, and `run_emulator()` for tests and the demo.

One asyncio Protocol: request line + headers + Content-Length body, keep-alive by default
(HTTP/1.1), GET query and POST `application/x-www-form-urlencoded` parameters, one request
at a time per connection so answers stay in order even when a fault delays one. Why not
`http.server.ThreadingHTTPServer`: a trivial handler on it runs about as fast (both near
6,000 req/s here, see bench/emulator_rps.py), but it costs a thread per connection and a
blocked thread per slow answer, while here a slow answer is a timer and all world access
happens on the loop's one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, unquote

from .config import EmulatorConfig, FaultConfig
from .service import HTML_TYPE, Reply, VkService
from .timeline import advance as advance_world
from .truth import build_truth
from .world import World

# Guards against runaway clients: VK's own limits are far above what vkpipe sends.
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024
METHOD_PREFIX = "/method/"
# POST here starts a new quota day at once (tests, the demo, an operator trying quotas).
NEW_DAY_PATH = "/control/new-day"
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large",
            502: "Bad Gateway"}  # fmt: skip


def _response(reply: Reply, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'OK')}\r\n"
        f"Server: vkpipe-emulator\r\n"
        f"Content-Type: {reply.content_type}\r\n"
        f"Content-Length: {len(reply.body)}\r\n"
        + ("" if keep_alive else "Connection: close\r\n")
        + "\r\n"
    )
    return head.encode("latin-1") + reply.body


# A parsed request: verb, target, headers, body.
_Request = tuple[str, str, dict[str, str], bytes]


def _plain(status: int, text: str) -> Reply:
    return Reply(status, text.encode(), HTML_TYPE)


class _HttpProtocol(asyncio.Protocol):
    def __init__(self, service: VkService, renderer: Executor) -> None:
        self.service = service
        # Answers are built off the event loop: a big one (an execute of 25 wall pages is
        # 2.5 MB of JSON) would otherwise hold the loop for 100 ms, and requests arriving
        # meanwhile would be received, and judged by the rate limit, that much later.
        self.renderer = renderer
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        # a request is travelling or its answer is delayed; later requests wait for it
        self.waiting = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._drain()

    def _drain(self) -> None:
        while not self.waiting and self.transport is not None and not self.transport.is_closing():
            parsed = self._next_request()
            if parsed is None:
                return
            request, keep_alive = parsed
            uplink = self.service.uplink_delay() if not isinstance(request, Reply) else 0.0
            # VK counts a request (rate limit) when it arrives: received + its travel time, on
            # the limiter's clock. Judged by that moment, not by when this loop gets round to
            # it, so the emulator's own busy loop does not move requests closer together.
            arrived = self.service.clock() + uplink
            if uplink > 0:
                # The request is still travelling: answered once it has arrived.
                self.waiting = True
                loop = asyncio.get_running_loop()
                loop.call_later(uplink, self._arrive, request, keep_alive, arrived)
                return
            if not self._answer(request, keep_alive, arrived):
                return

    def _arrive(self, request: _Request | Reply, keep_alive: bool, arrived: float) -> None:
        self.waiting = False
        if self._answer(request, keep_alive, arrived):
            self._drain()

    def _answer(self, request: _Request | Reply, keep_alive: bool, arrived: float) -> bool:
        """Answer now, or once rendered and after the reply's delay; False while pending."""
        if isinstance(request, Reply):
            return self._reply(request, keep_alive)
        self.waiting = True
        loop = asyncio.get_running_loop()
        started = loop.time()
        rendered = loop.run_in_executor(self.renderer, self._dispatch_safely, request, arrived)
        rendered.add_done_callback(lambda done: self._rendered(done, keep_alive, started))
        return False

    def _dispatch_safely(self, request: _Request, arrived: float) -> Reply:
        try:
            return self._dispatch(*request, arrived)
        except Exception as exc:  # an emulator bug answers 500 instead of hanging the client
            return _plain(500, f"emulator error: {type(exc).__name__}")

    def _rendered(self, done: asyncio.Future[Reply], keep_alive: bool, started: float) -> None:
        self.waiting = False
        if done.cancelled():  # the emulator is stopping
            return
        if self._reply(done.result(), keep_alive, started):
            self._drain()

    def _reply(self, reply: Reply, keep_alive: bool, started: float | None = None) -> bool:
        """Send now, or once the reply's delay has passed since VK began on it (`started`): its
        latency includes building the answer, as VK's does, so the emulator's own rendering
        (one thread, for every client) only shows when it takes longer than the latency drawn.
        False while a delayed answer is pending."""
        loop = asyncio.get_running_loop()
        delay = reply.delay - (loop.time() - started if started is not None else 0.0)
        if delay > 0:
            self.waiting = True
            loop.call_later(delay, self._send_delayed, reply, keep_alive)
            return False
        self._send(reply, keep_alive)
        return True

    def _send_delayed(self, reply: Reply, keep_alive: bool) -> None:
        self.waiting = False
        self._send(reply, keep_alive)
        self._drain()

    def _send(self, reply: Reply, keep_alive: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(_response(reply, keep_alive))
        if not keep_alive:
            self.transport.close()

    def _next_request(self) -> tuple[_Request | Reply, bool] | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEADER_BYTES:
                self.buffer.clear()
                return _plain(400, "header too large"), False
            return None
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        try:
            verb, target, version = lines[0].split(" ", 2)
        except ValueError:
            self.buffer.clear()
            return _plain(400, "bad request line"), False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY_BYTES:
            self.buffer.clear()
            return _plain(413, "body too large"), False
        if len(self.buffer) < end + 4 + length:
            return None
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        conn = headers.get("connection", "").lower()
        keep_alive = conn != "close" and (version == "HTTP/1.1" or conn == "keep-alive")
        return (verb, target, headers, body), keep_alive

    def _dispatch(
        self, verb: str, target: str, headers: dict[str, str], body: bytes, arrived: float
    ) -> Reply:
        path, _, query = target.partition("?")
        if path == NEW_DAY_PATH and verb == "POST":
            self.service.new_day()
            return Reply(200, b'{"ok":true}')
        if not path.startswith(METHOD_PREFIX) or verb not in {"GET", "POST"}:
            return _plain(404, "not found")
        method = unquote(path[len(METHOD_PREFIX) :])
        params = dict(parse_qsl(query, keep_blank_values=True))
        if body and "multipart" not in headers.get("content-type", ""):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return self.service.handle(method, params, arrived_at=arrived)


class Emulator:
    """A running emulator: its URL, world, counters and controls (thread-safe)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.service = VkService(config)
        self.world: World = self.service.world
        self.host = config.host
        self.port = config.port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._renderer = ThreadPoolExecutor(1, thread_name_prefix="vk-emulator-render")

    @property
    def base_url(self) -> str:
        """What the client prefixes method names with: f"{base_url}/{method}"."""
        return f"http://{self.host}:{self.port}/method"

    async def start_async(self) -> None:
        """Listen on the running loop (used by `serve` and by the background thread)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._server = await loop.create_server(
            lambda: _HttpProtocol(self.service, self._renderer),
            self.config.host,
            self.config.port,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def start(self) -> Emulator:
        """Serve from a daemon thread; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # surfaced to the caller below
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="vk-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None or loop.is_closed():
            return

        async def shutdown() -> None:
            server.close()
            await server.wait_closed()

        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=5)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._renderer.shutdown(wait=False, cancel_futures=True)

    def probe_lag(self, every: float = 0.02) -> Callable[[], list[float]]:
        """Start measuring how late the event loop runs its timers (a request's arrival, and so
        its rate-limit verdict, is judged that late); the returned function stops the probe and
        gives each tick's lateness in seconds."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the emulator is not running")
        late: list[float] = []
        stopped = threading.Event()

        def tick(due: float) -> None:
            now = loop.time()
            late.append(now - due)
            if not stopped.is_set():
                loop.call_at(now + every, tick, now + every)

        loop.call_soon_threadsafe(lambda: tick(loop.time()))

        def stop() -> list[float]:
            stopped.set()
            return list(late)

        return stop

    # ---- controls -------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        with self.service.lock:
            return self.service.stats.snapshot()

    def reset_stats(self) -> None:
        with self.service.lock:
            self.service.stats.reset()

    def advance(self, pairs: int = 0) -> dict[str, Any]:
        """Time travel one step (see timeline.py); returns what changed. `pairs` posts besides
        gain one comment and lose another (their counts do not move)."""
        with self.service.lock:
            return advance_world(self.world, pairs)

    def pass_time(self, seconds: float) -> None:
        """Move the world's clock on without changing anything (quota days may end)."""
        with self.service.lock:
            self.world.now += int(seconds)

    def truth(self) -> dict[str, list[dict[str, Any]]]:
        """What a perfect crawl at the start and after every advance() stored (see truth.py).

        Materializes every row: use `write_truth(emu.world, fp)` for `large`.
        """
        with self.service.lock:
            return build_truth(self.world)

    def revoke_token(self, token: str) -> None:
        self.service.revoke_token(token)

    def set_faults(self, faults: FaultConfig) -> None:
        self.service.set_faults(faults)

    def set_rate_limit(self, per_second: int | None) -> None:
        with self.service.lock:
            self.service.limiter.set_limit(per_second)

    def new_day(self) -> None:
        """Start a new quota day: every token's daily quotas are whole again."""
        self.service.new_day()

    def quota_usage(self) -> dict[str, dict[str, int]]:
        """Today's counted calls by token and method."""
        with self.service.lock:
            return self.service.quotas.usage()


@contextlib.contextmanager
def run_emulator(config: EmulatorConfig | None = None) -> Iterator[Emulator]:
    """Start an emulator on a free loopback port in a daemon thread; stop it on exit."""
    emu = Emulator(config or EmulatorConfig()).start()
    try:
        yield emu
    finally:
        emu.stop()
