"""Calls from disparo to WordPress (CONTRACTS.md section 2): rows, credentials, webhooks."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from disparo import redaction
from disparo.errors import CredentialsError, Outcome
from disparo.net import DEADLINE, MAX_BYTES, OutboundRefused, ResponseTooLarge
from disparo.parsing import json_or_none
from disparo.providers.base import Provider
from disparo.wordpress.row_stream import RowsNotJson, parse_rows
from disparo.wordpress.signing import signature_headers


class WordPressError(Exception):
    """WordPress answered something we cannot use; `retryable` says if trying later may help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        phase: str = "dados",
    ) -> None:
        message = redaction.mask_text(message)  # it is stored, logged and sent to WordPress
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.phase = phase  # "dados" or "credenciais": picks the webhook status on failure

    @property
    def outcome(self) -> Outcome:
        """Read by disparo.errors.classify: down or busy is retried; a refusal of the
        credentials fetch is a credentials failure, any other unusable answer bad input."""
        if self.retryable:
            return Outcome.RETRY
        return Outcome.CREDENTIALS if self.phase == "credenciais" else Outcome.INVALID


class NoDataError(WordPressError):
    """No rows for this agendamento (404 no_data, an empty array, or no usable rows)."""


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    delivered: bool
    retryable: bool
    detail: str


@dataclass(frozen=True, slots=True)
class RowLimits:
    """Bounds of the recipients answer (DISPARO_WORDPRESS_ROWS_MAX_BYTES, _MAX_ROWS and
    _ROWS_DEADLINE): past any of them the campaign fails with erro_validacao."""

    max_bytes: int = 1_073_741_824
    max_rows: int = 2_000_000
    deadline: float = 900.0


class WordPressClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str,
        *,
        data_timeout: float = 30.0,
        credentials_timeout: float = 10.0,
        webhook_timeout: float = 30.0,
        webhook_secret: str = "",
        limits: RowLimits | None = None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + "/wp-json"
        self._headers = {"X-API-KEY": api_key, "Accept": "application/json"}
        self._data_timeout = data_timeout
        self._credentials_timeout = credentials_timeout
        self._webhook_timeout = webhook_timeout
        self._webhook_secret = webhook_secret
        self._limits = limits or RowLimits()

    async def stream_rows(self, agendamento_id: str) -> AsyncGenerator[Any, None]:
        """Yield the agendamento's rows (normally objects) one by one while the body is still
        arriving, so that a million-row campaign never sits in memory as one document."""
        url = f"{self._base}/campaigns/v1/data/{quote(agendamento_id, safe='')}"
        limits = self._limits
        extensions = {MAX_BYTES: limits.max_bytes, DEADLINE: limits.deadline}
        try:
            async with self._http.stream(
                "GET", url, headers=self._headers, timeout=self._data_timeout,
                extensions=extensions,
            ) as response:  # fmt: skip
                if response.status_code == 404:
                    raise NoDataError("WordPress não tem dados para este agendamento (404)")
                if response.status_code != 200:
                    await response.aread()
                    raise _error_for(response, "dados do agendamento")
                async for count, row in _counted(_parse_rows(response)):
                    if count > limits.max_rows:
                        raise WordPressError(
                            f"WordPress devolveu mais de {limits.max_rows} linhas para este "
                            "agendamento (limite DISPARO_WORDPRESS_MAX_ROWS)"
                        )
                    yield row
        except ResponseTooLarge as exc:
            raise WordPressError(
                f"a resposta do WordPress com os dados passa do limite de {exc.limit} bytes "
                "(DISPARO_WORDPRESS_ROWS_MAX_BYTES)"
            ) from exc
        except OutboundRefused as exc:
            raise WordPressError(f"WordPress recusado: {exc.message}") from exc
        except httpx.TransportError as exc:
            raise WordPressError(
                f"WordPress inacessível ao buscar os dados: {_why(exc)}", retryable=True
            ) from exc

    async def fetch_credentials(self, provider_path: str, env_id: str) -> dict[str, Any]:
        url = (
            f"{self._base}/api-manager/v1/credentials/"
            f"{quote(provider_path, safe='')}/{quote(env_id, safe='')}"
        )
        try:
            response = await self._http.get(
                url, headers=self._headers, timeout=self._credentials_timeout
            )
        except ResponseTooLarge as exc:
            raise WordPressError(
                f"a resposta do WordPress com as credenciais passa do limite de {exc.limit} "
                "bytes (DISPARO_OUTBOUND_MAX_RESPONSE_BYTES)",
                phase="credenciais",
            ) from exc
        except OutboundRefused as exc:
            raise WordPressError(f"WordPress recusado: {exc.message}", phase="credenciais") from exc
        except httpx.TransportError as exc:
            raise WordPressError(
                f"WordPress inacessível ao buscar credenciais: {_why(exc)}",
                retryable=True,
                phase="credenciais",
            ) from exc
        if response.status_code in (400, 404):
            raise CredentialsError(_wp_message(response) or "Credenciais não encontradas")
        if response.status_code != 200:
            error = _error_for(response, "credenciais")
            error.phase = "credenciais"
            raise error
        try:
            data = response.json()
        except ValueError as exc:
            raise CredentialsError("WordPress devolveu credenciais que não são JSON") from exc
        if not isinstance(data, dict):
            raise CredentialsError("WordPress devolveu credenciais num formato inesperado")
        # From now on these values are masked wherever they would appear (logs, errors).
        redaction.remember_secrets_in(data)
        return data

    async def credentials_for(self, provider: Provider, env_id: str) -> Any:
        """The provider's credentials for this environment, checked by the provider
        (CredentialsError when incomplete). Fetched per call and never stored
        outside memory (rule 7); a send reuses them for a while (credentials_reuse.py)."""
        raw = await self.fetch_credentials(provider.credentials_path, env_id)
        return provider.parse_credentials(raw)

    async def post_status(self, payload: dict[str, Any]) -> WebhookOutcome:
        """One webhook (2.4). Gen C rule: 2xx and `success` not false; 401/404 never retried."""
        url = f"{self._base}/webhook-status/v1/update"
        body = orjson.dumps(payload)
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            **signature_headers(self._webhook_secret, body),
        }
        try:
            response = await self._http.post(
                url, content=body, headers=headers, timeout=self._webhook_timeout
            )
        except ResponseTooLarge as exc:
            # Its status says whether WordPress took it; the answer itself is not read.
            detail = f"HTTP {exc.status_code}: resposta maior que {exc.limit} bytes"
            status = exc.status_code
            return WebhookOutcome(200 <= status < 300, status >= 500, detail)
        except OutboundRefused as exc:
            return WebhookOutcome(False, False, f"WordPress recusado: {exc.message}")
        except httpx.TransportError as exc:
            return WebhookOutcome(False, True, f"WordPress inacessível: {_why(exc)}")
        status = response.status_code
        detail = redaction.mask_text(f"HTTP {status}: {response.text[:500]}")
        if 200 <= status < 300:
            if _json_field(response, "success") is False:
                return WebhookOutcome(False, False, detail)
            return WebhookOutcome(True, False, detail)
        return WebhookOutcome(False, status in (408, 413, 429) or status >= 500, detail)


async def _counted(rows: AsyncIterator[Any]) -> AsyncIterator[tuple[int, Any]]:
    count = 0
    async for row in rows:
        count += 1
        yield count, row


def _why(exc: Exception) -> str:
    return redaction.mask_text(f"{type(exc).__name__}: {exc}")[:300]


async def _parse_rows(response: httpx.Response) -> AsyncIterator[Any]:
    try:
        async for row in parse_rows(response.aiter_bytes()):
            yield row  # non-objects too: the caller records them as SKIPPED
    except RowsNotJson as exc:
        raise WordPressError(f"WordPress devolveu dados que não são JSON válido: {exc}") from exc


def _error_for(response: httpx.Response, what: str) -> WordPressError:
    status = response.status_code
    message = _wp_message(response) or response.text[:200]
    if status == 401:
        return WordPressError(
            f"WordPress recusou a chave de API ao buscar {what} (401: {message}); "
            "confira DISPARO_WORDPRESS_API_KEY",
            status=status,
        )
    retryable = status in (408, 429) or status >= 500
    return WordPressError(
        f"WordPress respondeu {status} ao buscar {what}: {message}",
        retryable=retryable,
        status=status,
    )


def _wp_message(response: httpx.Response) -> str:
    value = _json_field(response, "message")
    return value if isinstance(value, str) else ""


def _json_field(response: httpx.Response, name: str) -> object:
    data = json_or_none(response.content)
    return data.get(name) if isinstance(data, dict) else None
