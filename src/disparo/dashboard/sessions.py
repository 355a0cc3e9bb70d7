"""Dashboard sessions kept in Redis, so that they can be ended: the cookie holds only a random
session id; Redis holds, under a hash of that id, the key's name, an HMAC of the key (so that
removing the key from DISPARO_API_KEYS ends its sessions), the CSRF token and the sign-in time.
The key's scopes are not stored: each use takes them from the key as configured now, so a
scope taken away applies to sessions already open.

Idle timeout: DISPARO_DASHBOARD_IDLE_MINUTES without use (each use records the time it was
seen). Absolute timeout: DISPARO_DASHBOARD_SESSION_HOURS after sign-in, however busy. Both are
judged by `clock` against the times in the record, so tests move time instead of sleeping; the
record's Redis expiry (the idle timeout plus a margin) only clears what nobody uses again.
Sign-out deletes the record: a copied cookie is worthless afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from disparo.apikeys import ApiKey, Scope
from disparo.config import Settings

# Seconds since the epoch; replaced by tests that move time.
clock: Callable[[], float] = time.time

# Redis keeps an unused record this much longer than its idle timeout: expiry is only cleanup.
_CLEANUP_MARGIN_S = 60


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    key_name: str
    csrf_token: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes


def key_id(secret: bytes, key: ApiKey) -> str:
    """Identifies a key in a session record without holding anything the key can be
    recovered from (an HMAC under the dashboard secret)."""
    return hmac.new(secret, f"session-key:{key.secret}".encode(), "sha256").hexdigest()[:32]


def _redis_key(settings: Settings, session_id: str) -> str:
    digest = hashlib.sha256(session_id.encode()).hexdigest()
    return f"{settings.queue_prefix}:disparo-dashboard-session:{digest}"


def _idle_seconds(settings: Settings) -> float:
    return settings.dashboard_idle_minutes * 60


def _expiry_seconds(settings: Settings) -> int:
    return int(_idle_seconds(settings)) + _CLEANUP_MARGIN_S


async def create(client: Any, settings: Settings, secret: bytes, key: ApiKey) -> Session:
    session = Session(secrets.token_urlsafe(32), key.name, secrets.token_urlsafe(32), key.scopes)
    now = clock()
    record = {
        "name": key.name,
        "key": key_id(secret, key),
        "csrf": session.csrf_token,
        "created": now,
        "seen": now,
    }
    await client.set(
        _redis_key(settings, session.id), json.dumps(record), ex=_expiry_seconds(settings)
    )
    return session


async def load(
    client: Any, settings: Settings, secret: bytes, session_id: str, keys: Sequence[ApiKey]
) -> Session | None:
    """The live session of this id, with its key's scopes of now; or None (unknown, idle too
    long, too old, or its key is gone or may no longer use the dashboard). A live one's idle
    timer starts again."""
    redis_key = _redis_key(settings, session_id)
    raw = await client.get(redis_key)
    if raw is None:
        return None
    record = json.loads(raw)
    now = clock()
    # A record written before "seen" existed counts from its sign-in (signs out, never keeps).
    seen = float(record.get("seen", record["created"]))
    idle = now - seen > _idle_seconds(settings)
    too_old = now - float(record["created"]) > settings.dashboard_session_hours * 3600
    allowed = {key_id(secret, key): key for key in keys if key.allows_dashboard()}
    key = allowed.get(record["key"])
    if idle or too_old or key is None:
        await client.delete(redis_key)
        return None
    record["seen"] = now
    # xx: a sign-out that deleted the record meanwhile wins; this use does not bring it back.
    await client.set(redis_key, json.dumps(record), ex=_expiry_seconds(settings), xx=True)
    return Session(session_id, key.name, str(record["csrf"]), key.scopes)


async def end(client: Any, settings: Settings, session_id: str) -> None:
    await client.delete(_redis_key(settings, session_id))
