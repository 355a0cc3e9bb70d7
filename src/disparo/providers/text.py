"""Rules about WordPress row text shared by the free-text providers."""

from __future__ import annotations

from typing import Any

from disparo.parsing import json_or_none


def free_text(mensagem: str) -> str:
    """CONTRACTS.md 2.1.1: Gen C may wrap plain text as {"original_message": ...}."""
    parsed = json_object(mensagem)
    if parsed is not None and isinstance(parsed.get("original_message"), str):
        return str(parsed["original_message"])
    return mensagem


def cpf_helpers(cpf_cnpj: str) -> dict[str, str]:
    """Ótima's template helpers of an 11-digit CPF (5.5): "111.111.111-11", "111 111 111 11",
    its first three and its digits 9-11; {} for anything else (a CNPJ, nothing)."""
    cpf = "".join(ch for ch in cpf_cnpj if ch.isdigit())
    if len(cpf) != 11:
        return {}
    return {
        "CPF_PADRAO": f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}",
        "CPF_ESPACO": f"{cpf[:3]} {cpf[3:6]} {cpf[6:9]} {cpf[9:]}",
        "CPF_3_PRIM": cpf[:3],
        "CPF_3_ULT": cpf[8:11],
    }


def fallback_text(mensagem: str) -> str:
    """The SMS text a message carries for when RCS cannot reach the handset: `fallback` in
    the row's `mensagem` JSON, as a string or as the vendor's `{"type", "message"}` object.
    "" when the message names none."""
    parsed = json_object(mensagem)
    value = parsed.get("fallback") if parsed else None
    if isinstance(value, dict):
        value = value.get("message")
    return value.strip() if isinstance(value, str) else ""


def sms_text(mensagem: str) -> str:
    """What an SMS re-send of this message says: its fallback text, else its free text; ""
    when neither exists (a template message with no `original_message`)."""
    text = fallback_text(mensagem) or free_text(mensagem)
    return "" if json_object(text) is not None else text.strip()


def json_object(value: str) -> dict[str, Any] | None:
    """The text as a JSON object (a template source's `mensagem`, 2.1.1), or None."""
    candidate = value.lstrip()
    if not candidate.startswith("{"):
        return None
    parsed = json_or_none(candidate)
    return parsed if isinstance(parsed, dict) else None
