"""Workspace sessions: an API key exchanged for a random cookie, stored as its SHA-256.

The cookie's 256 random bits find the row through a unique index on their hash, as API keys do
(`api_keys.py` says why a fast hash is right for random secrets). A session lives until it
expires, its owner signs out, or its key is revoked (the lookup joins the key, so a revoked
key's sessions stop at once); expired rows are deleted whenever someone signs in. The CSRF
token of a session is derived from its cookie (`csrf_token`): nothing more to store, and a
page can only carry it if it was rendered for that session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine, delete, insert, select

from parser_pipeline.store.api_keys import ApiKey
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import api_keys, workspace_sessions

# 32 bytes: 256 bits from the OS's CSPRNG, like an API key's secret.
TOKEN_BYTES: Final = 32
_CSRF_CONTEXT: Final = b"vkpipe-workspace-csrf"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: a keyed hash of its cookie (pure)."""
    return hmac.new(session_token.encode("utf-8"), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, presented: str | None) -> bool:
    """Whether `presented` is the session's CSRF token (compared in constant time)."""
    return bool(presented) and hmac.compare_digest(csrf_token(session_token), presented or "")


def create_session(engine: Engine, key: ApiKey, *, now: datetime, lifetime: timedelta) -> str:
    """A new session of `key` until now + lifetime: its cookie value (shown nowhere else)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    s = workspace_sessions.c
    with transaction(engine) as connection:
        connection.execute(delete(workspace_sessions).where(s.expires_at <= now))
        connection.execute(
            insert(workspace_sessions).values(
                token_hash=_hash(token),
                api_key_id=key.id,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
    return token


def session_key(engine: Engine, token: str, now: datetime) -> ApiKey | None:
    """The working key of a live session, or None (unknown, expired, signed out, revoked)."""
    s, k = workspace_sessions.c, api_keys.c
    with engine.connect() as connection:
        row = connection.execute(
            select(k.id, k.name, k.read_only, k.is_admin)
            .join_from(workspace_sessions, api_keys, k.id == s.api_key_id)
            .where(s.token_hash == _hash(token), s.expires_at > now, k.revoked_at.is_(None))
        ).first()
    if row is None:
        return None
    return ApiKey(row.id, row.name, bool(row.read_only), bool(row.is_admin))


def end_session(engine: Engine, token: str) -> None:
    """Sign out: the session's row goes; its cookie opens nothing from now on."""
    with transaction(engine) as connection:
        connection.execute(
            delete(workspace_sessions).where(workspace_sessions.c.token_hash == _hash(token))
        )
