"""Secrets out of every text that leaves the process: logs, stored errors, provider answers
kept as `resposta_api`, webhooks, API and dashboard answers, /ready.

Two nets. By name: a JSON member, form field or header whose name says secret (`token`,
`chave_api`, `password`...), an Authorization scheme's credentials, a URL's password. By
value: every secret this process has seen (its own settings, each credentials answer from
WordPress, each OAuth token) is remembered in memory and replaced wherever it appears, so a
provider echoing a key in free text ("token abc123 inválido") is masked too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# The words that name a secret, and the schemes an Authorization value starts with: each
# pattern below is built from them, and mask_text looks for them before running it.
SECRET_WORDS = (
    "api_key", "apikey", "chave_api", "token", "password", "passwd", "senha", "secret",
    "authorization", "credentials",
)  # fmt: skip
AUTH_SCHEMES = ("bearer", "basic", "token", "integration")
SECRET_NAME = re.compile(f"({'|'.join(SECRET_WORDS)})", re.I)
# Shorter values are not masked by value: "1001" would blank out every environment id.
MIN_KNOWN_LENGTH = 6
MAX_KNOWN = 4_096
REGEX_LIMIT = 200

_NAME = r"(?:[\w-]*(?:" + "|".join(SECRET_WORDS) + r")[\w-]*)"
# A JSON member (string or number, possibly cut short by a truncation), a form field, an
# Authorization scheme's credentials, a password inside a URL (redis://:pw@host).
_JSON_SECRET = re.compile(r'("' + _NAME + r'"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^\s,}\]]+)', re.I)
_FORM_SECRET = re.compile(r"((?:^|[?&;\s])" + _NAME + r"=)[^&;\s]*", re.I)
# The credentials after a scheme look like one (8+ characters with a digit or punctuation),
# so "Invalid integration token" or "token expired" stay readable.
_AUTH_SCHEME = re.compile(
    rf"\b({'|'.join(AUTH_SCHEMES)})\s+(?=[^\s]*[\d._~+/=!-])[A-Za-z0-9._~+/=!-]{{8,}}", re.I
)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@", re.I)
# The per-campaign token in a callback URL disparo gives providers (/callbacks/otima/<token>/
# status): masked wherever the URL shows up (a logged request body, a stored answer).
_CALLBACK_TOKEN = re.compile(r"(/callbacks/[a-z_]+/)[^/\s\"'?#\\]+", re.I)
_HEADER_SECRET = re.compile(
    r"((?:^|[\s{,'\"])" + _NAME + r"['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+", re.I
)

# The only characters beyond ASCII that re.IGNORECASE takes for an ASCII letter
# (test_redaction checks every code point): folded to it, a substring test finds every word
# the patterns would.
REGEX_CASE_FOLDS = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}

_lock = threading.Lock()
_known: dict[str, None] = {}
_known_pattern: re.Pattern[str] | None = None
_by_prefix: dict[str, list[str]] | None = None


def remember(*values: object) -> None:
    """Mask these values wherever they appear from now on (this process only)."""
    added = False
    with _lock:
        for value in values:
            text = str(value).strip() if isinstance(value, str | int) else ""
            if len(text) < MIN_KNOWN_LENGTH:
                continue
            for variant in {text, quote(text, safe=""), quote_plus(text)}:
                if variant not in _known:
                    _known[variant] = None
                    added = True
        while len(_known) > MAX_KNOWN:
            _known.pop(next(iter(_known)))
        if added:
            _rebuild()


def _rebuild() -> None:
    """A regex alternation while the set is small (fast, in C); past that, an index by the
    first characters, so the cost of a text stays linear in its length however many
    environments' credentials the process has seen."""
    global _known_pattern, _by_prefix
    ordered = sorted(_known, key=len, reverse=True)
    if len(ordered) <= REGEX_LIMIT:
        _known_pattern, _by_prefix = re.compile("|".join(map(re.escape, ordered))), None
        return
    index: dict[str, list[str]] = {}
    for value in ordered:
        index.setdefault(value[:MIN_KNOWN_LENGTH], []).append(value)
    _known_pattern, _by_prefix = None, index


def _mask_indexed(text: str, index: dict[str, list[str]]) -> str:
    parts, start, at, end = [], 0, 0, len(text) - MIN_KNOWN_LENGTH
    while at <= end:
        found = next(
            (v for v in index.get(text[at : at + MIN_KNOWN_LENGTH], ()) if text.startswith(v, at)),
            None,
        )
        if found is None:
            at += 1
            continue
        parts += [text[start:at], MASK]
        at = start = at + len(found)
    parts.append(text[start:])
    return "".join(parts)


def remember_secrets_in(value: object) -> None:
    """Remember every value under a secret-looking name, at any depth."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if SECRET_NAME.search(str(key)) and not isinstance(item, Mapping | list):
                remember(item)
            else:
                remember_secrets_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            remember_secrets_in(item)


def forget_all() -> None:
    """Tests only: start from an empty memory."""
    global _known_pattern, _by_prefix
    with _lock:
        _known.clear()
        _known_pattern = _by_prefix = None


def folded_as_regex(text: str) -> str:
    """`text` lowered as re.IGNORECASE compares it: "credentıals" holds "credentials"."""
    if not text.isascii():  # four substring scans: str.translate with a table costs 5x more
        for char, letter in REGEX_CASE_FOLDS.items():
            if char in text:
                text = text.replace(char, letter)
    return text.lower()


def mask_text(text: str) -> str:
    """`text` with every recognisable secret replaced by ***."""
    pattern, index = _known_pattern, _by_prefix
    if pattern is not None:
        text = pattern.sub(MASK, text)
    elif index is not None:
        text = _mask_indexed(text, index)
    # Each pattern runs only where its words appear (substring tests in C): a provider's
    # 11 KB answer took 1.5 ms of regex per batch without this.
    folded = folded_as_regex(text)
    if any(word in folded for word in AUTH_SCHEMES):
        text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    if "/callbacks/" in text:
        text = _CALLBACK_TOKEN.sub(lambda m: f"{m.group(1)}{MASK}", text)
    if not any(word in folded for word in SECRET_WORDS) or not SECRET_NAME.search(text):
        return text  # one quick pass spares the name patterns (the slow ones) most texts
    text = _JSON_SECRET.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    text = _FORM_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _HEADER_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)


def mask_value(value: Any, *, key: str = "") -> Any:
    """A copy of a log field, JSON document or error with secrets masked at every depth."""
    if key and SECRET_NAME.search(key) and value not in (None, ""):
        return MASK if not isinstance(value, Mapping | list) else mask_value(value)
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return value
