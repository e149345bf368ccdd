"""A TTL cache for slow-changing VK answers (screen names, group cards): Redis or a local dict."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import redis
import structlog

from parser_pipeline.constants import REDIS_CACHE_PREFIX
from parser_pipeline.group_refs import parse_group_ref

log = structlog.get_logger(__name__)

# Entries the in-process fallback keeps at most; past it the oldest half goes (a crawl touches
# a few thousand groups, so this bounds memory without a real LRU).
LOCAL_CACHE_MAX_ENTRIES = 10_000


def group_ref(ref: int | str) -> str:
    """One spelling per group reference: "-42", "club42", "public42" -> "42"; names lowercased.

    A text that names no community (the cache may be asked anything) keeps its own spelling.
    """
    try:
        return parse_group_ref(str(ref)).key
    except ValueError:
        return str(ref).strip().lower()


class CacheBackend(Protocol):
    def get(self, key: str) -> Any | None: ...
    def set(self, key: str, value: Any, ttl_seconds: int) -> None: ...
    def delete(self, *keys: str) -> None: ...


class LocalCache:
    """Process-local TTL cache for the embedded mode."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, str]] = {}

    def get(self, key: str) -> Any | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, raw = item
            if expires <= self._clock():
                del self._data[key]
                return None
        return json.loads(raw)

    def set(self, key: str, value: Any, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            return
        raw = json.dumps(value, ensure_ascii=False)
        with self._lock:
            if len(self._data) >= LOCAL_CACHE_MAX_ENTRIES:
                for old in list(self._data)[: LOCAL_CACHE_MAX_ENTRIES // 2]:
                    del self._data[old]
            self._data[key] = (self._clock() + ttl_seconds, raw)

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)


class RedisCache:
    """Shared TTL cache; a Redis failure is a cache miss (logged), never a failed crawl."""

    def __init__(self, client: redis.Redis[Any]) -> None:
        self._client = client

    def get(self, key: str) -> Any | None:
        try:
            raw = self._client.get(key)
        except redis.RedisError as exc:
            log.warning("vk.cache_unavailable", op="get", error=type(exc).__name__)
            return None
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            return
        try:
            self._client.set(key, json.dumps(value, ensure_ascii=False), ex=ttl_seconds)
        except redis.RedisError as exc:
            log.warning("vk.cache_unavailable", op="set", error=type(exc).__name__)

    def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            self._client.delete(*keys)
        except redis.RedisError as exc:
            log.warning("vk.cache_unavailable", op="delete", error=type(exc).__name__)


class VkCache:
    """Cached `utils.resolveScreenName` and `groups.getById` answers under REDIS_CACHE_PREFIX."""

    def __init__(
        self, backend: CacheBackend, ttl_seconds: int, *, prefix: str = REDIS_CACHE_PREFIX
    ):
        self.backend = backend
        self.ttl = ttl_seconds
        self._prefix = prefix

    def _screen_key(self, name: str) -> str:
        return f"{self._prefix}resolve:{name.strip().lower()}"

    def _group_key(self, ref: int | str) -> str:
        ref_text = group_ref(ref)
        kind = "id" if ref_text.isdigit() else "name"
        return f"{self._prefix}group:{kind}:{ref_text}"

    def get_resolved(self, name: str) -> Any | None:
        """The cached answer for a screen name; `[]` (nobody has it) is a valid cached answer."""
        return self.backend.get(self._screen_key(name))

    def put_resolved(self, name: str, answer: Any) -> None:
        self.backend.set(self._screen_key(name), answer, self.ttl)

    def get_group(self, ref: int | str) -> dict[str, Any] | None:
        value = self.backend.get(self._group_key(ref))
        return value if isinstance(value, dict) else None

    def put_group(self, group: dict[str, Any], *refs: int | str) -> None:
        """Store a group card under its id, its screen name and any other name it was asked by."""
        keys = {self._group_key(group["id"])} if "id" in group else set()
        if group.get("screen_name"):
            keys.add(self._group_key(str(group["screen_name"])))
        keys.update(self._group_key(ref) for ref in refs)
        for key in keys:
            self.backend.set(key, group, self.ttl)

    def invalidate_group(self, ref: int | str) -> None:
        """Forget a group (after it was edited) by id or screen name, under all its cached names."""
        keys = {self._group_key(ref)}
        card = self.get_group(ref)
        names: set[str] = set()
        if not group_ref(ref).isdigit():
            names.add(str(ref))
        if card is not None:
            keys.add(self._group_key(card.get("id", ref)))
            if card.get("screen_name"):
                names.add(str(card["screen_name"]))
        for name in names:
            keys.add(self._group_key(name))
            keys.add(self._screen_key(name))
        self.backend.delete(*sorted(keys))
        log.info("vk.cache_invalidated", group=str(ref), keys=len(keys))
