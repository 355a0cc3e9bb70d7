"""Pure functions: stored recipients -> the Ótima WhatsApp HSM bulk request (CONTRACTS 5.7)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from disparo.providers.base import Recipient
from disparo.providers.text import cpf_helpers, json_object
from disparo.providers.whatsapp_otima.wire import MIN_BROKER_DIGITS, HsmBody, HsmMessage


class MappingError(ValueError):
    """The rows cannot make a valid request (no template, an empty template variable)."""


class BrokerCodeError(ValueError):
    """No usable broker_code (the sender's number): a credentials problem (erro_credenciais)."""


@dataclass(frozen=True, slots=True)
class HsmCampaign:
    """What the first row and the credentials decide for every message of a campaign."""

    template_code: str
    broker_code: str
    customer_code: str
    variables_map: Mapping[str, Any] = field(default_factory=dict)


def digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def national_number(telefone: str) -> str:
    """The number without +, spaces, brackets or dashes, and without the leading 55 when it
    is longer than 11 digits (DDD 55 itself is a Brazilian area code)."""
    number = digits(telefone)
    return number[2:] if len(number) > 11 and number.startswith("55") else number


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    return str(value).strip() if isinstance(value, str | int) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sender_of(mensagem: str, default: str) -> str:
    """The broker_code (the sender's number, digits) of the `mensagem` JSON, else `default`;
    BrokerCodeError when it has fewer than 10 digits (Gen C's check)."""
    data = json_object(mensagem) or {}
    broker = digits(_text(data, "broker_code") or default)
    if len(broker) < MIN_BROKER_DIGITS:
        raise BrokerCodeError(
            "broker_code WhatsApp Ótima inválido ou ausente: o número do remetente, "
            f"com pelo menos {MIN_BROKER_DIGITS} dígitos"
        )
    return broker


def campaign_of(first_text: str, credentials: Mapping[str, str]) -> HsmCampaign:
    """template_code, broker_code and customer_code from the first row's `mensagem` JSON,
    else the credentials; MappingError without a template, BrokerCodeError without a
    sender number of at least 10 digits."""
    data = json_object(first_text) or {}
    template = _text(data, "template_code") or credentials.get("template_code", "")
    if not template:
        raise MappingError("template_code ausente (na mensagem e nas credenciais)")
    broker = sender_of(first_text, credentials.get("broker_code", ""))
    customer = _text(data, "customer_code") or credentials.get("customer_code", "")
    return HsmCampaign(template, broker, customer, _object(data.get("variables_map")))


def _columns(recipient: Recipient) -> dict[str, str]:
    return {
        "nome": recipient.name,
        "telefone": recipient.phone,
        "cpf_cnpj": recipient.cpf_cnpj,
        "id_carteira": recipient.id_carteira,
        "idgis_ambiente": recipient.idgis_ambiente,
        "idcob_contrato": recipient.idcob_contrato,
    }


def _scalar(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value)


def _from_field(name: str, own: Mapping[str, Any], recipient: Recipient) -> str:
    """A `field` source: the row's `mensagem.variables`, then its `variables`, then its
    column of that name."""
    row_variables = _object((recipient.extra or {}).get("variables"))
    for source in (own, row_variables):
        if value := _scalar(source.get(name)).strip():
            return value
    return _columns(recipient).get(name, "").strip()


def variables_for(campaign: HsmCampaign, recipient: Recipient) -> dict[str, str]:
    """The template's parameters for one recipient (names without 5.5's dashes). A mapped
    parameter that comes out empty refuses the batch (Gen C's safety check)."""
    own = _object((json_object(recipient.message) or {}).get("variables"))
    if not campaign.variables_map:
        if own:
            return {str(name): _scalar(value) for name, value in own.items()}
        return {"nome": recipient.name}
    variables: dict[str, str] = {}
    for name, entry in campaign.variables_map.items():
        source = _object(entry)
        value = _scalar(source.get("value"))
        if source.get("type") != "text":
            value = _from_field(value, own, recipient)
        if not value.strip():
            raise MappingError(f"variável {name!r} do template vazia para {recipient.phone}")
        variables[str(name)] = value
    return variables


def extra_fields(recipient: Recipient) -> dict[str, str]:
    fields = {
        "nome": recipient.name,
        "id_carteira": recipient.id_carteira or recipient.idgis_ambiente,
        "idcob_contrato": recipient.idcob_contrato,
    }
    return fields | cpf_helpers(recipient.cpf_cnpj)


def message_for(campaign: HsmCampaign, recipient: Recipient, *, with_phone: bool) -> HsmMessage:
    number = national_number(recipient.phone)
    message = HsmMessage(
        whatsapp=number,
        document=digits(recipient.cpf_cnpj),
        variables=variables_for(campaign, recipient),
        extra_fields=extra_fields(recipient),
    )
    if with_phone:
        message["phone"] = number
    registered = _scalar((recipient.extra or {}).get("data_cadastro")).strip()
    if registered:
        message["date"] = registered
    return message


def build_body(
    campaign: HsmCampaign,
    recipients: Sequence[Recipient],
    *,
    with_phone: bool = False,
    callbacks: tuple[str, str] = ("", ""),
) -> HsmBody:
    """`callbacks`: (url_callback_status, url_callback_mo), each left out when empty."""
    messages = [message_for(campaign, r, with_phone=with_phone) for r in recipients]
    status_url, mo_url = callbacks
    for message in messages:
        if status_url:
            message["url_callback_status"] = status_url
        if mo_url:
            message["url_callback_mo"] = mo_url
    return HsmBody(
        broker_code=campaign.broker_code,
        customer_code=campaign.customer_code,
        template_code=campaign.template_code,
        messages=messages,
    )


def as_json(body: HsmBody) -> bytes:
    return orjson.dumps(cast(dict[str, Any], body))
