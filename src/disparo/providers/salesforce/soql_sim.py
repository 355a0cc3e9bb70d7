"""The simulator's reading of SOQL: just the one query shape disparo asks (contacts of one
operação, among some phones, created since a time), read the way Salesforce would read it,
so that a wrongly escaped or wrongly formatted query fails here as it would there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

# A single-quoted SOQL string: escapes are a backslash and one character.
_STRING = r"'((?:[^'\\]|\\.)*)'"
_QUERY = re.compile(
    r"^SELECT Id, MobilePhone FROM Contact"
    r" WHERE disparo__c = true"
    rf" AND Operacao__c = (?P<operacao>{_STRING})"
    rf" AND MobilePhone IN \((?P<phones>{_STRING}(?:, ?{_STRING})*)\)"
    r" AND CreatedDate >= (?P<since>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$"
)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


class MalformedQuery(ValueError):
    """Salesforce's MALFORMED_QUERY: the text is not a query it can run."""


@dataclass(frozen=True, slots=True)
class ContactQuery:
    operacao: str
    phones: frozenset[str]
    created_since: datetime


def _unescape(text: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        escaped = next(chars, "")
        if escaped not in _ESCAPES:
            raise MalformedQuery(f"invalid escape sequence \\{escaped}")
        out.append(_ESCAPES[escaped])
    return "".join(out)


def parse_contact_query(soql: str) -> ContactQuery:
    match = _QUERY.match(soql.strip())
    if match is None:
        raise MalformedQuery("unexpected token")
    phones = frozenset(_unescape(p) for p in re.findall(_STRING, match["phones"]))
    since = datetime.fromisoformat(match["since"].replace("Z", "+00:00"))
    return ContactQuery(_unescape(match["operacao"][1:-1]), phones, since)
