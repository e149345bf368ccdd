"""API keys: a random secret shown once, stored as its SHA-256 under a public prefix for lookup.

A key reads `vkp_<prefix>_<secret>`: 6 random bytes of prefix (hex) find the row through a
unique index, and 32 random bytes of secret (256 bits) make it unguessable. The row keeps only
SHA-256 of the whole key, compared in constant time. A slow password hash (PBKDF2, bcrypt,
argon2) exists to make guessing *low-entropy* passwords from a stolen hash expensive; against
256 random bits guessing is hopeless at any hash speed, while a slow hash would cost ~100 ms
of CPU on every request. A keyed hash (HMAC with a server-side pepper) would help only if the
database leaked without the pepper, and vkpipe has no second secret store to keep one apart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, Row, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from parser_pipeline.errors import ConfigError, NotFoundError
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import api_keys

KEY_SCHEME: Final = "vkp"
# 6 bytes of prefix: 2^48 values, so two keys practically never draw the same lookup id (the
# unique index would refuse the second one anyway).
PREFIX_BYTES: Final = 6
# 32 bytes of secret: 256 bits from the OS's CSPRNG, beyond any guessing.
SECRET_BYTES: Final = 32
# last_used_at is written at most this often per key: a write per request would turn every
# read into a write (and serialize SQLite), and "used in the last minute" is precise enough.
LAST_USED_RESOLUTION: Final = timedelta(seconds=60)
MAX_NAME_CHARS: Final = 255


@dataclass(frozen=True, slots=True)
class ApiKey:
    """The key a request authenticated with (never its secret). `admin`: it sees every export,
    not only the ones it asked for."""

    id: int
    name: str
    read_only: bool
    admin: bool = False

    def scope(self) -> str:
        return scope(read_only=self.read_only, admin=self.admin)


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: `key` is shown once and stored nowhere."""

    id: int
    name: str
    read_only: bool
    admin: bool
    key: str


def scope(*, read_only: bool, admin: bool) -> str:
    """What a key may do, in words: read-only or read-write, and admin."""
    return ("read-only" if read_only else "read-write") + (", admin" if admin else "")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh key and its prefix."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    return f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}", prefix


def prefix_of(key: str) -> str | None:
    """The lookup prefix of a presented key, or None if it is not shaped like one of ours."""
    scheme, _, rest = key.strip().partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or len(prefix) != 2 * PREFIX_BYTES or not secret:
        return None
    return prefix


def create_key(
    engine: Engine, name: str, *, read_only: bool, admin: bool = False, now: datetime
) -> CreatedKey:
    """Store a new key named `name`; ConfigError if the name is empty or a working key has it."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise ConfigError(f"an API key name has 1 to {MAX_NAME_CHARS} characters")
    key, prefix = new_key()
    values: dict[str, Any] = {
        "name": name,
        "prefix": prefix,
        "secret_hash": hash_key(key),
        "read_only": read_only,
        "is_admin": admin,
        "created_at": now,
    }
    try:
        with transaction(engine) as connection:
            key_id = connection.execute(
                insert(api_keys).values(**values).returning(api_keys.c.id)
            ).scalar_one()
    except IntegrityError:
        raise ConfigError(
            f"a working API key is already called {name!r}; revoke it first or pick another name"
        ) from None
    return CreatedKey(int(key_id), name, read_only, admin, key)


def list_keys(engine: Engine) -> list[Row[Any]]:
    """Every key, revoked ones included, without their hashes."""
    columns = [c for c in api_keys.c if c.name != "secret_hash"]
    with engine.connect() as connection:
        return list(connection.execute(select(*columns).order_by(api_keys.c.id)))


def revoke_key(engine: Engine, ref: str, now: datetime) -> Row[Any]:
    """Revoke the working key with this name or id (a revoked key stays listed)."""
    c = api_keys.c
    condition = c.name == ref
    if ref.isdigit():
        condition = or_(condition, c.id == int(ref))
    with transaction(engine) as connection:
        row = connection.execute(
            update(api_keys)
            .where(condition, c.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(c.id, c.name, c.prefix, c.read_only, c.is_admin, c.revoked_at)
        ).first()
    if row is None:
        raise NotFoundError(f"no working API key is named {ref!r}; see `vkpipe api-keys list`")
    return row


def authenticate(engine: Engine, presented: str, now: datetime) -> ApiKey | None:
    """The working key `presented` is, or None (unknown, malformed or revoked)."""
    prefix = prefix_of(presented)
    if prefix is None:
        return None
    c = api_keys.c
    with engine.connect() as connection:
        row = connection.execute(
            select(c.id, c.name, c.read_only, c.is_admin, c.secret_hash, c.last_used_at).where(
                c.prefix == prefix, c.revoked_at.is_(None)
            )
        ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, hash_key(presented.strip())):
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        with transaction(engine) as connection:
            connection.execute(update(api_keys).where(c.id == row.id).values(last_used_at=now))
    return ApiKey(row.id, row.name, bool(row.read_only), bool(row.is_admin))
