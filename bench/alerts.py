"""Benchmark: how fast an alert reaches a webhook, and how many deliveries a second one process
sends.

Run: `.venv/bin/python -m bench alerts [--quick]` (needs PostgreSQL and Redis, as bench/e2e.py;
the fleet's broker is database 5 of `VKPIPE_BENCH_REDIS_URL`'s server, flushed before and
after).

- `alerts_delay_p50_s`, `alerts_delay_p95_s`: a fleet with default alert settings (a fetch,
  a dispatch, an analyze and a notify worker, beat) crawls the emulator's `small` world, then
  again after it moved on, with an instant rule on every comment naming the mayor. Each
  comment's delay is from its `first_seen_at` (stored) to the moment a local webhook receiver
  took the delivery that carried it. Baseline: the same comments' delay from stored to
  analyzed (`analyzed_at`), the stage alerts follow. Goal: p95 ≤ 5 s.
- `alerts_deliveries_per_s`: `deliver_due` in this process sends outbox rows (one comment each,
  signed) to a local receiver over loopback. Baseline: the same number of signed POSTs of the
  same bodies sent by a plain `requests` loop (the floor: HTTP and signing, no database).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, insert, select

from bench.e2e import job_span
from bench.fleet import Fleet, fleet_environment, register_all
from bench.pgscratch import admin_url, scratch_database
from bench.services import flushed_redis
from parser_pipeline.alerts import store as alert_store
from parser_pipeline.alerts.channels import Sender, sign, webhook_body
from parser_pipeline.alerts.delivery import deliver_due
from parser_pipeline.alerts.rules import AlertRuleSpec
from parser_pipeline.analyze.rules import make_spec
from parser_pipeline.analyze.store import add_keywords
from parser_pipeline.emulator import EmulatorConfig, run_emulator
from parser_pipeline.orchestration.requests import request_crawl
from parser_pipeline.settings import load_settings
from parser_pipeline.store.engine import make_engine, transaction
from parser_pipeline.store.schema import alert_deliveries, alert_rules, vk_comments

REDIS_DB = 5  # of the benchmarks' Redis server (bench/services.py)
TOKENS = ("bench-alerts-token-1", "bench-alerts-token-2", "bench-alerts-token-3")
SECRET = "whsec_YmVuY2gtYWxlcnRzLXNpZ25pbmctc2VjcmV0LTAx"
MAYOR = re.compile(r"\bмэр(а|у|ом|е)?\b", re.IGNORECASE)
GOAL_P95_SECONDS = 5.0
DELIVERIES, QUICK_DELIVERIES = 1000, 200
DEADLINE_SECONDS = 300.0
POLL_SECONDS = 0.2


class Receiver:
    """A webhook receiver on loopback: the arrival time of each delivery id (first arrival)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived: dict[str, tuple[float, dict[str, Any]]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                moment = time.time()
                with receiver.lock:
                    receiver.arrived.setdefault(
                        self.headers["webhook-id"], (moment, json.loads(body))
                    )
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @contextmanager
    def serving(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _add_rule(engine: Engine, url: str) -> None:
    with transaction(engine) as connection:
        add_keywords(connection, [make_spec("мэр", "")])
        spec = AlertRuleSpec.model_validate(
            {"name": "mayor", "filter": {"keywords": ["мэр"]},
             "channels": [{"kind": "webhook", "target": url}]}
        )  # fmt: skip
        alert_store.add_rule(connection, spec, datetime.now(UTC))


def _fleet_env(database_url: str, emulator_url: str, redis_url: str) -> dict[str, str]:
    return fleet_environment(
        database_url=database_url,
        broker_url=redis_url,
        limiter_url=redis_url,
        vk_api_url=emulator_url,
        tokens=TOKENS,
        settings={
            "vk_rps_per_token": "100",
            "dispatch_interval_seconds": "1",
            "alerts_webhook_secrets": SECRET,
            "log_level": "WARNING",
        },
    )


def _expected(engine: Engine) -> dict[tuple[int, int], tuple[datetime, datetime | None]]:
    c = vk_comments.c
    query = select(c.owner_id, c.comment_id, c.text, c.first_seen_at, c.analyzed_at)
    with engine.connect() as connection:
        return {
            (r.owner_id, r.comment_id): (r.first_seen_at, r.analyzed_at)
            for r in connection.execute(query)
            if MAYOR.search(r.text)
        }


def _wait_delivered(receiver: Receiver, engine: Engine, fleet: Fleet) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        expected = set(_expected(engine))
        with receiver.lock:
            got = {(c["owner_id"], c["comment_id"]) for _, p in receiver.arrived.values()
                   for c in p["data"]["comments"]}  # fmt: skip
        if expected and expected <= got:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"alerts not delivered\n{fleet.logs()}")
        time.sleep(POLL_SECONDS)


def fleet_delay() -> dict[str, float]:
    """Per comment naming the mayor: stored → delivered and stored → analyzed, in seconds."""
    config = EmulatorConfig(scenario="small", seed=5, tokens=TOKENS, rate_limit_per_second=None)
    receiver = Receiver()
    with (
        run_emulator(config) as emu,
        flushed_redis(REDIS_DB) as redis_url,
        scratch_database(admin_url(), "vkpipe_bench_alerts") as url,
        receiver.serving(),
        tempfile.TemporaryDirectory(prefix="vkpipe-bench-alerts-") as workdir,
    ):
        engine = make_engine(url)
        _add_rule(engine, receiver.url)
        fleet = Fleet(_fleet_env(url, emu.base_url, redis_url), Path(workdir))
        try:
            fleet.worker("fetch1", "fetch", "-P", "threads", "-c", "4")
            fleet.worker("dispatch", "dispatch", "-P", "threads", "-c", "2")
            fleet.worker("analyze", "analyze", "-P", "threads", "-c", "2")
            fleet.worker("notify", "notify", "-P", "threads", "-c", "4")
            fleet.beat()
            groups = register_all(engine, emu, TOKENS)
            _wait_crawled(engine, groups, fleet)
            _wait_delivered(receiver, engine, fleet)
            emu.advance(pairs=4)
            names = sorted(emu.world.group_screen_names())
            request_crawl(engine, names, requested_by="cli", now=datetime.now(UTC))
            _wait_crawled(engine, 2 * groups, fleet)
            _wait_delivered(receiver, engine, fleet)
        finally:
            fleet.stop()
        expected = _expected(engine)
        engine.dispose()
    arrived: dict[tuple[int, int], float] = {}
    for moment, payload in receiver.arrived.values():
        for c in payload["data"]["comments"]:
            arrived.setdefault((c["owner_id"], c["comment_id"]), moment)
    delays = [arrived[k] - stored.timestamp() for k, (stored, _) in expected.items()]
    analyzed = [a.timestamp() - s.timestamp() for s, a in expected.values() if a is not None]
    return {
        "p50": statistics.median(delays),
        "p95": _percentile(delays, 0.95),
        "analyzed_p50": statistics.median(analyzed),
        "analyzed_p95": _percentile(analyzed, 0.95),
        "comments": float(len(delays)),
    }


def _wait_crawled(engine: Engine, jobs: int, fleet: Fleet) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while job_span(engine, jobs) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the crawl did not finish\n{fleet.logs()}")
        time.sleep(POLL_SECONDS)


def deliveries_per_second(count: int) -> dict[str, float]:
    """deliver_due over `count` outbox rows, and the floor: the same signed POSTs in a loop."""
    settings = load_settings(alerts_webhook_secrets=SECRET)
    receiver = Receiver()
    with receiver.serving(), scratch_database(admin_url(), "vkpipe_bench_alerts") as url:
        engine = make_engine(url)
        _add_rule(engine, receiver.url)
        now = datetime.now(UTC)
        with transaction(engine) as connection:
            rule_id = connection.execute(select(alert_rules.c.id)).scalar_one()
            payload = {"type": "alert.instant", "timestamp": now.isoformat(),
                       "data": {"rule": {"id": rule_id, "name": "mayor", "mode": "instant"},
                                "count": 1, "comments": [{"owner_id": -1, "comment_id": 1,
                                "text": "Когда уже мэр займётся дорогой?" * 3}]}}  # fmt: skip
            rows = [
                {"delivery_id": f"msg_bench{i}", "rule_id": rule_id, "channel": "webhook",
                 "target": receiver.url, "payload": payload, "created_at": now,
                 "next_attempt_at": now}
                for i in range(count)
            ]  # fmt: skip
            connection.execute(insert(alert_deliveries), rows)
        started = time.perf_counter()
        summary = deliver_due(engine, settings, Sender(settings))
        ours = time.perf_counter() - started
        engine.dispose()
        if summary.delivered != count:
            raise RuntimeError(f"delivered {summary.delivered} of {count}")
        session = requests.Session()
        started = time.perf_counter()
        for i in range(count):
            delivery_id = f"msg_floor{i}"
            body = webhook_body(delivery_id, payload)
            moment = datetime.now(UTC)
            answer = session.post(
                receiver.url,
                data=body.encode(),
                headers={"content-type": "application/json", "webhook-id": delivery_id,
                         "webhook-timestamp": str(int(moment.timestamp())),
                         "webhook-signature": sign([SECRET], delivery_id, moment, body)},
                timeout=10,
            )  # fmt: skip
            answer.raise_for_status()
        floor = time.perf_counter() - started
    return {"ours": count / ours, "floor": count / floor}


def run(quick: bool) -> list[dict[str, Any]]:
    rate = deliveries_per_second(QUICK_DELIVERIES if quick else DELIVERIES)
    delay = fleet_delay()
    figures = [
        {
            "name": f"alerts_delay_{q}_s",
            "value": round(delay[q], 3),
            "unit": "s (stored → webhook)",
            "baseline": round(delay[f"analyzed_{q}"], 3),
            "baseline_unit": "s (stored → analyzed)",
            "ratio": round(delay[q] / max(delay[f"analyzed_{q}"], 1e-3), 2),
            "goal": f"≤ {GOAL_P95_SECONDS} s" if q == "p95" else None,
            "met": delay[q] <= GOAL_P95_SECONDS if q == "p95" else None,
            "detail": (
                f"{int(delay['comments'])} comments naming the mayor over two crawls of the "
                f"small world: stored → webhook p50 {delay['p50']:.2f} s, p95 "
                f"{delay['p95']:.2f} s; stored → analyzed p50 {delay['analyzed_p50']:.2f} s, "
                f"p95 {delay['analyzed_p95']:.2f} s"
            ),
        }
        for q in ("p50", "p95")
    ]
    figures.append(
        {
            "name": "alerts_deliveries_per_s",
            "value": round(rate["ours"], 1),
            "unit": "deliveries/s (one process)",
            "baseline": round(rate["floor"], 1),
            "baseline_unit": "signed POSTs/s (a requests loop)",
            "ratio": round(rate["ours"] / rate["floor"], 2),
            "goal": None,
            "met": None,
            "detail": (
                f"deliver_due: {rate['ours']:.0f}/s; the same signed POSTs in a loop: "
                f"{rate['floor']:.0f}/s (loopback receiver, PostgreSQL outbox)"
            ),
        }
    )
    return figures


if __name__ == "__main__":
    for figure in run("--quick" in sys.argv):
        print(figure["detail"])
