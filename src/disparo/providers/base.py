"""What every provider adapter implements, the typed errors it raises, and the prefix table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, runtime_checkable

import httpx

from disparo.queues.names import QueueName


class ProviderCode(StrEnum):
    CDA = "CDA"
    GOSAC = "GOSAC"
    NOAH = "NOAH"
    RCS = "RCS"
    RCS_OTIMA = "RCS_OTIMA"
    SALESFORCE = "SALESFORCE"
    WHATSAPP_OTIMA = "WHATSAPP_OTIMA"
    GOSAC_OFICIAL = "GOSAC_OFICIAL"
    NOAH_OFICIAL = "NOAH_OFICIAL"
    ROBBU_OFICIAL = "ROBBU_OFICIAL"
    TECHIA = "TECHIA"
    MAKING_OFICIAL = "MAKING_OFICIAL"


# CONTRACTS.md 3.1: the first character of agendamento_id, upper-cased, names the provider.
PREFIXES: Mapping[str, ProviderCode] = {
    "C": ProviderCode.CDA,
    "G": ProviderCode.GOSAC,
    "N": ProviderCode.NOAH,
    "R": ProviderCode.RCS,
    "O": ProviderCode.RCS_OTIMA,
    "S": ProviderCode.SALESFORCE,
    "W": ProviderCode.WHATSAPP_OTIMA,
    "F": ProviderCode.GOSAC_OFICIAL,
    "H": ProviderCode.NOAH_OFICIAL,
    "B": ProviderCode.ROBBU_OFICIAL,
    "T": ProviderCode.TECHIA,
    "M": ProviderCode.MAKING_OFICIAL,
}


PROVIDER_QUEUES: Mapping[ProviderCode, QueueName] = {
    ProviderCode.CDA: QueueName.CDA_SEND,
    ProviderCode.GOSAC: QueueName.GOSAC_SEND,
    ProviderCode.NOAH: QueueName.NOAH_SEND,
    ProviderCode.RCS: QueueName.RCS_SEND,
    ProviderCode.RCS_OTIMA: QueueName.RCS_OTIMA_SEND,
    ProviderCode.SALESFORCE: QueueName.SALESFORCE_SEND,
}


def identify_provider(agendamento_id: str) -> ProviderCode | None:
    """The provider named by the id's prefix, or None when the prefix means nothing."""
    stripped = agendamento_id.strip()
    return PREFIXES.get(stripped[:1].upper()) if stripped else None


class ProviderError(Exception):
    """Base of every error a provider call can end in; `message` is shown to operators."""

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body


class RejectedError(ProviderError):
    """The provider refused the request (4xx other than 408/429): resending cannot help."""


class RetryableError(ProviderError):
    """The provider did not act on the request (connect error, 408, 429, 5xx): safe to resend."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class OutcomeUnknownError(ProviderError):
    """The request may have reached the provider (read timeout after sending): never resend
    automatically to a provider that cannot deduplicate."""


class CredentialsError(Exception):
    """Credentials are missing or incomplete: the campaign fails with erro_credenciais."""

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.missing = list(missing)


def require_credentials(provider: str, values: Mapping[str, str]) -> None:
    """Raise CredentialsError naming every empty value, e.g. "Credenciais NOAH incompletas:
    falta url, token"."""
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise CredentialsError(
            f"Credenciais {provider} incompletas: falta {', '.join(missing)}", missing
        )


class Recipient(NamedTuple):
    """One message to send, as stored in campaign_messages (a tuple: a batch loads 100,000
    of them straight from database rows)."""

    id: int
    phone: str
    name: str
    cpf_cnpj: str
    id_carteira: str
    idgis_ambiente: str
    idcob_contrato: str
    message: str
    # The row's provider-specific fields (campaign_messages.extra): only loaded for
    # providers that say `needs_row_extra`.
    extra: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class BatchRequest:
    agendamento_id: str
    env_id: str
    sequence: int
    recipients: Sequence[Recipient]
    # The campaign's first WordPress row's text: the body of providers that take one body
    # for all recipients, the same for every batch.
    campaign_text: str = ""
    # The same for every attempt at this batch: adapters that declare `deduplicates` send
    # it where their provider honours one (an idempotency key, a client message id).
    idempotency_key: str = ""


@dataclass(slots=True)
class SendResult:
    """What the provider accepted. `failed_ids` lists recipients it rejected one by one."""

    response_text: str
    reference: str | None = None
    failed_ids: dict[int, str] = field(default_factory=dict)
    # RCS providers: recipients the provider reports it cannot reach on RCS (re-sent once as
    # SMS through the configured route), and those it reached through its own SMS fallback.
    unreachable_ids: dict[int, str] = field(default_factory=dict)
    sms_fallback_ids: set[int] = field(default_factory=set)


class Provider(Protocol):
    """Optional attributes read with getattr (providers/policy.py): `retry_policy`,
    `deduplicates`, `account_id(credentials)`."""

    code: ProviderCode
    credentials_path: str
    max_attempts: int
    # Whether sending needs the row's extra fields (variables, media...): storing them costs
    # a JSON value per recipient, so providers that only need the basics say no.
    needs_row_extra: bool

    def batch_size(self) -> int: ...

    def parse_credentials(self, raw: Mapping[str, Any]) -> Any: ...

    async def send(
        self, client: httpx.AsyncClient, credentials: Any, batch: BatchRequest
    ) -> SendResult: ...


class BatchSettings:
    """What every adapter keeps from its settings: batch size, request timeout and attempt
    budget (a base class of the adapters; they pass a capped batch size when theirs has a
    limit)."""

    def __init__(self, *, batch_size: int, timeout: float, max_attempts: int) -> None:
        self._batch_size = batch_size
        self._timeout = timeout
        self.max_attempts = max_attempts

    def batch_size(self) -> int:
        return self._batch_size


@runtime_checkable
class GroupsRecipients(Protocol):
    """A provider whose every request carries one group of recipients (Ótima RCS: one
    `customer_code`). Batches are planned per group, so one batch stays one request."""

    # Why a row that belongs to no group is SKIPPED.
    ungrouped_reason: str

    def recipient_group(self, row: Mapping[str, Any], credentials: Any) -> str | None: ...
