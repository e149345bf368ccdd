"""The `execute` subset vkpipe uses: `return [API.m({...}), ...];` or `return API.m({...});`.

Arguments are JSON-like objects whose keys may be quoted or bare identifiers (VKScript
allows both). Anything else does not compile (error 12); more than 25 API calls is a
runtime error (13), as on VK.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .params import ERROR_EXECUTE_COMPILE, ERROR_EXECUTE_RUNTIME, MESSAGES, VkApiError

# VK runs at most 25 API calls per execute.
MAX_CALLS = 25

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<id>[A-Za-z_$][A-Za-z0-9_$]*)
      | (?P<punct>[\[\]{}(),.:;])
    )""",
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, str]


@dataclass(frozen=True)
class Program:
    calls: tuple[Call, ...]
    as_list: bool  # `return [..]` (a list answer) or `return API.x(..)` (a single answer)


def compile_error() -> VkApiError:
    return VkApiError(ERROR_EXECUTE_COMPILE)


def too_many_calls() -> VkApiError:
    return VkApiError(
        ERROR_EXECUTE_RUNTIME,
        f"{MESSAGES[ERROR_EXECUTE_RUNTIME]}: Too many API calls",
    )


def _tokenize(code: str) -> list[tuple[str, str]]:
    tokens = []
    pos = 0
    code = code.rstrip()
    while pos < len(code):
        m = _TOKEN.match(code, pos)
        if m is None or m.end() == pos:
            raise compile_error()
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def _unquote(raw: str) -> str:
    if raw.startswith("'"):
        inner = raw[1:-1].replace("\\'", "'").replace('"', '\\"')
        raw = f'"{inner}"'
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise compile_error() from None
    if not isinstance(value, str):
        raise compile_error()
    return value


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("eof", "")

    def take(self, kind: str, text: str | None = None) -> str:
        tk, tv = self.peek()
        if tk != kind or (text is not None and tv != text):
            raise compile_error()
        self.i += 1
        return tv

    def accept(self, kind: str, text: str) -> bool:
        if self.peek() == (kind, text):
            self.i += 1
            return True
        return False

    def program(self) -> Program:
        self.take("id", "return")
        if self.accept("punct", "["):
            calls: list[Call] = []
            while not self.accept("punct", "]"):
                calls.append(self.call())
                if len(calls) > MAX_CALLS:
                    raise too_many_calls()
                if not self.accept("punct", ","):
                    self.take("punct", "]")
                    break
            result = Program(tuple(calls), as_list=True)
        else:
            result = Program((self.call(),), as_list=False)
        self.accept("punct", ";")
        self.take("eof")
        return result

    def call(self) -> Call:
        self.take("id", "API")
        parts = []
        while self.accept("punct", "."):
            parts.append(self.take("id"))
        if not parts:
            raise compile_error()
        self.take("punct", "(")
        params: dict[str, str] = {}
        if not self.accept("punct", ")"):
            obj = self.value()
            if not isinstance(obj, dict):
                raise compile_error()
            params = {k: v for k, v in ((k, _param(v)) for k, v in obj.items()) if v is not None}
            self.take("punct", ")")
        return Call(".".join(parts), params)

    def value(self) -> Any:
        kind, text = self.peek()
        if kind == "str":
            self.i += 1
            return _unquote(text)
        if kind == "num":
            self.i += 1
            return float(text) if any(ch in text for ch in ".eE") else int(text)
        if kind == "id" and text in {"true", "false", "null"}:
            self.i += 1
            return {"true": True, "false": False, "null": None}[text]
        if self.accept("punct", "["):
            items = []
            while not self.accept("punct", "]"):
                items.append(self.value())
                if not self.accept("punct", ","):
                    self.take("punct", "]")
                    break
            return items
        if self.accept("punct", "{"):
            obj: dict[str, Any] = {}
            while not self.accept("punct", "}"):
                kind, text = self.peek()
                if kind not in {"str", "id"}:
                    raise compile_error()
                self.i += 1
                key = _unquote(text) if kind == "str" else text
                self.take("punct", ":")
                obj[key] = self.value()
                if not self.accept("punct", ","):
                    self.take("punct", "}")
                    break
            return obj
        raise compile_error()


def _param(value: Any) -> str | None:
    """A VKScript value as the form parameter VK would see."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(p for p in (_param(v) for v in value) if p is not None)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def parse(code: str) -> Program:
    """Compile `code`; VkApiError 12 when outside the subset, 13 when over MAX_CALLS calls."""
    return _Parser(_tokenize(code)).program()


InnerCall = Callable[[Call], Any]  # returns the response or raises VkApiError


def run(program: Program, call: InnerCall) -> dict[str, Any]:
    """Run the calls in order; failures become `false` plus an `execute_errors` entry."""
    results: list[Any] = []
    errors: list[dict[str, Any]] = []
    for c in program.calls:
        try:
            results.append(call(c))
        except VkApiError as exc:
            results.append(False)
            errors.append({"method": c.method, "error_code": exc.code, "error_msg": exc.message})
    answer: dict[str, Any] = {"response": results if program.as_list else results[0]}
    if errors:
        answer["execute_errors"] = errors
    return answer
