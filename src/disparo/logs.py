"""structlog set-up: JSON lines in production, colours in `disparo dev`, secrets masked."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

from disparo import redaction
from disparo.apikeys import key_secret
from disparo.config import Settings

SECRET_KEYS = redaction.SECRET_NAME
MASK = redaction.MASK
mask_text = redaction.mask_text
# Characters of a provider request/response body kept in a log line (DISPARO_LOG_BODY_LIMIT).
body_limit = 2_000


def mask_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Every field, at any depth: by name, by the secret values this process knows, and by
    the patterns of redaction.mask_text (a traceback's text included)."""
    for key, value in list(event.items()):
        event[key] = redaction.mask_value(value, key=key)
    return event


class MaskingFilter(logging.Filter):
    """The same masking for stdlib log records (uvicorn, httpx, asyncpg...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redaction.mask_text(record.getMessage())
        record.args = None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, redaction.mask_text(formatted)
        return True


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
            campaign_fields,
            # Rendered first so the traceback's text is masked as well.
            structlog.processors.format_exc_info,
            mask_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(level, logging.WARNING), format="%(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
    remember_settings_secrets(settings)


def _inbound_secrets(settings: Settings) -> list[str]:
    """Each DISPARO_API_KEYS entry and the key it holds: a client sends (and a log line
    would show) the KEY of `NAME:SCOPES:KEY`, never the entry."""
    raws = [entry.get_secret_value() for entry in settings.api_keys]
    return [value for raw in raws for value in (raw, key_secret(raw))]


def remember_settings_secrets(settings: Settings) -> None:
    """This process's own secrets, masked by value wherever they would appear."""
    from sqlalchemy.engine import make_url

    values = _inbound_secrets(settings)
    secrets = (
        settings.wordpress_api_key,
        settings.webhook_secret,
        settings.dashboard_secret,
        settings.callback_secret,
    )
    for secret in secrets:
        if secret is not None:
            values.append(secret.get_secret_value())
    for url in (settings.database_url, settings.redis_url):
        try:
            password = make_url(url).password if url else None
        except Exception:
            password = None
        if password:
            values.append(str(password))
    redaction.remember(*values)
