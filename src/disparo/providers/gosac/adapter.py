"""GOSAC: create the campaign (`gosac-send`), then start it after a delay (`gosac-start`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from disparo.parsing import json_or_none
from disparo.providers.base import (
    BatchRequest,
    BatchSettings,
    RejectedError,
    SendResult,
    UrlTokenCredentials,
)
from disparo.providers.gosac.mapper import (
    already_started,
    build_create,
    campaign_id_of,
    reports_started,
)
from disparo.providers.http import body_text, post_json, send_json
from disparo.providers.steps import FetchCredentials, StepRequest

NO_CONTACTS = "Nenhum contato válido para enviar"
NO_ID = "ID da campanha não encontrado na resposta"


# the full campaign-creation endpoint: a url and a token, both required.
GosacCredentials = UrlTokenCredentials


class GosacProvider(BatchSettings):
    code = "GOSAC"
    credentials_path = "gosac"
    needs_row_extra = False

    def __init__(
        self, *, batch_size: int, timeout: float, start_timeout: float, max_attempts: int
    ) -> None:
        super().__init__(batch_size=batch_size, timeout=timeout, max_attempts=max_attempts)
        self._start_timeout = start_timeout

    def parse_credentials(self, raw: Mapping[str, Any]) -> GosacCredentials:
        return GosacCredentials.parse("GOSAC", raw)

    async def send(
        self, client: httpx.AsyncClient, credentials: GosacCredentials, batch: BatchRequest
    ) -> SendResult:
        text = batch.campaign_text or (batch.recipients[0].message if batch.recipients else "")
        plan = build_create(batch.recipients, text, datetime.now(UTC))
        if not plan.body["contacts"]:
            raise RejectedError(NO_CONTACTS)
        headers = {
            "Accept": "application/json",
            "User-Agent": "Mozilla/5.0",
            "Authorization": credentials.token,
        }
        response = await post_json(
            client,
            credentials.url,
            orjson.dumps(plan.body),
            headers=headers,
            timeout=self._timeout,
        )
        campaign_id = campaign_id_of(json_or_none(response.content))
        if campaign_id is None:
            # Accepted, but without its id the start can never be sent: not resent blind.
            raise RejectedError(NO_ID, status_code=response.status_code, body=body_text(response))
        text = body_text(response) or f"Campanha GOSAC criada ({campaign_id})"
        return SendResult(response_text=text, reference=campaign_id, failed_ids=plan.skipped)

    async def run_step(
        self,
        client: httpx.AsyncClient,
        credentials: GosacCredentials,
        request: StepRequest,
        fetch_credentials: FetchCredentials,
    ) -> str:
        """PUT {url}/{id}/status/started; "already started" is success (5.2)."""
        if request.send_response and reports_started(json_or_none(request.send_response)):
            return "Campanha já iniciada na criação; início não enviado"
        if not request.reference:
            raise RejectedError(NO_ID)
        url = f"{credentials.url}/{quote(request.reference, safe='')}/status/started"
        try:
            response = await send_json(
                client,
                "PUT",
                url,
                b"{}",
                headers={"Authorization": credentials.token},
                timeout=self._start_timeout,
            )
        except RejectedError as exc:
            if exc.status_code is not None and already_started(
                exc.status_code, exc.body, json_or_none(exc.body)
            ):
                return f"Campanha já iniciada (HTTP {exc.status_code}): {exc.body}"
            raise
        return body_text(response) or "Campanha iniciada"
