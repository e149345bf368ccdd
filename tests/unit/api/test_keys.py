"""API key shape, prefix parsing and hashing (pure)."""

from __future__ import annotations

import pytest

from parser_pipeline.store import api_keys as keys


def test_a_new_key_has_a_prefix_and_a_long_secret() -> None:
    key, prefix = keys.new_key()
    scheme, found_prefix, secret = key.split("_", 2)
    assert (scheme, found_prefix) == ("vkp", prefix)
    assert len(prefix) == 2 * keys.PREFIX_BYTES
    assert len(secret) >= 43  # 32 bytes, base64
    assert keys.prefix_of(key) == prefix
    assert keys.new_key() != keys.new_key()


@pytest.mark.parametrize(
    "presented",
    ["", "vkp", "vkp_abc_secret", "xyz_0123456789ab_secret", "vkp_0123456789ab_", "Bearer x"],
)
def test_malformed_keys_have_no_prefix(presented: str) -> None:
    assert keys.prefix_of(presented) is None


def test_hash_is_sha256_hex_of_the_whole_key() -> None:
    key, _ = keys.new_key()
    digest = keys.hash_key(key)
    assert len(digest) == 64
    assert digest == keys.hash_key(key)
    assert digest != keys.hash_key(key + "x")
    assert key not in digest
