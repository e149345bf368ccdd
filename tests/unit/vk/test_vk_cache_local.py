"""The TTL cache with its in-process backend: expiry and group invalidation."""

from __future__ import annotations

from parser_pipeline.vk.cache import LocalCache, VkCache, group_ref


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_ttl() -> None:
    clock = FakeClock()
    cache = VkCache(LocalCache(clock=clock), ttl_seconds=10)
    cache.put_resolved("Durov", {"type": "user", "object_id": 1})
    cache.put_resolved("nobody", [])
    assert cache.get_resolved("durov") == {"type": "user", "object_id": 1}
    assert cache.get_resolved("nobody") == []
    clock.now = 10.0
    assert cache.get_resolved("durov") is None


def test_ttl_zero_disables_caching() -> None:
    cache = VkCache(LocalCache(), ttl_seconds=0)
    cache.put_resolved("x", [])
    assert cache.get_resolved("x") is None


def test_group_is_found_by_id_and_name_and_invalidated_by_either() -> None:
    cache = VkCache(LocalCache(), ttl_seconds=100)
    group = {"id": 42, "screen_name": "cats", "name": "Cats"}
    cache.put_group(group, "club42")
    assert cache.get_group(42) == group
    assert cache.get_group("-42") == group
    assert cache.get_group("CATS") == group
    assert cache.get_group("club42") == group
    cache.put_resolved("cats", {"type": "group", "object_id": 42})
    cache.invalidate_group(42)
    assert cache.get_group(42) is None
    assert cache.get_group("cats") is None
    assert cache.get_resolved("cats") is None


def test_group_ref_spellings() -> None:
    assert [group_ref(r) for r in (42, "-42", "club42", "public42", " Cats ", "clubhouse")] == [
        "42",
        "42",
        "42",
        "42",
        "cats",
        "clubhouse",
    ]
