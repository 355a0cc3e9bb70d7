"""Outbound HTTP safety: the one client every WordPress and provider call goes through."""

from __future__ import annotations

import httpx

from disparo.config import Settings
from disparo.net.policy import OutboundPolicy, OutboundRefused, calling, current_provider
from disparo.net.transport import (
    DEADLINE,
    MAX_BYTES,
    BeforeHeaders,
    GuardedTransport,
    ResponseTooLarge,
)

__all__ = [
    "DEADLINE",
    "MAX_BYTES",
    "OutboundPolicy",
    "OutboundRefused",
    "ResponseTooLarge",
    "calling",
    "current_provider",
    "outbound_client",
    "policy_from",
]


def policy_from(settings: Settings) -> OutboundPolicy:
    return OutboundPolicy.trusting(
        allow_private=settings.allow_private_outbound,
        enforce_hosts=settings.env == "production",
        trusted=[settings.wordpress_url],
        provider_hosts=settings.provider_hosts,
    )


def outbound_client(
    settings: Settings, *, before_headers: BeforeHeaders | None = None
) -> httpx.AsyncClient:
    """The process's shared client. Redirects are not followed (a provider answering 3xx
    gets its batch refused); were they ever, every hop would pass the same checks.
    `before_headers` runs right before each request's first byte leaves."""
    transport = GuardedTransport(
        policy_from(settings),
        max_response_bytes=settings.outbound_max_response_bytes,
        unacked_timeout=settings.outbound_unacked_timeout,
        before_headers=before_headers,
    )
    return httpx.AsyncClient(transport=transport, follow_redirects=False)
