"""structlog set-up: JSON lines in production, colours in `disparo dev`, secrets masked."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

from disparo.config import Settings

SECRET_KEYS = re.compile(
    r"(api_?key|chave_api|token|password|senha|secret|authorization|credentials)", re.I
)
MASK = "***"
# Characters of a provider request/response body kept in a log line (DISPARO_LOG_BODY_LIMIT).
body_limit = 2_000


def mask_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if SECRET_KEYS.search(key):
            event[key] = MASK
        elif isinstance(value, dict):
            event[key] = {k: MASK if SECRET_KEYS.search(str(k)) else v for k, v in value.items()}
    return event


# A secret inside a body we log: a JSON member (string or number value, possibly cut short
# by the truncation), a form field, or an Authorization header's credentials.
_SECRET_NAME = (
    r"(?:[\w-]*(?:api_?key|chave_api|token|password|senha|secret|authorization|credentials)"
    r"[\w-]*)"
)
_JSON_SECRET = re.compile(r'("' + _SECRET_NAME + r'"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^\s,}\]]+)', re.I)
_FORM_SECRET = re.compile(r"((?:^|[?&;\s])" + _SECRET_NAME + r"=)[^&;\s]*", re.I)
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+", re.I)


def mask_text(text: str) -> str:
    """Secrets found in free text (a provider request or response body) replaced by ***."""
    text = _JSON_SECRET.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    text = _FORM_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", text)


def body_excerpt(body: bytes | str, limit: int) -> str:
    """The start of a body, fit for a log line: at most `limit` characters, secrets masked.
    Cut before masking, so a value cut in half is still recognised and masked whole."""
    if isinstance(body, bytes | bytearray):
        # Decode only what can show (a UTF-8 character is at most 4 bytes): a CDA batch body
        # is megabytes, and this runs on every provider request.
        text = bytes(body[: limit * 4 + 4]).decode("utf-8", "replace")
    else:
        text = body
    cut = len(text) > limit
    text = mask_text(text[:limit])
    return f"{text}… (of {len(body)})" if cut else text


# Every line about a campaign has the same fields, present even when empty (an API line has
# no job, a dispatch job no batch), so a log search by any of them finds every line.
CAMPAIGN_FIELDS = ("campaign_id", "agendamento_id", "provider", "batch", "job_id")


def campaign_fields(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if "campaign_id" in event or "agendamento_id" in event:
        for name in CAMPAIGN_FIELDS:
            event.setdefault(name, None)
    return event


def configure_logging(settings: Settings) -> None:
    global body_limit
    body_limit = settings.log_body_limit
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_secrets,
            campaign_fields,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(level, logging.WARNING), format="%(name)s %(message)s")
