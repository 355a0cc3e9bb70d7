"""What every provider adapter implements and the typed errors it raises."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeAlias, runtime_checkable

import httpx

from disparo.errors import CredentialsError, Outcome

# A provider's code ("CDA", "GOSAC"...): the registry's plugins name them (registry.py).
ProviderCode: TypeAlias = str


class ProviderError(Exception):
    """Base of every error a provider call can end in; `message` is shown to operators."""

    outcome = Outcome.REJECTED  # read by disparo.errors.classify

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body


class RejectedError(ProviderError):
    """The provider refused the request (4xx other than 408/429): resending cannot help."""


class InvalidBatchError(ProviderError):
    """The rows cannot make a valid request (e.g. no template): nothing was sent, and a
    campaign this ends tells WordPress erro_validacao."""

    outcome = Outcome.INVALID


class RetryableError(ProviderError):
    """The provider did not act on the request (connect error, 408, 429, 5xx): safe to resend."""

    outcome = Outcome.RETRY

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

    outcome = Outcome.UNKNOWN


def require_credentials(provider: str, values: Mapping[str, str]) -> None:
    """Raise CredentialsError naming every empty value, e.g. "Credenciais NOAH incompletas:
    falta url, token"."""
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise CredentialsError(
            f"Credenciais {provider} incompletas: falta {', '.join(missing)}", missing
        )


@dataclass(frozen=True, slots=True)
class UrlTokenCredentials:
    """A per-environment `{url, token}` block (GOSAC's creation endpoint, NOAH's API base)."""

    url: str
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"{type(self).__name__}(url={self.url!r}, token='***')"

    @classmethod
    def parse(cls, provider: str, raw: Mapping[str, Any]) -> UrlTokenCredentials:
        """Both required and trimmed; the URL without its trailing slash."""
        url = str(raw.get("url") or "").strip()
        token = str(raw.get("token") or "").strip()
        require_credentials(provider, {"url": url, "token": token})
        return cls(url=url.rstrip("/"), token=token)


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
    # (status, reply) URLs the provider calls back with this campaign's delivery receipts
    # and replies; ("", "") when disparo has no public URL (the fields are left out).
    callback_urls: tuple[str, str] = ("", "")


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


# A batch's recipients read `chunk` at a time (campaigns/batches.recipient_chunks).
RecipientChunks: TypeAlias = AsyncIterator[Sequence[Recipient]]


@runtime_checkable
class EncodesStreamed(Protocol):
    """An adapter whose batches are large enough (CDA: 100,000 recipients) that holding
    their recipients as objects costs several times their body: it encodes the body from the
    recipients read a chunk at a time, so a batch in flight holds its bytes and one chunk,
    then sends those bytes. `send` stays for callers that hold the recipients anyway."""

    async def encode_body(
        self, credentials: Any, batch: BatchRequest, chunks: RecipientChunks
    ) -> bytes:
        """The request body for `batch` (whose `recipients` are empty) from `chunks`."""
        ...

    async def send_body(
        self, client: httpx.AsyncClient, credentials: Any, body: bytes
    ) -> SendResult: ...


class Provider(Protocol):
    """Optional attributes read with getattr (providers/policy.py): `retry_policy`,
    `deduplicates`, `account_id(credentials)`; and `max_recipients_per_request` for an
    adapter that splits a batch into several HTTP requests (the preflight counts them)."""

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
