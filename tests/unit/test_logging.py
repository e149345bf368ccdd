"""Logging: one configuration, JSON or console lines, and no secret ever reaches the output."""

from __future__ import annotations

import io
import json
import logging

import structlog

from parser_pipeline.logging import SecretRedactor, bind_context, clear_context, configure_logging

TOKEN = "vk1.a.LOGGING-SECRET-5d8e41"


def _capture(log_format: str) -> tuple[io.StringIO, structlog.stdlib.BoundLogger]:
    stream = io.StringIO()
    configure_logging(
        level="DEBUG",
        log_format=log_format,
        secrets=[TOKEN, "pg-pass-1"],
        stream=stream,  # type: ignore[arg-type]
    )
    return stream, structlog.get_logger("test")


def test_token_never_reaches_json_output() -> None:
    stream, log = _capture("json")
    log.info("vk.request", url=f"https://api.vk.ru/method/wall.get?access_token={TOKEN}&v=5.199")
    log.warning("vk.token_problem", token=TOKEN, nested={"list": [TOKEN, 1]})
    try:
        raise RuntimeError(f"request failed with token {TOKEN}")
    except RuntimeError:
        log.exception("vk.failed")
    logging.getLogger("urllib3.connectionpool").warning("GET /method/x?access_token=%s", TOKEN)
    logging.getLogger("kombu").error("broker postgresql://user:pg-pass-1@db/x down")
    output = stream.getvalue()
    assert TOKEN not in output
    assert "pg-pass-1" not in output
    lines = [json.loads(line) for line in output.splitlines()]
    assert [line["event"] for line in lines][:3] == ["vk.request", "vk.token_problem", "vk.failed"]
    assert "access_token=***" in lines[0]["url"]
    assert lines[1]["token"] == "***"
    assert "RuntimeError: request failed with token ***" in lines[2]["exception"]
    assert lines[3]["event"] == "GET /method/x?access_token=***"
    assert lines[4]["event"] == "broker postgresql://user:***@db/x down"


def test_unknown_token_shaped_values_are_redacted_too() -> None:
    redactor = SecretRedactor()
    text = 'POST access_token=abc123&v=5.199 {"access_token": "zz9"}'
    assert redactor.redact_text(text) == 'POST access_token=***&v=5.199 {"access_token": "***"}'


def test_console_format_is_readable_lines() -> None:
    stream, log = _capture("console")
    log.info("crawl.started", group_id=1)
    line = stream.getvalue().strip()
    assert "crawl.started" in line
    assert "group_id=1" in line
    assert not line.startswith("{")


def test_bound_context_appears_on_every_line() -> None:
    stream, log = _capture("json")
    bind_context(task_id="t-1", job_id=7)
    try:
        log.info("a")
        log.info("b")
    finally:
        clear_context()
    log.info("c")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(x.get("task_id"), x.get("job_id")) for x in lines] == [
        ("t-1", 7),
        ("t-1", 7),
        (None, None),
    ]
