"""The execute planner, VKScript builder and answer decoder (pure)."""

from __future__ import annotations

import json

import pytest

from parser_pipeline.errors import (
    VkAccessDeniedError,
    VkRateLimitError,
    VkServerError,
    VkTransportError,
)
from parser_pipeline.vk.batching import (
    CallOutcome,
    VkCall,
    build_execute_code,
    decode_execute,
    normalize_params,
    plan_batches,
    split_batch,
)


def _comments(post_id: int) -> VkCall:
    return VkCall("wall.getComments", {"owner_id": -1, "post_id": post_id, "count": 100})


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(0, []), (1, [1]), (25, [25]), (26, [25, 1]), (60, [25, 25, 10]), (50, [25, 25])],
)
def test_plan_batches_packs_at_most_25_in_order(count: int, sizes: list[int]) -> None:
    calls = [_comments(i) for i in range(count)]
    batches = plan_batches(calls)
    assert [len(b) for b in batches] == sizes
    assert [c for b in batches for c in b] == calls


def test_plan_batches_respects_a_smaller_limit_and_sends_execute_alone() -> None:
    calls = [_comments(1), _comments(2), VkCall("execute", {"code": "return 1;"}), _comments(3)]
    batches = plan_batches(calls, max_calls=2)
    assert [[c.method for c in b] for b in batches] == [
        ["wall.getComments", "wall.getComments"],
        ["execute"],
        ["wall.getComments"],
    ]
    with pytest.raises(ValueError, match="max_calls"):
        plan_batches(calls, max_calls=26)


def test_plan_batches_mixes_methods() -> None:
    calls = [VkCall("wall.get", {"owner_id": -g, "offset": 0, "count": 100}) for g in range(30)]
    calls += [_comments(i) for i in range(5)]
    assert [len(b) for b in plan_batches(calls)] == [25, 10]


def test_build_execute_code_is_exactly_the_vk_subset() -> None:
    batch = [
        VkCall("wall.getComments", {"owner_id": -5, "post_id": 7, "need_likes": True}),
        VkCall("wall.get", {"owner_id": -5, "count": 100, "filter": "owner"}),
    ]
    assert build_execute_code(batch) == (
        'return [API.wall.getComments({"owner_id":-5,"post_id":7,"need_likes":1}),'
        'API.wall.get({"owner_id":-5,"count":100,"filter":"owner"})];'
    )


def test_build_execute_code_escapes_strings_and_refuses_bad_input() -> None:
    code = build_execute_code([VkCall("utils.resolveScreenName", {"screen_name": 'a"});x'})])
    assert code == 'return [API.utils.resolveScreenName({"screen_name":"a\\"});x"})];'
    with pytest.raises(ValueError, match="method"):
        build_execute_code([VkCall("wall.get(1);API.x", {})])
    with pytest.raises(ValueError, match=r"1\.\.25"):
        build_execute_code([_comments(i) for i in range(26)])
    with pytest.raises(ValueError, match=r"1\.\.25"):
        build_execute_code([])


def test_normalize_params_uses_vk_wire_forms() -> None:
    assert normalize_params({"ids": [1, 2, 3], "flag": False, "skip": None, "n": 5}) == {
        "ids": "1,2,3",
        "flag": 0,
        "n": 5,
    }


def test_decode_execute_maps_false_slots_to_typed_errors_in_order() -> None:
    batch = [_comments(i) for i in range(4)]
    body = {
        "response": [{"count": 1, "items": []}, False, {"count": 0, "items": []}, False],
        "execute_errors": [
            {"method": "wall.getComments", "error_code": 212, "error_msg": "Access denied"},
            {"method": "wall.getComments", "error_code": 6, "error_msg": "Too many"},
        ],
    }
    outcomes = decode_execute(batch, body)
    assert [o.ok for o in outcomes] == [True, False, True, False]
    assert outcomes[0].value == {"count": 1, "items": []}
    assert isinstance(outcomes[1].error, VkAccessDeniedError)
    assert outcomes[1].error.code == 212
    assert outcomes[1].error.params["post_id"] == 1
    assert isinstance(outcomes[3].error, VkRateLimitError)
    assert [o.call for o in outcomes] == batch


def test_decode_execute_false_without_an_error_entry_is_transient() -> None:
    outcomes = decode_execute([_comments(1)], {"response": [False]})
    assert isinstance(outcomes[0].error, VkServerError)
    assert outcomes[0].error.retryable


@pytest.mark.parametrize(
    "body", [[], {"response": [1]}, {"response": "x"}, {"error": {"error_code": 1}}, None]
)
def test_decode_execute_malformed_answers_fail_every_slot_transiently(body: object) -> None:
    batch = [_comments(1), _comments(2)]
    outcomes = decode_execute(batch, body)
    assert all(isinstance(o.error, VkTransportError) for o in outcomes)


def test_split_batch_halves() -> None:
    batch = [_comments(i) for i in range(5)]
    assert [len(h) for h in split_batch(batch)] == [3, 2]
    assert split_batch(batch[:1]) == [batch[:1]]


def test_vk_call_is_hashable_and_comparable() -> None:
    a, b = _comments(1), _comments(1)
    assert a == b
    assert len({a, b, _comments(2)}) == 2
    assert CallOutcome(a, value=1).ok
    assert json.dumps(dict(a.params))
