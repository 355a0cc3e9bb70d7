"""Is a reply an opt-out? "Parar", " sair! ", "DESCADASTRAR." are; "não quero parar" is not:
the whole reply must be one of the words, ignoring case, accents, spaces and punctuation."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

DEFAULT_OPT_OUT_WORDS = ("SAIR", "PARAR", "STOP", "CANCELAR", "DESCADASTRAR")


def fold(text: str) -> str:
    """Upper case, accents removed, anything but letters, digits and inner spaces dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    kept = "".join(c if c.isalnum() else " " for c in plain.upper())
    return " ".join(kept.split())


def opt_out_words(configured: Iterable[str]) -> frozenset[str]:
    return frozenset(folded for word in configured if (folded := fold(word)))


def is_opt_out(reply: str, words: frozenset[str]) -> bool:
    return fold(reply) in words
