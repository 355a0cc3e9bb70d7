"""X-API-KEY check, in constant time, against every configured key (rotation)."""

from __future__ import annotations

import hmac

from fastapi import Request
from pydantic import SecretStr

from disparo.errors import Unauthorized, Unavailable


def check_api_key(request: Request) -> None:
    keys = request.app.state.runtime.settings.api_keys
    if not keys:
        raise Unavailable("Nenhuma API key configurada no disparo (DISPARO_API_KEYS)")
    given = (request.headers.get("x-api-key") or "").strip()
    if not given:
        raise Unauthorized("API Key não fornecida")
    # compare_digest against every key, without stopping early, so timing says nothing.
    matches = [hmac.compare_digest(given.encode(), key.get_secret_value().encode()) for key in keys]
    if not any(matches):
        raise Unauthorized("API Key inválida")


def is_api_key(settings_keys: list[SecretStr], given: str) -> bool:
    """`given` is one of the configured keys, compared in constant time against each."""
    given_bytes = given.strip().encode()
    matches = [
        hmac.compare_digest(given_bytes, k.get_secret_value().encode()) for k in settings_keys
    ]
    return bool(given_bytes) and any(matches)
