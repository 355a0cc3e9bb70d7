"""The Ótima WhatsApp HSM bulk request and its answer (CONTRACTS.md 5.7)."""

from __future__ import annotations

from typing import NotRequired, TypedDict

DEFAULT_API_URL = "https://services.otima.digital/v1/whatsapp"
HSM_PATH = "/bulk/message/hsm"
# Not known for this endpoint: 5.5's 1,000 (ASSUMED), as batches, never truncation.
MAX_MESSAGES = 1000
# Gen C: broker_code is the sender's phone number, digits only, at least 10 of them.
MIN_BROKER_DIGITS = 10


class HsmMessage(TypedDict):
    # Gen C's recipient key (the vendor requires it); Gen B accounts also read `phone`.
    whatsapp: str
    document: str
    variables: dict[str, str]
    extra_fields: dict[str, str]
    phone: NotRequired[str]
    date: NotRequired[str]
    url_callback_status: NotRequired[str]
    url_callback_mo: NotRequired[str]


class HsmBody(TypedDict):
    broker_code: str
    customer_code: str
    template_code: str
    messages: list[HsmMessage]


# ASSUMED answer: one entry per message; disparo reads the failed ones when present.
class HsmAnswerEntry(TypedDict, total=False):
    message_id: str
    status: str
    phone: str
    status_description: str
