"""The per-campaign secret in the callback URLs disparo gives Ótima.

A token is `<campaign id hex>.<HMAC-SHA256(server secret, campaign id)>` (base64url, 192 bits).
Derived, not stored: every batch of a campaign (and every process, after any restart) puts
the same URL in its requests without the database holding anything a leak could replay,
and the receiver checks a callback with one HMAC and no database read, which is what lets
one API process take thousands of callbacks a second. A token names one campaign only, so
a campaign's token cannot write another's recipients. Rotating DISPARO_CALLBACK_SECRET
invalidates the URLs of campaigns still being delivered: their later callbacks get 404.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from disparo.config import Settings

_MAC_CHARS = 32  # 24 bytes of the MAC, base64url
_PURPOSE = b"disparo.callbacks.otima:"


def _secret(settings: Settings) -> bytes:
    if settings.callback_secret is not None and settings.callback_secret.get_secret_value():
        return settings.callback_secret.get_secret_value().encode()
    # Development only (production refuses DISPARO_PUBLIC_URL without a secret): derived from
    # the API keys so that every process of the dev stack agrees without configuration.
    keys = sorted(key.get_secret_value() for key in settings.api_keys)
    return hashlib.sha256("\0".join(["disparo-callbacks", *keys]).encode()).digest()


def _mac(settings: Settings, campaign_id: uuid.UUID) -> str:
    digest = hmac.new(_secret(settings), _PURPOSE + campaign_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_MAC_CHARS]


def token_for(settings: Settings, campaign_id: uuid.UUID) -> str:
    return f"{campaign_id.hex}.{_mac(settings, campaign_id)}"


def campaign_of_token(settings: Settings, token: str) -> uuid.UUID | None:
    """The campaign a token was made for; None for anything else (no hint which part)."""
    hex_id, _, mac = token.partition(".")
    try:
        campaign_id = uuid.UUID(hex=hex_id)
    except ValueError:
        return None
    if len(hex_id) != 32 or not hmac.compare_digest(
        mac.encode(), _mac(settings, campaign_id).encode()
    ):
        return None
    return campaign_id


def callback_urls(settings: Settings, campaign_id: uuid.UUID) -> tuple[str, str]:
    """(url_callback_status, url_callback_mo) for a campaign; ("", "") without a public URL."""
    base = settings.public_url.strip().rstrip("/")
    if not base:
        return "", ""
    prefix = f"{base}/callbacks/otima/{token_for(settings, campaign_id)}"
    return f"{prefix}/status", f"{prefix}/mo"
