"""Asking Core which contacts of a batch it created: one SOQL query through the REST query
API (`GET .../query?q=`), with the bearer token of phase 1. Used to settle a batch whose
outcome is unknown (campaigns/unknown_answers.py decides what the answer means)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from disparo.parsing import json_or_none
from disparo.providers.base import OutcomeUnknownError
from disparo.providers.http import raise_for_outcome
from disparo.providers.salesforce.mapper import COLLECTIONS_SUFFIX
from disparo.providers.unknowns import ReceivedPhones, UnknownBatch

# Salesforce stamps CreatedDate with its own clock: records of a request that left right
# after the claim must not fall before the cut-off because our clock runs ahead of theirs.
CLOCK_MARGIN = timedelta(minutes=2)
# One batch is at most 200 records, so one query names at most 200 phones (a URL of ~4 KB,
# well under the 16 KB Salesforce takes); still, a query answer can come in pages.
MAX_PAGES = 20
_SOQL_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def soql_string(value: str) -> str:
    """A SOQL string literal: quoted, its backslashes and quotes escaped (SOQL's rules)."""
    return "'" + "".join(_SOQL_ESCAPES.get(char, char) for char in value) + "'"


def soql_datetime(moment: datetime) -> str:
    """A SOQL dateTime literal (unquoted, UTC, whole seconds rounded down)."""
    if moment.tzinfo is None:  # SQLite hands back naive UTC values
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def contacts_query(operacao: str, phones: Sequence[str], claimed_at: datetime) -> str:
    since = soql_datetime(claimed_at - CLOCK_MARGIN)
    listed = ", ".join(soql_string(phone) for phone in sorted(set(phones)))
    return (
        "SELECT Id, MobilePhone FROM Contact"
        " WHERE disparo__c = true"
        f" AND Operacao__c = {soql_string(operacao)}"
        f" AND MobilePhone IN ({listed})"
        f" AND CreatedDate >= {since}"
    )


def query_url(api_url: str, instance_url: str, version: str) -> str:
    """The query endpoint beside the collections one (collections_url's choice of base)."""
    api_url = api_url.strip().rstrip("/")
    if api_url.endswith(COLLECTIONS_SUFFIX):
        return api_url[: -len(COLLECTIONS_SUFFIX)] + "/query"
    base = (instance_url or api_url).rstrip("/")
    return f"{base}/services/data/v{version}/query"


async def created_phones(
    client: httpx.AsyncClient,
    auth: httpx.Auth,
    url: str,
    soql: str,
    timeout: float,
) -> set[str]:
    """The MobilePhone of every record the query returns, following `nextRecordsUrl`."""
    phones: set[str] = set()
    request: dict[str, Any] = {"params": {"q": soql}}
    for _ in range(MAX_PAGES):
        response = await _get(client, url, auth, timeout, request)
        raise_for_outcome(response)
        page = _page(json_or_none(response.content))
        phones.update(str(r.get("MobilePhone") or "") for r in page["records"])
        next_url = page.get("nextRecordsUrl")
        if page.get("done") is not False or not isinstance(next_url, str):
            return phones
        url, request = str(httpx.URL(url).join(next_url)), {}
    raise OutcomeUnknownError(f"consulta com mais de {MAX_PAGES} páginas")


async def _get(
    client: httpx.AsyncClient, url: str, auth: httpx.Auth, timeout: float, request: dict[str, Any]
) -> httpx.Response:
    try:
        return await client.get(url, auth=auth, timeout=timeout, **request)
    except httpx.HTTPError as exc:
        # Only the kind of failure: the URL names the batch's phones (personal data).
        raise OutcomeUnknownError(f"consulta sem resposta ({type(exc).__name__})") from exc


def _page(answer: Any) -> dict[str, Any]:
    if not (isinstance(answer, dict) and isinstance(answer.get("records"), list)):
        raise OutcomeUnknownError("resposta da consulta sem a lista de registros")
    if not all(isinstance(record, dict) for record in answer["records"]):
        raise OutcomeUnknownError("resposta da consulta com registros ilegíveis")
    return answer


def received(found: set[str], batch: UnknownBatch, operacao: str) -> ReceivedPhones:
    """The answer, with the question in words for the batch's history."""
    wanted = set(batch.phones)
    since = soql_datetime(batch.claimed_at - CLOCK_MARGIN)
    asked = (
        f"contatos da operação {operacao} entre {len(wanted)} telefone(s), criados desde {since}"
    )
    return ReceivedPhones(frozenset(found & wanted), asked)
