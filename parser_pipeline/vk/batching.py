"""execute batching: pack independent calls into requests of at most 25, and map answers back."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from parser_pipeline.constants import VK_EXECUTE_MAX_CALLS
from parser_pipeline.errors import VkError, VkServerError, VkTransportError

# A VK method name is `section.method`; anything else could smuggle VKScript into execute.
_METHOD_RE = re.compile(r"^[a-z]+\.[A-Za-z]+$")
# Methods that cannot ride inside an execute (execute itself cannot be nested).
_NOT_BATCHABLE = frozenset({"execute"})


@dataclass(frozen=True)
class VkCall:
    """One VK API method call: the method name and its (JSON-serializable) parameters."""

    method: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash(
            (self.method, json.dumps(normalize_params(self.params), sort_keys=True, default=str))
        )


@dataclass(frozen=True)
class CallOutcome:
    """What one call produced: its `response` value, or the typed error that stopped it."""

    call: VkCall
    value: Any = None
    error: VkError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def normalize_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """VK's wire form of parameters: lists become comma-joined strings, booleans become 0/1."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = int(value)
        elif isinstance(value, list | tuple | set | frozenset):
            out[key] = ",".join(str(item) for item in value)
        else:
            out[key] = value
    return out


def check_call(call: VkCall) -> None:
    """Reject a method name that is not `section.method` (it would be pasted into VKScript)."""
    if not _METHOD_RE.match(call.method) and call.method != "execute":
        raise ValueError(f"not a VK method name: {call.method!r}")


def plan_batches(
    calls: Sequence[VkCall], *, max_calls: int = VK_EXECUTE_MAX_CALLS
) -> list[list[VkCall]]:
    """Pack `calls` in order into batches of at most `max_calls`; execute itself goes alone."""
    if not 1 <= max_calls <= VK_EXECUTE_MAX_CALLS:
        raise ValueError(f"max_calls must be between 1 and {VK_EXECUTE_MAX_CALLS}")
    batches: list[list[VkCall]] = []
    current: list[VkCall] = []
    for call in calls:
        check_call(call)
        if call.method in _NOT_BATCHABLE:
            if current:
                batches.append(current)
                current = []
            batches.append([call])
            continue
        current.append(call)
        if len(current) == max_calls:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


def split_batch(batch: Sequence[VkCall]) -> list[list[VkCall]]:
    """Halve a batch that execute refused with error 13 (runtime error or answer too big)."""
    middle = (len(batch) + 1) // 2
    return [list(part) for part in (batch[:middle], batch[middle:]) if part]


def build_execute_code(batch: Sequence[VkCall]) -> str:
    """The VKScript for a batch: `return [API.m1({...}),API.m2({...})];` with JSON arguments."""
    if not 1 <= len(batch) <= VK_EXECUTE_MAX_CALLS:
        raise ValueError(f"an execute carries 1..{VK_EXECUTE_MAX_CALLS} calls, not {len(batch)}")
    parts = []
    for call in batch:
        check_call(call)
        if call.method in _NOT_BATCHABLE:
            raise ValueError(f"{call.method} cannot run inside execute")
        args = json.dumps(normalize_params(call.params), ensure_ascii=False, separators=(",", ":"))
        parts.append(f"API.{call.method}({args})")
    return "return [" + ",".join(parts) + "];"


def decode_execute(batch: Sequence[VkCall], response_json: Any) -> list[CallOutcome]:
    """Map each slot of an execute answer to its call; `false` slots take `execute_errors` in order.

    `response_json` is the whole answer body (`{"response": [...], "execute_errors": [...]}`).
    A malformed answer (not a list of the right length) fails every slot with a transient error.
    """
    if not isinstance(response_json, Mapping):
        return _fail_all(batch, "execute answer is not a JSON object")
    slots = response_json.get("response")
    if not isinstance(slots, list) or len(slots) != len(batch):
        got = len(slots) if isinstance(slots, list) else type(slots).__name__
        return _fail_all(batch, f"execute answer has {got} slots for {len(batch)} calls")
    raw_errors = response_json.get("execute_errors") or []
    errors = (
        [e for e in raw_errors if isinstance(e, Mapping)] if isinstance(raw_errors, list) else []
    )
    outcomes: list[CallOutcome] = []
    next_error = 0
    for call, slot in zip(batch, slots, strict=True):
        if slot is not False:
            outcomes.append(CallOutcome(call=call, value=slot))
            continue
        if next_error < len(errors):
            entry = errors[next_error]
            next_error += 1
            error = VkError.from_response(
                {**entry, "method": call.method}, method=call.method, params=call.params
            )
        else:
            error = VkServerError(
                "execute slot is false but no execute_errors entry explains it",
                method=call.method,
                params=call.params,
            )
        outcomes.append(CallOutcome(call=call, error=error))
    return outcomes


def _fail_all(batch: Sequence[VkCall], message: str) -> list[CallOutcome]:
    return [
        CallOutcome(call=c, error=VkTransportError(message, method=c.method, params=c.params))
        for c in batch
    ]
