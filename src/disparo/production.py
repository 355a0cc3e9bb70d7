"""Would these settings be safe to expose? `disparo serve`/`worker` refuse to start in
production when not, and `disparo check-config` prints the same verdict. Each problem is one
line naming the setting; no line ever contains a secret."""

from __future__ import annotations

from pydantic import SecretStr

from disparo.apikeys import KeyConfigError, same_secret
from disparo.config import Settings

MIN_KEY_LENGTH = 32


def _value(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else ""


def config_problems(settings: Settings) -> list[str]:
    """What stops this process from starting: malformed keys in any mode, and in production
    every unsafe setting."""
    try:
        keys = settings.inbound_keys
    except KeyConfigError as exc:
        return [str(exc)]
    if settings.env != "production":
        return []
    problems = []
    if not keys:
        problems.append("DISPARO_API_KEYS: no key configured")
    for key in keys:
        if len(key.secret) < MIN_KEY_LENGTH:
            problems.append(
                f"DISPARO_API_KEYS: key {key.name!r} is shorter than {MIN_KEY_LENGTH} characters"
            )
    outbound = _value(settings.wordpress_api_key)
    if not outbound:
        problems.append("DISPARO_WORDPRESS_API_KEY: not set (the key disparo sends WordPress)")
    for key in keys:
        if outbound and same_secret(key.secret, outbound):
            problems.append(
                f"DISPARO_WORDPRESS_API_KEY: equals inbound key {key.name!r} of DISPARO_API_KEYS"
            )
    if not _value(settings.webhook_secret):
        problems.append("DISPARO_WEBHOOK_SECRET: not set (webhooks to WordPress go unsigned)")
    if not _value(settings.dashboard_secret):
        problems.append("DISPARO_DASHBOARD_SECRET: not set")
    if settings.public_url and not _value(settings.callback_secret):
        problems.append("DISPARO_CALLBACK_SECRET: not set (DISPARO_PUBLIC_URL asks for callbacks)")
    if settings.outbound_unacked_timeout >= settings.heartbeat_ttl:
        problems.append(
            "DISPARO_OUTBOUND_UNACKED_TIMEOUT: not below DISPARO_HEARTBEAT_TTL (a request cut"
            " off mid-way could reach the provider after its batch was judged)"
        )
    if not settings.secure_cookie:
        problems.append("DISPARO_DASHBOARD_SECURE_COOKIE: false (the session cookie needs HTTPS)")
    return problems
