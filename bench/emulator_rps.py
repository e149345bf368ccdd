"""Benchmark: emulator requests per second vs a trivial stdlib HTTP server, same client, same run.

Run: `.venv/bin/python -m bench.emulator_rps [--quick]`. Both servers run in their own
process (so the client does not share their GIL); one keep-alive `http.client` connection
per client thread sends `utils.resolveScreenName` with the rate limit and faults off.
Goal: at least 2,000 requests per second.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from parser_pipeline.emulator import Emulator, EmulatorConfig

GOAL_RPS = 2000.0
# Two client threads keep a 2-core machine busy without drowning the server process.
CLIENT_THREADS = 2
PATH = (
    "/method/utils.resolveScreenName?screen_name=gorod_novosti&access_token=emulator-token&v=5.199"
)
BASELINE_BODY = b'{"response":{"type":"page","object_id":30000560}}'


class _Trivial(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the emulator
    # headers and body go out in separate writes: without this, Nagle + delayed ACK
    # cap any keep-alive client at ~25 requests per second per connection
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(BASELINE_BODY)))
        self.end_headers()
        self.wfile.write(BASELINE_BODY)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _serve_baseline(port_out: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trivial)
    port_out.put(server.server_address[1])
    server.serve_forever()


def _serve_emulator(port_out: Any) -> None:
    import asyncio

    emu = Emulator(EmulatorConfig(scenario="small", rate_limit_per_second=None))

    async def main() -> None:
        await emu.start_async()
        port_out.put(emu.port)
        await asyncio.Event().wait()

    asyncio.run(main())


def _hammer(port: int, seconds: float) -> float:
    """Requests per second over CLIENT_THREADS keep-alive connections for `seconds`."""
    counts = [0] * CLIENT_THREADS
    deadline = time.perf_counter() + seconds

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.perf_counter() < deadline:
            conn.request("GET", PATH)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or not body.startswith(b'{"response"'):
                raise RuntimeError(f"unexpected answer {resp.status}: {body[:80]!r}")
            counts[slot] += 1
        conn.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENT_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def _measure(target: Any, seconds: float) -> float:
    ctx = multiprocessing.get_context("spawn")
    port_out = ctx.Queue()
    proc = ctx.Process(target=target, args=(port_out,), daemon=True)
    proc.start()
    try:
        port = port_out.get(timeout=60)
        _hammer(port, min(0.5, seconds / 4))  # warm up connections and caches
        return _hammer(port, seconds)
    finally:
        proc.terminate()
        proc.join(timeout=5)


def run(quick: bool) -> list[dict[str, Any]]:
    """One figure: emulator req/s, with the trivial server's req/s as the baseline."""
    seconds = 1.5 if quick else 5.0
    baseline = _measure(_serve_baseline, seconds)
    value = _measure(_serve_emulator, seconds)
    return [
        {
            "name": "emulator_rps",
            "value": round(value, 1),
            "unit": "req/s",
            "baseline": round(baseline, 1),
            "ratio": round(value / baseline, 2) if baseline else None,
            "goal": GOAL_RPS,
            "met": value >= GOAL_RPS,
        }
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short runs (about 5 s in all)")
    args = parser.parse_args()
    for figure in run(args.quick):
        print(
            f"{figure['name']}: {figure['value']} {figure['unit']} "
            f"(baseline trivial server {figure['baseline']} {figure['unit']}, "
            f"ratio {figure['ratio']}, goal >= {figure['goal']:.0f}: "
            f"{'met' if figure['met'] else 'NOT met'})"
        )
