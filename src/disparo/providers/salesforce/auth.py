"""OAuth2 bearer tokens as `httpx.Auth` (DESIGN.md): fetched once per account, reused until
they expire, fetched again once when the API answers 401, and never logged.

Core uses the username-password grant (form body); Marketing Cloud the client-credentials
grant (JSON body), whose tokens it asks clients to reuse for their lifetime (5.6).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass, field
from typing import Any

import httpx

from disparo import redaction
from disparo.net import OutboundRefused, ResponseTooLarge
from disparo.parsing import json_or_none
from disparo.providers.base import OutcomeUnknownError, RejectedError, RetryableError
from disparo.providers.http import raise_for_outcome

# A token is dropped this long before its announced expiry (5.6: e.g. 60 s).
EXPIRY_MARGIN = 60.0


@dataclass(frozen=True)
class Token:
    value: str = field(repr=False)
    # time.monotonic() after which it is not used; None: until the API refuses it.
    expires_at: float | None
    instance_url: str = ""
    rest_instance_url: str = ""

    def fresh(self) -> bool:
        return self.expires_at is None or time.monotonic() < self.expires_at


class TokenCache:
    """Tokens by account key, shared by every job of the process; one fetch at a time per
    key, so concurrent batches wait for one token instead of each asking for their own."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, ...], Token] = {}
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}

    def lock(self, key: tuple[str, ...]) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def get(self, key: tuple[str, ...]) -> Token | None:
        token = self._tokens.get(key)
        return token if token is not None and token.fresh() else None

    def put(self, key: tuple[str, ...], token: Token) -> None:
        self._tokens[key] = token

    def discard(self, key: tuple[str, ...], token: Token) -> None:
        """Forget `token` (refused with 401) unless another job already replaced it."""
        if self._tokens.get(key) is token:
            del self._tokens[key]


class CachedBearerAuth(httpx.Auth):
    """Bearer auth over a shared TokenCache; subclasses say how a token is fetched."""

    def __init__(
        self, client: httpx.AsyncClient, cache: TokenCache, key: tuple[str, ...], timeout: float
    ) -> None:
        self._client = client
        self._cache = cache
        self._key = key
        self._timeout = timeout
        # The token this call got: used for its request even if it is already inside the
        # expiry margin (a provider announcing a very short lifetime would otherwise make
        # every request fetch another one).
        self._token: Token | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={self._key[:1]!r})"

    async def token(self) -> Token:
        async with self._cache.lock(self._key):
            token = self._cache.get(self._key)
            if token is None:
                token = await self._fetch()
                self._cache.put(self._key, token)
        self._token = token
        return token

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self._token or await self.token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code == 401:
            # Expired or revoked: one new token, one more try; a second 401 stands.
            self._cache.discard(self._key, token)
            self._token = None
            token = await self.token()
            request.headers["Authorization"] = f"Bearer {token.value}"
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("disparo's provider calls are asynchronous")

    async def _fetch(self) -> Token:
        raise NotImplementedError

    async def _token_answer(self, url: str, what: str, **request: Any) -> dict[str, Any]:
        """POST to a token endpoint. Asking for a token changes nothing at the provider, so
        every failure to get an answer is retryable; a refusal is final."""
        try:
            response = await self._client.post(url, timeout=self._timeout, **request)
            raise_for_outcome(response)
        except OutboundRefused as exc:
            # The credentials never left: the token URL is not one disparo may call.
            raise RejectedError(f"URL de token recusada ({what}): {exc.message}") from exc
        except ResponseTooLarge as exc:
            raise RejectedError(
                f"token {what}: resposta maior que {exc.limit} bytes "
                "(DISPARO_OUTBOUND_MAX_RESPONSE_BYTES)",
                status_code=exc.status_code,
            ) from exc
        except httpx.UnsupportedProtocol as exc:
            raise RejectedError(f"URL de token inválida ({what}): {_host(url)}") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"token {what} indisponível: {type(exc).__name__}") from exc
        except OutcomeUnknownError as exc:
            raise RetryableError(
                f"token {what}: {exc.message}", status_code=exc.status_code
            ) from exc
        except RejectedError as exc:
            raise RejectedError(
                f"{what} recusou a autenticação: {_oauth_error(exc.body) or exc.message}",
                status_code=exc.status_code,
                body=exc.body,
            ) from exc
        answer = json_or_none(response.content)
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise RejectedError(
                f"{what} não devolveu access_token", status_code=response.status_code
            )
        # The bearer token is a secret like the password that bought it.
        redaction.remember(answer["access_token"])
        return answer


class CoreAuth(CachedBearerAuth):
    """Salesforce Core, username-password grant (5.6 phase 1)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        cache: TokenCache,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(client, cache, ("core", token_url, client_id, username), timeout)
        self._token_url = token_url
        self._form = {
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": client_secret,
            "username": username,
            "password": password,
        }

    async def _fetch(self) -> Token:
        answer = await self._token_answer(
            self._token_url, "Salesforce", data=self._form, headers={"Accept": "application/json"}
        )
        # The password grant announces no lifetime: the token is used until it gets a 401.
        return Token(
            answer["access_token"], None, instance_url=str(answer.get("instance_url") or "")
        )


class MarketingCloudAuth(CachedBearerAuth):
    """Marketing Cloud, client-credentials grant (5.6 phase 3)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        cache: TokenCache,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        account_id: str = "",
        timeout: float = 30.0,
    ) -> None:
        super().__init__(client, cache, ("mkc", token_url, client_id, account_id), timeout)
        self._token_url = token_url
        self._body: dict[str, str] = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        if account_id:
            self._body["account_id"] = account_id

    async def _fetch(self) -> Token:
        answer = await self._token_answer(self._token_url, "Marketing Cloud", json=self._body)
        expires_in = answer.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 1080.0
        return Token(
            answer["access_token"],
            time.monotonic() + max(0.0, lifetime - EXPIRY_MARGIN),
            rest_instance_url=str(answer.get("rest_instance_url") or ""),
        )


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or "?"
    except httpx.InvalidURL:
        return "?"


def _oauth_error(body: str) -> str:
    """`invalid_grant: authentication failure` from an OAuth error body, or ""."""
    answer = json_or_none(body)
    if not isinstance(answer, dict) or "error" not in answer:
        return ""
    description = answer.get("error_description")
    return f"{answer['error']}: {description}" if description else str(answer["error"])
