"""Salesforce: contacts into Core in chunks of 200 (`salesforce-send`), then the Marketing
Cloud automation run after a delay (`salesforce-mkc`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import structlog

from disparo.errors import CredentialsError
from disparo.parsing import json_or_none
from disparo.providers.base import (
    BatchRequest,
    BatchSettings,
    OutcomeUnknownError,
    RejectedError,
    RetryableError,
    SendResult,
    require_credentials,
)
from disparo.providers.http import body_text, post_json
from disparo.providers.salesforce.auth import CoreAuth, MarketingCloudAuth, TokenCache
from disparo.providers.salesforce.lookup import (
    contacts_query,
    created_phones,
    query_url,
    received,
)
from disparo.providers.salesforce.mapper import (
    already_running,
    automations_url,
    build_collections,
    collections_url,
    rate_limit_wait,
    record_failures,
)
from disparo.providers.steps import FetchCredentials, StepRequest
from disparo.providers.unknowns import ReceivedPhones, UnknownBatch

log = structlog.get_logger(__name__)

CORE_REQUIRED = ("client_id", "client_secret", "username", "password", "token_url")
ENV_REQUIRED = ("operacao", "automation_id")
# A 429 asking for longer than this is not waited out in the job: it is retried later.
MAX_IN_JOB_WAIT = 30.0
MKC_SUCCESS = "Automação do Marketing Cloud executada com sucesso"


@dataclass(frozen=True, slots=True)
class MarketingCloudCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    token_url: str
    api_url: str = ""
    account_id: str = ""


@dataclass(frozen=True, slots=True)
class SalesforceCredentials:
    client_id: str
    client_secret: str = field(repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    token_url: str = ""
    api_url: str = ""
    operacao: str = ""
    automation_id: str = ""
    mkc: MarketingCloudCredentials | None = None


def _value(raw: Mapping[str, Any], *names: str) -> str:
    return next((str(raw[n]).strip() for n in names if raw.get(n) not in (None, "")), "")


def marketing_cloud_from(
    raw: Mapping[str, Any], prefixes: tuple[str, ...]
) -> MarketingCloudCredentials | None:
    """`mkc_*`/`mc_*` keys of the Salesforce block, or the plain keys of the `mkc` route."""

    def pick(name: str) -> str:
        return _value(raw, *(prefix + name for prefix in prefixes))

    client_id, secret, token_url = pick("client_id"), pick("client_secret"), pick("token_url")
    if not (client_id and secret and token_url):
        return None
    return MarketingCloudCredentials(
        client_id, secret, token_url, api_url=pick("api_url"), account_id=pick("account_id")
    )


class SalesforceProvider(BatchSettings):
    code = "SALESFORCE"
    credentials_path = "salesforce"
    needs_row_extra = False

    def __init__(
        self,
        *,
        batch_size: int,
        timeout: float,
        max_attempts: int,
        api_version: str = "59.0",
        empty_cpf: str = "",
        mkc_timeout: float = 30.0,
        rate_limit_waits: int = 5,
        query_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            batch_size=min(batch_size, 200), timeout=timeout, max_attempts=max_attempts
        )
        self._api_version = api_version
        self._empty_cpf = empty_cpf
        self._mkc_timeout = mkc_timeout
        self._rate_limit_waits = rate_limit_waits
        self._query_timeout = query_timeout
        # One token per account for the whole process (5.6: reused, not fetched per call).
        self.tokens = TokenCache()

    def parse_credentials(self, raw: Mapping[str, Any]) -> SalesforceCredentials:
        values = {name: _value(raw, name) for name in (*CORE_REQUIRED, *ENV_REQUIRED)}
        require_credentials("Salesforce", values)
        return SalesforceCredentials(
            **values,
            api_url=_value(raw, "api_url"),
            mkc=marketing_cloud_from(raw, ("mkc_", "mc_")),
        )

    async def send(
        self, client: httpx.AsyncClient, credentials: SalesforceCredentials, batch: BatchRequest
    ) -> SendResult:
        """One batch = one sObject Collections request of at most 200 records, so a retry
        never resends records another request already created."""
        auth = self._core_auth(client, credentials)
        token = await auth.token()
        url = collections_url(credentials.api_url, token.instance_url, self._api_version)
        body = build_collections(batch.recipients, credentials.operacao, self._empty_cpf)
        response = await post_json(
            client, url, orjson.dumps(body), auth=auth, timeout=self._timeout
        )
        answer = json_or_none(response.content)
        failed = record_failures(answer, batch.recipients)
        if failed is None:
            raise OutcomeUnknownError(
                "resposta do Salesforce sem a lista de resultados por registro: "
                + body_text(response)[:300],
                status_code=response.status_code,
            )
        return SendResult(response_text=body_text(response), failed_ids=failed)

    async def received_phones(
        self, client: httpx.AsyncClient, credentials: SalesforceCredentials, batch: UnknownBatch
    ) -> ReceivedPhones:
        """Which of the batch's phones Core holds as contacts of this operação created since
        the claim: one SOQL query (a batch is at most 200 phones) with phase 1's token."""
        auth = self._core_auth(client, credentials)
        token = await auth.token()
        url = query_url(credentials.api_url, token.instance_url, self._api_version)
        soql = contacts_query(credentials.operacao, batch.phones, batch.claimed_at)
        found = await created_phones(client, auth, url, soql, self._query_timeout)
        return received(found, batch, credentials.operacao)

    def _core_auth(self, client: httpx.AsyncClient, credentials: SalesforceCredentials) -> CoreAuth:
        return CoreAuth(
            client,
            self.tokens,
            token_url=credentials.token_url,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            username=credentials.username,
            password=credentials.password,
            timeout=30.0,
        )

    async def run_step(
        self,
        client: httpx.AsyncClient,
        credentials: SalesforceCredentials,
        request: StepRequest,
        fetch_credentials: FetchCredentials,
    ) -> str:
        """Marketing Cloud token (cached for its lifetime), then `runallonce`."""
        mkc = credentials.mkc
        if mkc is None:
            # Gen B WordPress keeps Marketing Cloud apart: the `mkc` route (decision 7.8).
            mkc = marketing_cloud_from(await fetch_credentials("mkc"), ("",))
        if mkc is None:
            raise CredentialsError("Credenciais do Marketing Cloud incompletas")
        auth = MarketingCloudAuth(
            client,
            self.tokens,
            token_url=mkc.token_url,
            client_id=mkc.client_id,
            client_secret=mkc.client_secret,
            account_id=mkc.account_id,
            timeout=self._mkc_timeout,
        )
        token = await auth.token()
        base = automations_url(mkc.api_url, token.rest_instance_url)
        if base is None:
            raise CredentialsError("Sem URL da API de automações do Marketing Cloud")
        url = f"{base}/{quote(credentials.automation_id, safe='')}/actions/runallonce"
        return await self._run_automation(client, url, auth)

    async def _run_automation(
        self, client: httpx.AsyncClient, url: str, auth: MarketingCloudAuth
    ) -> str:
        waits = 0
        while True:
            try:
                response = await post_json(client, url, b"{}", auth=auth, timeout=self._mkc_timeout)
            except RetryableError as exc:
                wait = _rate_limited_wait(exc)
                if wait is None or wait > MAX_IN_JOB_WAIT or waits >= self._rate_limit_waits:
                    raise
                waits += 1
                # Over the rate limit is not a failure: wait as asked, then try again.
                log.info("mkc.rate_limited", wait_s=wait, wait_number=waits)
                await asyncio.sleep(wait)
                continue
            except RejectedError as exc:
                if already_running(exc.body):
                    return f"Automação já em execução: {exc.body}"
                raise
            return f"{MKC_SUCCESS}: {body_text(response)}" if response.text else MKC_SUCCESS


def _rate_limited_wait(exc: RetryableError) -> float | None:
    if exc.status_code != 429:
        return None
    return rate_limit_wait(exc.retry_after, json_or_none(exc.body))
