"""Ótima WhatsApp (prefix W): one HSM bulk POST per batch; batches hold at most 1,000
recipients, so a retry never resends a message another request carried."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import httpx

from disparo.errors import CredentialsError
from disparo.parsing import json_or_none
from disparo.providers.base import (
    BatchRequest,
    BatchSettings,
    InvalidBatchError,
    SendResult,
)
from disparo.providers.http import body_text, post_json
from disparo.providers.otima import OtimaAccount
from disparo.providers.whatsapp_otima.mapper import (
    BrokerCodeError,
    MappingError,
    as_json,
    build_body,
    campaign_of,
    national_number,
    sender_of,
)
from disparo.providers.whatsapp_otima.wire import DEFAULT_API_URL, HSM_PATH, MAX_MESSAGES

# Answer entries whose status means the message will not be delivered (ASSUMED names).
FAILED_STATUSES = frozenset({"FAILED", "ERROR", "REJECTED", "INVALID"})


WhatsappOtimaCredentials = OtimaAccount


@lru_cache(maxsize=64)
def _check_sender(mensagem: str, default_broker: str) -> None:
    """Raise CredentialsError when the message and the credentials give no usable sender."""
    try:
        sender_of(mensagem, default_broker)
    except BrokerCodeError as exc:
        raise CredentialsError(str(exc), ["broker_code"]) from exc


class WhatsappOtimaProvider(BatchSettings):
    code = "WHATSAPP_OTIMA"
    credentials_path = "whatsapp_otima"
    needs_row_extra = True  # variables, data_cadastro
    # Every row belongs to the one group (5.7: one customer_code per request); the hook runs
    # at ingest, so a bad sender number fails the campaign (erro_credenciais) before sending.
    ungrouped_reason = "sem grupo"

    def recipient_group(
        self, row: Mapping[str, Any], credentials: WhatsappOtimaCredentials
    ) -> str | None:
        mensagem = row.get("mensagem")
        _check_sender(mensagem if isinstance(mensagem, str) else "", credentials.broker_code)
        return "campanha"

    def __init__(
        self, *, batch_size: int, timeout: float, max_attempts: int, send_phone: bool = False
    ) -> None:
        super().__init__(
            batch_size=min(batch_size, MAX_MESSAGES), timeout=timeout, max_attempts=max_attempts
        )
        self._send_phone = send_phone

    def parse_credentials(self, raw: Mapping[str, Any]) -> WhatsappOtimaCredentials:
        return WhatsappOtimaCredentials.parse("Ótima WhatsApp", raw, DEFAULT_API_URL)

    async def send(
        self, client: httpx.AsyncClient, credentials: WhatsappOtimaCredentials, batch: BatchRequest
    ) -> SendResult:
        defaults = {
            "broker_code": credentials.broker_code,
            "customer_code": credentials.customer_code,
            "template_code": credentials.template_code,
        }
        try:
            campaign = campaign_of(batch.campaign_text or batch.recipients[0].message, defaults)
            body = build_body(
                campaign,
                batch.recipients,
                with_phone=self._send_phone,
                callbacks=batch.callback_urls,
            )
        except BrokerCodeError as exc:
            raise CredentialsError(str(exc), ["broker_code"]) from exc
        except MappingError as exc:
            raise InvalidBatchError(str(exc)) from exc
        response = await post_json(
            client,
            credentials.api_url + HSM_PATH,
            as_json(body),
            headers={"authorization": credentials.token},
            timeout=self._timeout,
        )
        text = body_text(response) or "Mensagens recebidas pela Ótima"
        return SendResult(response_text=text, failed_ids=_failed(batch, response))


def _failed(batch: BatchRequest, response: httpx.Response) -> dict[int, str]:
    """Recipients the answer's per-message entries report failed; {} when it has none."""
    answer = json_or_none(response.content)
    if not isinstance(answer, list):
        return {}
    failed: dict[str, str] = {}
    for entry in answer:
        if isinstance(entry, dict) and str(entry.get("status", "")).upper() in FAILED_STATUSES:
            reason = str(entry.get("status_description") or entry.get("status"))
            failed[str(entry.get("phone", ""))] = f"Ótima: {reason}"
    return {
        r.id: failed[national_number(r.phone)]
        for r in batch.recipients
        if national_number(r.phone) in failed
    }
