"""A real HTTP fake of Salesforce Core and Marketing Cloud (CONTRACTS 5.6), on one server.

Core: the username-password token endpoint, sObject Collections create, with per-record
results, and the REST query endpoint (SOQL over the contacts it created: what disparo asks
to settle a batch whose outcome it does not know). Marketing Cloud: the client-credentials
token endpoint and `runallonce` (whose answer is ASSUMED in 5.6). Fault routes: "token",
"sobjects", "query", "mc_token", "run"; `fail_after_creating` answers a fault only once the
records are created (a gateway that gave up on a request Salesforce carried out).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any

from fastapi import FastAPI, Request, Response

from disparo.providers.salesforce.soql_sim import MalformedQuery, parse_contact_query
from disparo.sim import Fault, SimulatorBase, json_response

__all__ = [
    "AUTOMATIONS_PATH",
    "MC_TOKEN_PATH",
    "QUERY_PATH",
    "SOBJECTS_PATH",
    "TOKEN_PATH",
    "CreatedContact",
    "SalesforceSimulator",
]

TOKEN_PATH = "/services/oauth2/token"
SOBJECTS_PATH = "/services/data/v59.0/composite/sobjects"
QUERY_PATH = "/services/data/v59.0/query"
MC_TOKEN_PATH = "/v2/token"
AUTOMATIONS_PATH = "/automation/v1/automations"
MAX_RECORDS = 200
_RECORD_KEYS = {"attributes", "MobilePhone", "LastName", "CPF_CNPJ__c", "Operacao__c", "disparo__c"}
SOBJECTS_BASE = "/services/data/v59.0/sobjects"
_INVALID_LOCATOR = [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
_INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


@dataclass
class CreatedContact:
    id: str
    fields: dict[str, Any]
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class SalesforceAccount:
    client_id: str = "sf_cliente_exemplo"
    client_secret: str = field(default="sf_segredo_exemplo", repr=False)
    username: str = "integracao@example.com"
    password: str = field(default="senha+tokenexemplo", repr=False)
    mc_client_id: str = "mc_cliente_exemplo"
    mc_client_secret: str = field(default="mc_segredo_exemplo", repr=False)
    automation_ids: tuple[str, ...] = ("auto-exemplo-1",)


def _parse_error(message: str) -> list[dict[str, str]]:
    return [{"message": message, "errorCode": "JSON_PARSER_ERROR"}]


def _record_error(record: Any) -> dict[str, Any] | None:
    """The per-record error Salesforce would give, or None when it would be created."""
    if not isinstance(record, dict) or set(record) != _RECORD_KEYS:
        return {"statusCode": "INVALID_FIELD", "message": "Unexpected fields", "fields": []}
    if record["attributes"] != {"type": "Contact"}:
        return {"statusCode": "INVALID_TYPE", "message": "attributes.type must be Contact"}
    if not isinstance(record["LastName"], str) or not record["LastName"]:
        return {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]",
            "fields": ["LastName"],
        }
    phone = record["MobilePhone"]
    if not (isinstance(phone, str) and phone.isdigit() and phone.startswith("55")):
        return {"statusCode": "INVALID_FIELD", "message": "MobilePhone inválido"}
    if record["disparo__c"] is not True or not isinstance(record["CPF_CNPJ__c"], str):
        return {"statusCode": "INVALID_FIELD", "message": "disparo__c/CPF_CNPJ__c inválidos"}
    return None


class SalesforceSimulator(SimulatorBase):
    def __init__(self, account: SalesforceAccount | None = None) -> None:
        super().__init__()
        self.account = account or SalesforceAccount()
        self.contacts: list[CreatedContact] = []
        self.automation_runs: list[str] = []
        # Phones whose record fails (a duplicate rule, say): one bad record, not the chunk.
        self.rejected_phones: set[str] = set()
        # Automations that answer "already running".
        self.running: set[str] = set()
        # Lifetime announced with Marketing Cloud tokens (about 20 minutes in production).
        self.mc_expires_in = 1079
        # Records per query page (Salesforce's default batch is 2,000): beyond it the answer
        # has `nextRecordsUrl`.
        self.query_page_size = 2000
        # Query locator -> (the records not yet handed out, the query's totalSize).
        self._pages: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._after_create: deque[Fault] = deque()
        self._core_tokens: set[str] = set()
        self._mc_tokens: set[str] = set()
        self._ids = count(1)
        self.app = self._build_app()

    def fail_after_creating(self, status: int = 504, count: int = 1) -> None:
        """The next `count` collections requests create their records, then answer
        `status`: the client cannot tell whether anything was created."""
        self._after_create.extend(Fault(status, self.fault_body(status), {}) for _ in range(count))

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on (a session timeout)."""
        self._core_tokens.clear()
        self._mc_tokens.clear()

    def _bearer_ok(self, request: Request, tokens: set[str]) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[len("Bearer ") :] in tokens

    async def _token(self, request: Request) -> Response:
        record = await self.record("token", request)
        answer = self.injected("token")
        if answer is None:
            answer = self._core_token(record.form, str(request.base_url).rstrip("/"))
        return self.finish(record, answer)

    def _core_token(self, form: dict[str, str], base_url: str) -> Response:
        account = self.account
        if form.get("grant_type") != "password":
            return json_response(400, {"error": "unsupported_grant_type"})
        if (form.get("client_id"), form.get("client_secret")) != (
            account.client_id,
            account.client_secret,
        ):
            return json_response(
                400,
                {"error": "invalid_client_id", "error_description": "client identifier invalid"},
            )
        if (form.get("username"), form.get("password")) != (account.username, account.password):
            return json_response(
                400, {"error": "invalid_grant", "error_description": "authentication failure"}
            )
        token = f"00D000000000001!AQ0AQ_exemplo{next(self._ids)}"
        self._core_tokens.add(token)
        return json_response(
            200,
            {
                "access_token": token,
                "instance_url": base_url,
                "id": "https://login.salesforce.com/id/00D000000000001EAA/005000000000001AAA",
                "token_type": "Bearer",
                "issued_at": "1736944200000",
                "signature": "c2lnbmF0dXJhLWV4ZW1wbG8=",
            },
        )

    async def _sobjects(self, request: Request) -> Response:
        record = await self.record("sobjects", request)
        answer = self.injected("sobjects")
        if answer is None and not self._bearer_ok(request, self._core_tokens):
            answer = json_response(401, _INVALID_SESSION)
        if answer is None:
            answer = self._create(record.json)
            if answer.status_code == 200 and self._after_create:
                late = self._after_create.popleft()
                answer = json_response(late.status, late.body, late.headers)
        return self.finish(record, answer)

    def _create(self, body: Any) -> Response:
        if not isinstance(body, dict) or body.get("allOrNone") is not False:
            return json_response(
                400, [{"message": "allOrNone must be false", "errorCode": "JSON_PARSER_ERROR"}]
            )
        records = body.get("records")
        if not isinstance(records, list) or not records:
            return json_response(
                400, [{"message": "records required", "errorCode": "JSON_PARSER_ERROR"}]
            )
        if len(records) > MAX_RECORDS:
            return json_response(
                400,
                [{"message": "Maximum 200 records", "errorCode": "EXCEEDED_ID_LIMIT"}],
            )
        return json_response(200, [self._create_one(record) for record in records])

    def _create_one(self, record: Any) -> dict[str, Any]:
        error = _record_error(record)
        if error is None and record["MobilePhone"] in self.rejected_phones:
            error = {"statusCode": "DUPLICATES_DETECTED", "message": "Contato duplicado"}
        if error is not None:
            return {"success": False, "errors": [error]}
        contact = CreatedContact(f"003{next(self._ids):015d}", dict(record))
        self.contacts.append(contact)
        return {"id": contact.id, "success": True, "errors": []}

    async def _query(self, request: Request) -> Response:
        record = await self.record("query", request)
        answer = self.injected("query")
        if answer is None and not self._bearer_ok(request, self._core_tokens):
            answer = json_response(401, _INVALID_SESSION)
        if answer is None:
            answer = self._answer_query(request.query_params.get("q", ""))
        return self.finish(record, answer)

    def _answer_query(self, soql: str) -> Response:
        try:
            query = parse_contact_query(soql)
        except MalformedQuery as exc:
            return json_response(400, [{"message": str(exc), "errorCode": "MALFORMED_QUERY"}])
        records = [
            {
                "attributes": {"type": "Contact", "url": f"{SOBJECTS_BASE}/Contact/{c.id}"},
                "Id": c.id,
                "MobilePhone": c.fields["MobilePhone"],
            }
            for c in self.contacts
            if c.fields["Operacao__c"] == query.operacao
            and c.fields["MobilePhone"] in query.phones
            and c.created_at >= query.created_since
        ]
        return json_response(200, self._page(records, len(records)))

    def _page(self, records: list[dict[str, Any]], total: int) -> dict[str, Any]:
        """One page of a query's records; the rest is kept behind a `nextRecordsUrl`."""
        page, rest = records[: self.query_page_size], records[self.query_page_size :]
        answer: dict[str, Any] = {"totalSize": total, "done": not rest, "records": page}
        if rest:
            locator = f"01g{next(self._ids):015d}-{total - len(rest)}"
            self._pages[locator] = (rest, total)
            answer["nextRecordsUrl"] = f"{QUERY_PATH}/{locator}"
        return answer

    async def _query_more(self, request: Request, locator: str) -> Response:
        record = await self.record("query", request)
        answer = self.injected("query")
        if answer is None and not self._bearer_ok(request, self._core_tokens):
            answer = json_response(401, _INVALID_SESSION)
        if answer is None:
            kept = self._pages.pop(locator, None)
            answer = (
                json_response(200, self._page(*kept))
                if kept
                else json_response(400, _INVALID_LOCATOR)
            )
        return self.finish(record, answer)

    async def _mc_token(self, request: Request) -> Response:
        record = await self.record("mc_token", request)
        answer = self.injected("mc_token")
        if answer is None:
            answer = self._marketing_token(record.json, str(request.base_url).rstrip("/"))
        return self.finish(record, answer)

    def _marketing_token(self, body: Any, base_url: str) -> Response:
        account = self.account
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type"})
        if (body.get("client_id"), body.get("client_secret")) != (
            account.mc_client_id,
            account.mc_client_secret,
        ):
            return json_response(
                401, {"error": "invalid_client", "error_description": "Invalid client ID"}
            )
        token = f"eyJhbGciOiJIUzI1NiJ9.exemplo{next(self._ids)}.assinatura"
        self._mc_tokens.add(token)
        return json_response(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.mc_expires_in,
                "scope": "automations_execute automations_read",
                "soap_instance_url": base_url + "/soap/",
                "rest_instance_url": base_url + "/",
            },
        )

    async def _run(self, request: Request, automation_id: str) -> Response:
        record = await self.record("run", request)
        answer = self.injected("run")
        if answer is None and not self._bearer_ok(request, self._mc_tokens):
            answer = json_response(401, {"message": "Not Authorized", "errorcode": 0})
        if answer is None:
            answer = self._run_automation(automation_id, record.json)
        return self.finish(record, answer)

    def _run_automation(self, automation_id: str, body: Any) -> Response:
        if body != {}:
            return json_response(400, {"message": "body must be {}"})
        if automation_id not in self.account.automation_ids:
            return json_response(404, {"message": "Automation not found"})
        if automation_id in self.running:
            return json_response(400, {"message": "Automation is already running"})
        self.automation_runs.append(automation_id)
        return json_response(202, {"id": automation_id, "status": "Running"})

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Salesforce simulator", openapi_url=None, docs_url=None, redoc_url=None)

        async def token(request: Request) -> Response:
            return await self._token(request)

        async def sobjects(request: Request) -> Response:
            return await self._sobjects(request)

        async def query(request: Request) -> Response:
            return await self._query(request)

        async def query_more(request: Request, locator: str) -> Response:
            return await self._query_more(request, locator)

        async def mc_token(request: Request) -> Response:
            return await self._mc_token(request)

        async def run(request: Request, automation_id: str) -> Response:
            return await self._run(request, automation_id)

        app.add_api_route(TOKEN_PATH, token, methods=["POST"])
        app.add_api_route(SOBJECTS_PATH, sobjects, methods=["POST"])
        app.add_api_route(QUERY_PATH, query, methods=["GET"])
        app.add_api_route(QUERY_PATH + "/{locator}", query_more, methods=["GET"])
        app.add_api_route(MC_TOKEN_PATH, mc_token, methods=["POST"])
        app.add_api_route(
            AUTOMATIONS_PATH + "/{automation_id}/actions/runallonce", run, methods=["POST"]
        )
        return app
