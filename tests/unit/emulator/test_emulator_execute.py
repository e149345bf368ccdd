"""Contract: the `execute` subset: parsing, the 25-call cap, inner failures, one request each."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from emulator_refcrawl import Client

from parser_pipeline.emulator import Emulator, FaultConfig
from parser_pipeline.emulator.execute import MAX_CALLS, parse
from parser_pipeline.emulator.params import VkApiError


def test_parse_quoted_and_bare_keys_and_values() -> None:
    program = parse(
        'return [API.wall.get({"owner_id": -1, count: 5, "filter": \'all\'}),'
        " API.users.get({user_ids: [1, 2], extended: true, skip: null})];"
    )
    assert program.as_list
    assert [(c.method, c.params) for c in program.calls] == [
        ("wall.get", {"owner_id": "-1", "count": "5", "filter": "all"}),
        ("users.get", {"user_ids": "1,2", "extended": "1"}),
    ]
    single = parse('return API.utils.resolveScreenName({"screen_name": "ёжик"})')
    assert not single.as_list
    assert single.calls[0].params == {"screen_name": "ёжик"}
    assert parse("return [];").calls == ()


@pytest.mark.parametrize(
    "code",
    [
        "var a = 1; return a;",
        "return [API.wall.get({})",
        "return API.wall.get({});;",
        "return [API.wall.get({owner_id: -1} + 1)];",
        "API.wall.get({});",
        "return [API({})];",
        "return [API.wall.get({'a': })];",
        "while (true) {}",
    ],
)
def test_parse_rejects_everything_else_with_error_12(code: str) -> None:
    with pytest.raises(VkApiError) as info:
        parse(code)
    assert info.value.code == 12


def _code(calls: list[tuple[str, dict[str, Any]]]) -> str:
    inner = ",".join(f"API.{m}({json.dumps(p, ensure_ascii=False)})" for m, p in calls)
    return f"return [{inner}];"


def test_execute_answers_in_order_with_inner_failures(small_emu: Emulator, vk: Client) -> None:
    gid = small_emu.world.group_screen_names()["gorod_novosti"]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("utils.resolveScreenName", {"screen_name": "gorod_novosti"}),
        ("wall.get", {"domain": "zakrytyi_klub"}),
        ("wall.get", {"owner_id": -gid, "count": 2}),
        ("wall.get", {"owner_id": -gid, "count": 500}),
        ("no.suchMethod", {}),
    ]
    small_emu.reset_stats()
    body = vk.answer("execute", {"code": _code(calls)})
    response = body["response"]
    assert response[0] == {"type": "page", "object_id": gid}
    assert response[1] is False
    assert response[3] is False
    assert response[4] is False
    assert len(response[2]["items"]) == 2
    assert [(e["method"], e["error_code"]) for e in body["execute_errors"]] == [
        ("wall.get", 15),
        ("wall.get", 100),
        ("no.suchMethod", 3),
    ]
    assert all(set(e) == {"method", "error_code", "error_msg"} for e in body["execute_errors"])
    stats = small_emu.stats()
    assert stats["requests_by_method"] == {"execute": 1}
    assert stats["execute_inner_calls"] == len(calls)


def test_execute_single_call_and_no_errors_key(vk: Client) -> None:
    body = vk.answer(
        "execute", {"code": 'return API.utils.resolveScreenName({"screen_name": "x_y_z"});'}
    )
    assert body == {"response": []}


def test_execute_caps(small_emu: Emulator, vk: Client) -> None:
    call = ("utils.resolveScreenName", {"screen_name": "gorod_novosti"})
    assert len(vk.call("execute", code=_code([call] * MAX_CALLS))) == MAX_CALLS
    error = vk.answer("execute", {"code": _code([call] * (MAX_CALLS + 1))})["error"]
    assert error["error_code"] == 13
    assert "Too many API calls" in error["error_msg"]
    assert vk.answer("execute", {"code": "return 1 +;"})["error"]["error_code"] == 12
    assert vk.answer("execute", {})["error"]["error_code"] == 100


def test_execute_counts_as_one_request_for_the_rate_limit(
    fresh_emu: Callable[..., Emulator],
) -> None:
    now = [100.0]
    emu = fresh_emu(rate_limit_per_second=3, clock=lambda: now[0])
    vk = Client(emu.base_url, retry=False)
    code = _code([("utils.resolveScreenName", {"screen_name": "gorod_novosti"})] * 25)
    for _ in range(3):
        assert len(vk.call("execute", code=code)) == 25
    assert vk.answer("execute", {"code": code})["error"]["error_code"] == 6
    assert emu.stats()["rate_limited"] == 1


def test_inner_calls_fail_with_error_10_under_faults(fresh_emu: Callable[..., Emulator]) -> None:
    emu = fresh_emu(faults=FaultConfig(rates={"error10": 0.5}, seed=7))
    vk = Client(emu.base_url, retry=False)
    code = _code([("utils.resolveScreenName", {"screen_name": "gorod_novosti"})] * 25)
    body = vk.answer("execute", {"code": code})
    failed = [r for r in body["response"] if r is False]
    assert failed
    assert len(failed) == len(body["execute_errors"])
    assert {e["error_code"] for e in body["execute_errors"]} == {10}
    assert emu.stats()["faults_injected"]["error10"] == len(failed)
