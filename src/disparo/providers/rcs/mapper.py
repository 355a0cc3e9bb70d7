"""Pure functions: stored recipients -> CromosApp RCS import body (CONTRACTS.md 5.4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from disparo.providers.base import Recipient
from disparo.providers.cda.mapper import clean_field
from disparo.providers.rcs.wire import CREDENTIAL_OPTIONS, RcsImportBody
from disparo.providers.text import free_text


def cpf_digits(cpf_cnpj: str) -> str:
    return cpf_cnpj.replace(".", "").replace("-", "")


def line_for(recipient: Recipient) -> str:
    """`1;telefone;nome;idcob_contrato;cpf`: always five fields (the vendor format is
    positional; the original dropped empty ones and shifted the rest)."""
    fields = (
        "1",
        recipient.phone,
        recipient.name,
        recipient.idcob_contrato,
        cpf_digits(recipient.cpf_cnpj),
    )
    return ";".join(clean_field(value) for value in fields)


def media_of(recipients: Sequence[Recipient], credential_media: str) -> str:
    """The first row's `midia_campanha` (Gen C), else the credentials' value."""
    for recipient in recipients:
        value = (recipient.extra or {}).get("midia_campanha")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return credential_media.strip()


def build_import(
    api_key: str,
    codigo_equipe: str,
    recipients: Sequence[Recipient],
    now_ms: int,
    campaign_text: str,
    options: Mapping[str, str],
) -> RcsImportBody:
    """`options`: the credentials' optional keys (`midia_campanha`, tags...); each is added
    only when it has a value."""
    body: dict[str, Any] = {
        "chave_api": api_key,
        "codigo_equipe": codigo_equipe,
        "codigo_usuario": "1",
        "nome": f"campanha_{codigo_equipe}_{now_ms}",
        "ativo": True,
        "corpo_mensagem": free_text(campaign_text),
    }
    media = media_of(recipients, options.get("midia_campanha", ""))
    if media:
        body["midia_campanha"] = media
    for name in CREDENTIAL_OPTIONS:
        value = options.get(name, "").strip()
        if value:
            body[name] = value
    body["mensagens"] = [line_for(recipient) for recipient in recipients]
    return cast(RcsImportBody, body)
