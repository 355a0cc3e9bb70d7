"""Pure functions: recipients -> sObject Collections body, per-record results -> failures,
and the URLs the contract derives from credentials and token answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from disparo.providers.base import Recipient
from disparo.providers.salesforce.wire import CollectionsBody, ContactRecord

MAX_RECORDS = 200
DEFAULT_LAST_NAME = "Contato"  # LastName is required by Salesforce
COLLECTIONS_SUFFIX = "/composite/sobjects"
AUTOMATIONS_SUFFIX = "/automation/v1/automations"
NO_RESULT = "Salesforce não devolveu resultado para este registro"


def contact_record(recipient: Recipient, operacao: str, empty_cpf: str = "") -> ContactRecord:
    return {
        "attributes": {"type": "Contact"},
        "MobilePhone": recipient.phone,
        "LastName": recipient.name.strip() or DEFAULT_LAST_NAME,
        "CPF_CNPJ__c": recipient.cpf_cnpj or empty_cpf,
        "Operacao__c": operacao,
        "disparo__c": True,
    }


def build_collections(
    recipients: Sequence[Recipient], operacao: str, empty_cpf: str = ""
) -> CollectionsBody:
    if len(recipients) > MAX_RECORDS:
        raise ValueError(f"at most {MAX_RECORDS} records per request, got {len(recipients)}")
    return {
        "allOrNone": False,
        "records": [contact_record(r, operacao, empty_cpf) for r in recipients],
    }


def collections_url(api_url: str, instance_url: str, version: str) -> str:
    """`api_url` when it is already the collections URL, else the instance's."""
    api_url = api_url.strip().rstrip("/")
    if api_url.endswith(COLLECTIONS_SUFFIX):
        return api_url
    base = (instance_url or api_url).rstrip("/")
    return f"{base}/services/data/v{version}{COLLECTIONS_SUFFIX}"


def record_failures(results: Any, recipients: Sequence[Recipient]) -> dict[int, str] | None:
    """Recipient id -> error of every record that was not created; None when the answer is
    not the per-record array at all."""
    if not isinstance(results, list):
        return None
    failed: dict[int, str] = {}
    for index, recipient in enumerate(recipients):
        result = results[index] if index < len(results) else None
        if isinstance(result, dict) and result.get("success") is True:
            continue
        failed[recipient.id] = _first_error(result)
    return failed


def _first_error(result: Any) -> str:
    errors = result.get("errors") if isinstance(result, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        message = str(first.get("message") or "")
        code = str(first.get("statusCode") or "")
        return f"{code}: {message}" if code and message else (message or code or NO_RESULT)
    return NO_RESULT


def automations_url(mkc_api_url: str, rest_instance_url: str) -> str | None:
    """The automation collection URL (5.6): as configured, or completed from a REST base;
    never the Core collections URL."""
    for candidate in (mkc_api_url, rest_instance_url):
        url = candidate.strip().rstrip("/")
        if not url or COLLECTIONS_SUFFIX in url:
            continue
        return url if url.endswith(AUTOMATIONS_SUFFIX) else url + AUTOMATIONS_SUFFIX
    return None


def rate_limit_wait(retry_after: float | None, answer: Any) -> float:
    """Seconds a Marketing Cloud 429 asks to wait: Retry-After, else the body's retryAfter;
    error code 50200 ("temporarily blocked") waits longer than 50100."""
    if retry_after is not None:
        return retry_after
    if isinstance(answer, dict):
        value = answer.get("retryAfter")
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
        if answer.get("errorcode") == 50200:
            return 30.0
    return 5.0


def already_running(text: str) -> bool:
    """An automation run refused because it is running: the run we wanted is happening."""
    return "already running" in text.lower()
