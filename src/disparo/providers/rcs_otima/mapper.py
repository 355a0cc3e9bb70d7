"""Pure functions: stored recipients -> Ótima RCS bulk requests (CONTRACTS.md 5.5)."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import orjson

from disparo.providers.base import Recipient
from disparo.providers.rcs_otima.wire import (
    FALLBACK_MAX_CHARS,
    FILE_TYPES,
    MAX_MESSAGES,
    PATHS,
    DocumentMessage,
    MessageKind,
    OtimaBody,
    OtimaMessage,
    TemplateMessage,
    TextMessage,
)
from disparo.providers.text import cpf_helpers, fallback_text, free_text, json_object


class MappingError(ValueError):
    """The rows cannot make a valid request (an empty template variable, a bad file type)."""


def parse_message(mensagem: str) -> dict[str, Any]:
    """The row's `mensagem` as a JSON object (template sources, 2.1.1), or {}."""
    return json_object(mensagem) or {}


def _text_field(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return str(value).strip() if isinstance(value, str | int) else ""


def customer_code_of(mensagem: str, id_carteira: str, default: str) -> str:
    """The row's `mensagem` customer_code, else its id_carteira, else the credentials'."""
    return _text_field(parse_message(mensagem), "customer_code") or id_carteira.strip() or default


@dataclass(frozen=True, slots=True)
class OtimaCampaign:
    """What the first row and the credentials decide for every request of a campaign."""

    kind: MessageKind
    broker_code: str
    template_code: str = ""
    file_url: str = ""
    file_type: str = ""
    file_name: str = ""
    status_callback: str = ""
    mo_callback: str = ""


def campaign_of(
    first_text: str,
    first: Recipient,
    credentials: Mapping[str, str],
    callbacks: tuple[str, str] = ("", ""),
) -> OtimaCampaign:
    """`credentials`: broker_code, template_code (optional defaults). The kind: template when
    a template_code is known, document when a file (or the row's media) is, else text."""
    data = parse_message(first_text)
    broker = _text_field(data, "broker_code") or credentials.get("broker_code", "")
    template = _text_field(data, "template_code") or credentials.get("template_code", "")
    status_url, mo_url = callbacks
    if template:
        return OtimaCampaign("template", broker, template, "", "", "", status_url, mo_url)
    media = (first.extra or {}).get("midia_campanha")
    file_url = _text_field(data, "file_url") or (media.strip() if isinstance(media, str) else "")
    if not file_url:
        return OtimaCampaign("text", broker)
    path = unquote(urlsplit(file_url).path)
    file_type = _text_field(data, "file_type") or (mimetypes.guess_type(path)[0] or "")
    if file_type not in FILE_TYPES:
        raise MappingError(f"tipo de arquivo não aceito pela Ótima: {file_type or file_url!r}")
    file_name = _text_field(data, "file_name") or path.rsplit("/", 1)[-1] or "arquivo"
    return OtimaCampaign("document", broker, "", file_url, file_type, file_name)


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _row_values(recipient: Recipient) -> dict[str, str]:
    """The row's columns by name: its own fields, then its `variables` object (Gen C)."""
    variables = (recipient.extra or {}).get("variables")
    values = {
        str(k): str(v)
        for k, v in (variables.items() if isinstance(variables, dict) else ())
        if isinstance(v, str | int | float)
    }
    values.update(
        nome=recipient.name,
        telefone=recipient.phone,
        cpf_cnpj=recipient.cpf_cnpj,
        id_carteira=recipient.id_carteira,
        idgis_ambiente=recipient.idgis_ambiente,
        idcob_contrato=recipient.idcob_contrato,
    )
    return values


def _bare(name: str) -> str:
    return name.strip().strip("-")


def _mapped(entry: Any, row: Mapping[str, str]) -> str:
    """A variables_map entry: type `text` is a literal, type `field` a column of the row."""
    if isinstance(entry, str):
        return row.get(entry, "")
    if not isinstance(entry, dict):
        return ""
    value = entry.get("value", entry.get("field", ""))
    if entry.get("type") == "text":
        return str(value) if value is not None else ""
    return row.get(str(value), "")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def template_variables(recipient: Recipient, data: Mapping[str, Any]) -> dict[str, str]:
    """`-name-` keys with bare aliases; MappingError when a named variable comes out empty
    (Gen C refused such a batch rather than send a message with a hole in it)."""
    explicit = _object(data.get("variables"))
    mapping = _object(data.get("variables_map"))
    row = _row_values(recipient)
    names = list(dict.fromkeys(_bare(str(n)) for n in (*explicit, *mapping) if _bare(str(n))))
    if not names:
        return {"-var1-": recipient.name, "var1": recipient.name}
    variables: dict[str, str] = {}
    for name in names:
        given = explicit.get(name, explicit.get(f"-{name}-"))
        value = str(given) if isinstance(given, str | int | float) else ""
        value = value or _mapped(mapping.get(name, mapping.get(f"-{name}-")), row)
        value = (value or row.get(name, "")).strip()
        if not value:
            raise MappingError(
                f"variável {name!r} do template vazia para o telefone {recipient.phone}"
            )
        variables[f"-{name}-"] = value
        variables[name] = value
    return variables


def extra_fields(recipient: Recipient) -> dict[str, str]:
    fields = {k: v for k, v in _row_values(recipient).items() if k != "telefone"}
    fields.update(
        nome=recipient.name,
        id_carteira=recipient.id_carteira,
        idcob_contrato=recipient.idcob_contrato,
    )
    return fields | cpf_helpers(recipient.cpf_cnpj)


def message_for(campaign: OtimaCampaign, recipient: Recipient) -> OtimaMessage:
    phone, document = recipient.phone, _digits(recipient.cpf_cnpj)
    if campaign.kind == "text":
        return TextMessage(phone=phone, document=document, message=free_text(recipient.message))
    if campaign.kind == "document":
        return DocumentMessage(
            phone=phone,
            document=document,
            message=free_text(recipient.message),
            file_url=campaign.file_url,
            file_type=campaign.file_type,
            file_name=campaign.file_name,
        )
    data = parse_message(recipient.message)
    message = TemplateMessage(
        phone=phone,
        document=document,
        variables=template_variables(recipient, data),
        extra_fields=extra_fields(recipient),
    )
    if fallback := fallback_text(recipient.message):
        message["fallback"] = {"type": "SMS", "message": fallback[:FALLBACK_MAX_CHARS]}
    if campaign.status_callback:
        message["url_callback_status"] = campaign.status_callback
    if campaign.mo_callback:
        message["url_callback_mo"] = campaign.mo_callback
    return message


@dataclass(frozen=True, slots=True)
class OtimaRequest:
    path: str
    body: OtimaBody
    recipients: Sequence[Recipient]


def build_requests(
    campaign: OtimaCampaign, recipients: Sequence[Recipient], default_customer: str
) -> list[OtimaRequest]:
    """One request per customer_code group and per 1,000 messages of it, rows in order;
    recipients with no customer code at all are left out (ingest already skipped them)."""
    groups: dict[str, list[Recipient]] = {}
    for recipient in recipients:
        code = customer_code_of(recipient.message, recipient.id_carteira, default_customer)
        if code:
            groups.setdefault(code, []).append(recipient)
    requests = []
    for customer_code, members in groups.items():
        for chunk in _chunks(members):
            body = OtimaBody(
                broker_code=campaign.broker_code,
                customer_code=customer_code,
                messages=[message_for(campaign, recipient) for recipient in chunk],
            )
            if campaign.kind == "template":
                body["template_code"] = campaign.template_code
            requests.append(OtimaRequest(PATHS[campaign.kind], body, chunk))
    return requests


def _chunks(members: list[Recipient]) -> Iterator[list[Recipient]]:
    for start in range(0, len(members), MAX_MESSAGES):
        yield members[start : start + MAX_MESSAGES]


def as_json(body: OtimaBody) -> bytes:
    return orjson.dumps(cast(dict[str, Any], body))
