"""Rules about WordPress row text shared by the free-text providers."""

from __future__ import annotations

import orjson


def free_text(mensagem: str) -> str:
    """CONTRACTS.md 2.1.1: Gen C may wrap plain text as {"original_message": ...}."""
    candidate = mensagem.lstrip()
    if not candidate.startswith("{"):
        return mensagem
    try:
        parsed = orjson.loads(candidate)
    except orjson.JSONDecodeError:
        return mensagem
    if isinstance(parsed, dict) and isinstance(parsed.get("original_message"), str):
        return str(parsed["original_message"])
    return mensagem


def fallback_text(mensagem: str) -> str:
    """The SMS text a message carries for when RCS cannot reach the handset: `fallback` in
    the row's `mensagem` JSON, as a string or as the vendor's `{"type", "message"}` object.
    "" when the message names none."""
    parsed = _json_object(mensagem)
    value = parsed.get("fallback") if parsed else None
    if isinstance(value, dict):
        value = value.get("message")
    return value.strip() if isinstance(value, str) else ""


def sms_text(mensagem: str) -> str:
    """What an SMS re-send of this message says: its fallback text, else its free text; ""
    when neither exists (a template message with no `original_message`)."""
    text = fallback_text(mensagem) or free_text(mensagem)
    return "" if _json_object(text) is not None else text.strip()


def _json_object(value: str) -> dict[str, object] | None:
    candidate = value.lstrip()
    if not candidate.startswith("{"):
        return None
    try:
        parsed = orjson.loads(candidate)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None
