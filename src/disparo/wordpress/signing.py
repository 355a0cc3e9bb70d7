"""Webhook signatures: HMAC-SHA256 over "{timestamp}.{body}", checked by our WordPress plugin.

The timestamp is signed with the body, so a captured request cannot be replayed once the
receiver's tolerance has passed; it is fresh on every attempt, so a webhook retried for a day
still arrives in time. Receivers that do not know these headers (the panel plugin) ignore them.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from disparo.apikeys import same_secret

TIMESTAMP_HEADER = "X-Disparo-Timestamp"
SIGNATURE_HEADER = "X-Disparo-Signature"
SCHEME = "sha256"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def signature_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers for this body; none when no secret is configured."""
    if not secret:
        return {}
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(secret: str, headers: dict[str, str], body: bytes, now: float, tolerance: float) -> bool:
    """What the plugin checks, in Python: the test oracle for the PHP receiver's rules."""
    lowered = {name.lower(): value for name, value in headers.items()}
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    if not (stamp.isascii() and stamp.isdigit()) or abs(now - int(stamp)) > tolerance:
        return False
    return same_secret(given, signature(secret, int(stamp), body))
