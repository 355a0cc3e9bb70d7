"""Ótima RCS (prefix O): one POST per customer_code group and 1,000 messages; batches are
planned per group and at most 1,000 recipients, so a batch is normally one request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from disparo.parsing import json_or_none
from disparo.providers.base import (
    BatchRequest,
    BatchSettings,
    ProviderError,
    RejectedError,
    SendResult,
)
from disparo.providers.http import body_text, post_json
from disparo.providers.otima import OtimaAccount
from disparo.providers.rcs_otima.mapper import (
    MappingError,
    OtimaRequest,
    as_json,
    build_requests,
    campaign_of,
    customer_code_of,
)
from disparo.providers.rcs_otima.wire import DEFAULT_API_URL, MAX_MESSAGES

NOT_RCS = "o aparelho não recebe RCS (Ótima)"


OtimaCredentials = OtimaAccount


class OtimaProvider(BatchSettings):
    code = "RCS_OTIMA"
    credentials_path = "rcs_otima"
    needs_row_extra = True  # variables, midia_campanha
    ungrouped_reason = "sem customer_code (na mensagem, no id_carteira ou nas credenciais)"
    # A batch (one customer_code) goes out in requests of this many messages: the
    # preflight counts requests with it (Provider's optional attribute).
    max_recipients_per_request = MAX_MESSAGES

    def __init__(
        self,
        *,
        batch_size: int,
        timeout: float,
        max_attempts: int,
        callbacks: tuple[str, str] = ("", ""),
    ) -> None:
        # More per batch would make a batch several requests (see send).
        super().__init__(
            batch_size=min(batch_size, MAX_MESSAGES), timeout=timeout, max_attempts=max_attempts
        )
        self._callbacks = callbacks

    def _callbacks_of(self, batch: BatchRequest) -> tuple[str, str]:
        """The campaign's own URLs (with its token) when disparo has a public URL, else the
        fixed ones of the settings, if any."""
        return batch.callback_urls if any(batch.callback_urls) else self._callbacks

    def parse_credentials(self, raw: Mapping[str, Any]) -> OtimaCredentials:
        return OtimaCredentials.parse("Ótima RCS", raw, DEFAULT_API_URL)

    def recipient_group(self, row: Mapping[str, Any], credentials: OtimaCredentials) -> str | None:
        mensagem, carteira = row.get("mensagem"), row.get("id_carteira")
        code = customer_code_of(
            mensagem if isinstance(mensagem, str) else "",
            str(carteira) if isinstance(carteira, str | int) else "",
            credentials.customer_code,
        )
        return code or None

    async def send(
        self, client: httpx.AsyncClient, credentials: OtimaCredentials, batch: BatchRequest
    ) -> SendResult:
        defaults = {
            "broker_code": credentials.broker_code,
            "template_code": credentials.template_code,
        }
        first = batch.recipients[0]
        try:
            campaign = campaign_of(
                batch.campaign_text or first.message, first, defaults, self._callbacks_of(batch)
            )
            requests = build_requests(campaign, batch.recipients, credentials.customer_code)
        except MappingError as exc:
            raise RejectedError(str(exc)) from exc
        if not requests:
            raise RejectedError("Nenhuma mensagem com id_carteira (customer_code) para envio")
        result = SendResult(response_text="")
        for index, request in enumerate(requests):
            try:
                response = await self._post(client, credentials, request)
            except ProviderError as exc:
                if index == 0:
                    raise  # nothing went out: the batch's usual outcome rules apply
                _give_up(result, requests[index:], exc)
                break
            _read_answer(result, request, response)
        return result

    async def _post(
        self, client: httpx.AsyncClient, credentials: OtimaCredentials, request: OtimaRequest
    ) -> httpx.Response:
        return await post_json(
            client,
            credentials.api_url + request.path,
            as_json(request.body),
            headers={"authorization": credentials.token},
            timeout=self._timeout,
        )


def _read_answer(result: SendResult, request: OtimaRequest, response: httpx.Response) -> None:
    answer = json_or_none(response.content)
    answer = answer if isinstance(answer, dict) else {}
    not_rcs, by_sms = _phones(answer.get("not_rcs_capable")), _phones(answer.get("fallback_sent"))
    for recipient in request.recipients:
        if recipient.phone in by_sms:
            result.sms_fallback_ids.add(recipient.id)
        elif recipient.phone in not_rcs:
            result.unreachable_ids[recipient.id] = NOT_RCS
    text = body_text(response) or "Mensagens recebidas pela Ótima"
    result.response_text = f"{result.response_text}\n{text}" if result.response_text else text


def _give_up(result: SendResult, unsent: list[OtimaRequest], exc: ProviderError) -> None:
    """Earlier requests of this batch were accepted, so the batch cannot be retried whole
    (4.4): the recipients of this and the later requests fail, with the reason."""
    reason = f"não enviado: {exc.message}"
    for request in unsent:
        for recipient in request.recipients:
            result.failed_ids[recipient.id] = reason


def _phones(value: object) -> set[str]:
    return {str(phone) for phone in value} if isinstance(value, list) else set()
