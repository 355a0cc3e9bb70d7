"""Translate httpx outcomes into the provider error types of rule 3 (DESIGN.md)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import monotonic

import httpx
import structlog

from disparo import logs, redaction
from disparo.net import OutboundRefused, ResponseTooLarge
from disparo.providers.base import (
    OutcomeUnknownError,
    ProviderError,
    RejectedError,
    RetryableError,
)

log = structlog.get_logger(__name__)

MAX_BODY_TEXT = 12_000
# A proxy in front of the provider answering "bad gateway"/"gateway timeout" may have passed
# the request on: the provider could have imported it, so these are not resent blind.
GATEWAY_TIMEOUTS = frozenset({502, 504})
# A provider asking for more than an hour is capped: the batch is re-checked then anyway.
MAX_RETRY_AFTER = 3600.0


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        # inf/nan would overflow the due-time arithmetic; treat them as unreadable.
        return min(max(0.0, seconds), MAX_RETRY_AFTER) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(MAX_RETRY_AFTER, max(0.0, (when - datetime.now(UTC)).total_seconds()))


def body_text(response: httpx.Response) -> str:
    text = response.text
    return text if len(text) <= MAX_BODY_TEXT else text[:MAX_BODY_TEXT] + "…"


def raise_for_outcome(response: httpx.Response) -> None:
    """Return on 2xx; otherwise raise the error type that tells the worker what to do."""
    status = response.status_code
    if 200 <= status < 300:
        return
    text = body_text(response)
    message = f"HTTP {status}: {text[:300]}" if text else f"HTTP {status}"
    raise_for_status(status, message, text, response.headers.get("Retry-After"))


def raise_for_status(
    status: int, message: str, text: str = "", retry_after: str | None = None
) -> None:
    """The error of a non-2xx answer (rule 3): unknown, retryable or rejected."""
    if status in GATEWAY_TIMEOUTS:
        raise OutcomeUnknownError(
            f"{message} (um gateway desistiu de esperar; o fornecedor pode ter recebido o lote)",
            status_code=status,
            body=text,
        )
    if status in (408, 429) or status >= 500:
        raise RetryableError(
            message,
            status_code=status,
            body=text,
            retry_after=parse_retry_after(retry_after),
        )
    raise RejectedError(message, status_code=status, body=text)


def too_large(url: str, exc: ResponseTooLarge) -> ProviderError:
    """An answer past DISPARO_OUTBOUND_MAX_RESPONSE_BYTES: a 2xx means the provider took the
    batch but we cannot read what it said, so the outcome is unknown; otherwise its status
    decides as usual."""
    message = (
        f"HTTP {exc.status_code}: resposta de {_origin(url)} maior que o limite de "
        f"{exc.limit} bytes (DISPARO_OUTBOUND_MAX_RESPONSE_BYTES)"
    )
    if 200 <= exc.status_code < 300:
        return OutcomeUnknownError(message, status_code=exc.status_code)
    try:
        raise_for_status(exc.status_code, message)
    except ProviderError as error:
        return error
    return OutcomeUnknownError(message, status_code=exc.status_code)  # pragma: no cover


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    content: bytes,
    *,
    headers: dict[str, str] | None = None,
    timeout: float,
    auth: httpx.Auth | None = None,
) -> httpx.Response:
    """POST a pre-serialised JSON body, classifying transport failures.

    Failures before the request could reach the provider are retryable; a timeout or
    broken connection after the body was written leaves the outcome unknown.
    """
    return await send_json(
        client, "POST", url, content, headers=headers, timeout=timeout, auth=auth
    )


async def send_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    content: bytes,
    *,
    headers: dict[str, str] | None = None,
    timeout: float,
    auth: httpx.Auth | None = None,
) -> httpx.Response:
    """`post_json` for any method (GOSAC's start is a PUT)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    _log_request(url, content)
    started = monotonic()
    try:
        response = await client.request(
            method,
            url,
            content=content,
            headers=all_headers,
            timeout=timeout,
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except OutboundRefused as exc:
        # Nothing left this process: resending to the same URL would be refused again.
        raise RejectedError(f"envio recusado pelo disparo: {exc.message}") from exc
    except ResponseTooLarge as exc:
        raise too_large(url, exc) from exc
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise RetryableError(f"não foi possível conectar a {_origin(url)}: {_why(exc)}") from exc
    except (httpx.WriteTimeout, httpx.WriteError) as exc:
        # The body never arrived whole, so the provider had nothing it could act on.
        raise RetryableError(f"envio interrompido para {_origin(url)}: {_why(exc)}") from exc
    except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise OutcomeUnknownError(
            f"sem resposta de {_origin(url)} após o envio ({type(exc).__name__}); "
            "o fornecedor pode ter recebido o lote"
        ) from exc
    except httpx.DecodingError as exc:
        raise OutcomeUnknownError(
            f"resposta ilegível de {_origin(url)} ({_why(exc)}); o fornecedor pode ter "
            "recebido o lote"
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        raise RejectedError(f"URL inválida do fornecedor: {_origin(url)}") from exc
    _log_response(response, monotonic() - started)
    raise_for_outcome(response)
    return response


def _log_request(url: str, content: bytes) -> None:
    # Bodies carry keys (CDA's chave_api) and people's data: a masked excerpt only.
    log.info(
        "provider.request",
        url=logs.mask_text(url),
        bytes=len(content),
        body=logs.body_excerpt(content, logs.body_limit),
    )


def _log_response(response: httpx.Response, seconds: float) -> None:
    log.info(
        "provider.response",
        status=response.status_code,
        seconds=round(seconds, 3),
        body=logs.body_excerpt(response.content, logs.body_limit),
    )


def _why(exc: Exception) -> str:
    """The exception's type and message, secrets masked (never the repr of its arguments)."""
    return redaction.mask_text(f"{type(exc).__name__}: {exc}")[:300]


def _origin(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except Exception:
        return "o fornecedor"
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")
