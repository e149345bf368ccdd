"""`vkpipe alerts` in-process on SQLite: add, list, show, test, pause, resume, history, remove."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from alertreceivers import WEBHOOK_SECRET, WebhookReceiver, serving
from analysisdata import add_rule, comment, store_comments
from parser_pipeline.analyze.service import RuleCache, analyze_comments
from parser_pipeline.cli.base import run
from parser_pipeline.store.engine import make_engine

CHAT = "-1009876543210"


@pytest.fixture
def database(migrated_sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = migrated_sqlite_url
    monkeypatch.setenv("VKPIPE_DATABASE_URL", url)
    monkeypatch.setenv("VKPIPE_ALERTS_WEBHOOK_SECRETS", WEBHOOK_SECRET)
    monkeypatch.setenv("COLUMNS", "200")
    return url


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    with serving(receiver):
        yield receiver


def vkpipe(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, list[str]]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err.strip().splitlines()


def test_the_rule_lifecycle(
    database: str, webhook: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = f"{webhook.url}/hook?token=query-secret"
    code, out, _ = vkpipe(
        capsys, "alerts", "add", "mayor", "-C", f"webhook:{hook}", "-C", f"telegram:{CHAT}",
        "--matched-only", "--cooldown", "60", "--quiet-hours", "22:00-07:00",
    )  # fmt: skip
    assert code == 0
    assert "added alert rule 1 'mayor' (instant)" in out
    assert CHAT not in out
    assert "query-secret" not in out

    code, out, _ = vkpipe(capsys, "alerts", "list")
    assert code == 0
    assert "mayor" in out
    assert "telegram:…3210" in out
    assert CHAT not in out

    code, out, _ = vkpipe(capsys, "alerts", "show", "mayor")
    shown = json.loads(out)
    assert shown["channels"] == [f"webhook:{webhook.url}/hook", "telegram:…3210"]
    assert shown["filter"] == {"matched_only": True}
    assert shown["quiet_hours"] == "22:00-07:00"

    # the webhook takes the sample (its signature verified), Telegram has no token: exit 1
    code, out, _ = vkpipe(capsys, "alerts", "test", "mayor")
    assert code == 1
    assert f"webhook:{webhook.url}/hook: ok" in out
    assert (
        "telegram:…3210: FAILED: telegram: no bot token; set VKPIPE_ALERTS_TELEGRAM_BOT_TOKEN"
        in out
    )
    assert webhook.bad_signatures == 0
    ((payload),) = webhook.by_id.values()
    assert payload["type"] == "alert.test"

    assert vkpipe(capsys, "alerts", "pause", "1")[1].startswith("paused alert rule 1 'mayor'")
    assert "paused" in vkpipe(capsys, "alerts", "list")[1]
    assert "from now" in vkpipe(capsys, "alerts", "resume", "mayor")[1]
    code, out, _ = vkpipe(capsys, "alerts", "history", "mayor")
    assert (code, out.strip()) == (0, "no deliveries")
    assert "removed alert rule 1" in vkpipe(capsys, "alerts", "remove", "mayor")[1]
    assert "no alert rules" in vkpipe(capsys, "alerts", "list")[1]


def test_history_shows_deliveries_and_a_pass_delivers_them(
    database: str, webhook: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(database)
    add_rule(engine, "мэр")
    code, _, errors = vkpipe(
        capsys, "alerts", "add", "mayor", "-C", f"webhook:{webhook.url}/h", "--keyword", "мэр",
        "--since", "2026-01-01",
    )  # fmt: skip
    assert code == 0, errors
    store_comments(engine, [comment(1, "мэр"), comment(2, "нет")])
    analyze_comments(engine, cache=RuleCache())
    engine.dispose()
    code, out, _ = vkpipe(capsys, "alerts", "history", "--json")
    (row,) = json.loads(out)
    assert (row["status"], row["comments"], row["type"]) == ("pending", 1, "alert.instant")
    code, out, _ = vkpipe(capsys, "alerts", "deliver")
    assert "1 delivered" in out
    assert webhook.comment_keys() == [(-100, 1)]
    code, out, _ = vkpipe(capsys, "alerts", "history", "--status", "delivered")
    assert "delivered" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "x", "-C", "sms:123"], "channel 'sms:123' is not webhook:<URL>"),
        (["add", "x", "-C", "webhook:ftp://h/x"], "a webhook target is an http(s) URL"),
        (["add", "x", "-C", "email:nobody"], "an email target is an address"),
        (["add", "x", "-C", f"telegram:{CHAT}", "--quiet-hours", "soon"], "quiet hours 'soon'"),
        (
            ["add", "x", "-C", f"telegram:{CHAT}", "--keyword", "nope"],
            "keyword 'nope' does not exist",
        ),
        (["add", "x", "-C", f"telegram:{CHAT}", "--mode", "digest", "--at", "9pm"], "--at '9pm'"),
        (["show", "ghost"], "alert rule 'ghost' does not exist; see `vkpipe alerts list`"),
        (["history", "--status", "lost"], "unknown delivery status 'lost'"),
    ],
)
def test_bad_input_is_one_line_naming_it(
    database: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, errors = vkpipe(capsys, "alerts", *args)
    assert code != 0
    assert len(errors) == 1, errors
    assert errors[0].startswith("vkpipe: error: ")
    assert message in errors[0]


def test_a_taken_name_is_refused(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert vkpipe(capsys, "alerts", "add", "x", "-C", f"telegram:{CHAT}")[0] == 0
    code, _, errors = vkpipe(capsys, "alerts", "add", "x", "-C", f"telegram:{CHAT}")
    assert code == 2
    assert errors == ["vkpipe: error: alert rule 'x' exists; pick another name or remove it first"]


def test_secret_prints_a_standard_webhooks_secret(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = vkpipe(capsys, "alerts", "secret")
    assert code == 0
    assert out.startswith("whsec_")
    assert len(out.strip()) > 40
