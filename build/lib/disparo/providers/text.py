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
