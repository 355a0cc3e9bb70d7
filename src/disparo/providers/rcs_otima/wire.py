"""The Ótima RCS bulk requests (CONTRACTS.md 5.5)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

DEFAULT_API_URL = "https://services.otima.digital/v1/rcs"
TEMPLATE_PATH = "/bulk/message/template"
TEXT_PATH = "/bulk/message/text"
DOCUMENT_PATH = "/bulk/message/document"
# Gen A's cap, applied here as chunks, never as truncation (decision 11).
MAX_MESSAGES = 1000
# The ASSUMED SMS limit of the provider's own fallback text.
FALLBACK_MAX_CHARS = 160
FILE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "application/pdf", "video/mp4"})

MessageKind = Literal["template", "text", "document"]
PATHS: dict[MessageKind, str] = {
    "template": TEMPLATE_PATH,
    "text": TEXT_PATH,
    "document": DOCUMENT_PATH,
}


class Fallback(TypedDict):
    type: Literal["SMS"]
    message: str


class TemplateMessage(TypedDict):
    phone: str
    document: str
    variables: dict[str, str]
    extra_fields: dict[str, str]
    fallback: NotRequired[Fallback]
    url_callback_status: NotRequired[str]
    url_callback_mo: NotRequired[str]


class TextMessage(TypedDict):
    phone: str
    document: str
    message: str


class DocumentMessage(TypedDict):
    phone: str
    document: str
    message: str
    file_url: str
    file_type: str
    file_name: str


OtimaMessage = TemplateMessage | TextMessage | DocumentMessage


class OtimaBody(TypedDict):
    broker_code: str
    customer_code: str
    messages: list[OtimaMessage]
    template_code: NotRequired[str]


# ASSUMED answer: 5.5's success body, plus the numbers whose handsets cannot receive RCS and
# got nothing (`not_rcs_capable`), and those the provider reached by the message's own SMS
# fallback instead (`fallback_sent`). disparo reads both lists when present, nothing else.
class OtimaAnswer(TypedDict, total=False):
    success: bool
    message: str
    total: int
    not_rcs_capable: list[str]
    fallback_sent: list[str]
