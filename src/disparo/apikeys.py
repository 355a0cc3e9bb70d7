"""Inbound API keys with names and scopes, parsed from DISPARO_API_KEYS.

Each comma-separated entry is either `NAME:SCOPE+SCOPE:KEY` or a bare `KEY`. A bare key has
every scope and is named `key1`, `key2`... by its position (naming keys is better: the name
is what the audit log records). Nothing here imports FastAPI: the CLI's `check-config` and
the production verdict use it too.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Scope(StrEnum):
    DISPATCH = "dispatch"  # POST /campaigns/dispatch (what WordPress needs)
    READ = "read"  # campaign status and lists, dead letters, audit, undeliverable webhooks
    OPERATE = "operate"  # pause, resume, cancel, retry, redrive, replay
    METRICS = "metrics"  # GET /metrics
    DASHBOARD = "dashboard"  # sign in to /dashboard


ALL_SCOPES = frozenset(Scope)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# The middle part of NAME:SCOPES:KEY: lowercase words joined by '+'; `all` = every scope.
_SCOPES = re.compile(r"^[a-z]+(\+[a-z]+)*$")


class KeyConfigError(ValueError):
    """DISPARO_API_KEYS cannot be used. The message never contains a key."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    scopes: frozenset[Scope]
    secret: str = field(repr=False)

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes

    def allows_dashboard(self) -> bool:
        return Scope.DASHBOARD in self.scopes


def _named(raw: str) -> tuple[str, str, str] | None:
    """(NAME, SCOPES, KEY) of a `NAME:SCOPES:KEY` entry, None for a bare key."""
    name, sep, rest = raw.strip().partition(":")
    scopes_text, sep2, secret = rest.partition(":")
    if sep and sep2 and _NAME.match(name) and _SCOPES.match(scopes_text):
        return name, scopes_text, secret.strip()
    return None


def parse_key(raw: str, position: int) -> ApiKey:
    """One entry of DISPARO_API_KEYS (`position` counts from 1, for names and messages)."""
    named = _named(raw)
    if named is None:
        if not raw.strip():
            raise KeyConfigError(f"DISPARO_API_KEYS: entry {position} is empty")
        return ApiKey(f"key{position}", ALL_SCOPES, raw.strip())
    name, scopes_text, secret = named
    return ApiKey(name, _scopes(scopes_text, name), secret)


def key_secret(raw: str) -> str:
    """The KEY an entry holds, what a client sends, without judging its scopes (to mask it
    by value, even in an entry the start-up check is about to refuse)."""
    named = _named(raw)
    return raw.strip() if named is None else named[2]


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality of two texts, compared as bytes: hmac.compare_digest raises
    TypeError for a str that is not ASCII, and `given` is whatever a client sent."""
    return hmac.compare_digest(given.encode(), expected.encode())


def _scopes(text: str, name: str) -> frozenset[Scope]:
    if text == "all":
        return ALL_SCOPES
    known = {scope.value for scope in Scope}
    unknown = sorted(set(text.split("+")) - known)
    if unknown:
        raise KeyConfigError(
            f"DISPARO_API_KEYS: key {name!r} has unknown scope(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))}, or all)"
        )
    return frozenset(Scope(part) for part in text.split("+"))


def parse_keys(raws: Iterable[str]) -> list[ApiKey]:
    keys = [parse_key(raw, position) for position, raw in enumerate(raws, start=1)]
    names = [key.name for key in keys]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise KeyConfigError(f"DISPARO_API_KEYS: key name(s) used twice: {', '.join(duplicated)}")
    for key in keys:
        if not key.secret:
            raise KeyConfigError(f"DISPARO_API_KEYS: key {key.name!r} has an empty key")
    return keys


def find_key(keys: Sequence[ApiKey], given: str) -> ApiKey | None:
    """The configured key equal to `given`, compared in constant time against every key
    (never stopping early, so timing tells nothing about which one matched or how close)."""
    given = given.strip()
    found = None
    for key in keys:
        if same_secret(given, key.secret) and given:
            found = key
    return found
