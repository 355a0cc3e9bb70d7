"""The campaign HTTP API over real loopback HTTP (CONTRACTS.md 1.2-1.4 and 4.1).

Every test starts the stack without workers, so dispatched campaigns stay QUEUED; rows in
other states are written straight into the database.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from disparo.campaigns.models import Campaign, CampaignMessage, CampaignStatus, MessageStatus
from disparo.devstack import DevStack
from tests.conftest import API_KEY, StackFactory

CAMPAIGN = "C20250115093000"
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"
AGENDAMENTO_MESSAGE = "agendamento_id must be a non-empty string"
NOT_FOUND = {"statusCode": 404, "message": "Campanha não encontrada", "error": "Not Found"}
MISSING_KEY = {"statusCode": 401, "message": "API Key não fornecida", "error": "Unauthorized"}
WRONG_KEY = {"statusCode": 401, "message": "API Key inválida", "error": "Unauthorized"}
STATUS_FIELDS = {
    "campaign_id",
    "agendamento_id",
    "status",
    "provider",
    "total_messages",
    "sent_messages",
    "failed_messages",
    "skipped_messages",
    "unknown_messages",
    "progress_percentage",
    "created_at",
}

# (method, path, status when the key is accepted: the uuid is never known, and a repeated
# dispatch still answers 202).
PROTECTED_ROUTES = [
    ("POST", "/campaigns/dispatch", 202),
    ("GET", f"/campaigns/{UNKNOWN_UUID}/status", 404),
    ("GET", "/campaigns", 200),
    ("GET", f"/campaigns/{UNKNOWN_UUID}/messages", 404),
]

# ------------------------------------------------------------------ helpers


async def start(stack_factory: StackFactory) -> DevStack:
    # These tests send dozens of wrong keys from one address on purpose: no throttling here
    # (tests/test_security.py tests it).
    return await stack_factory(with_worker=False, auth_failure_limit=10_000)


def client(stack: DevStack, key: str | None = API_KEY) -> httpx.AsyncClient:
    headers = {"X-API-KEY": key} if key is not None else {}
    return httpx.AsyncClient(base_url=stack.api.url, headers=headers, timeout=30)


async def dispatch(stack: DevStack, agendamento_id: Any, **extra: Any) -> httpx.Response:
    async with client(stack) as api:
        return await api.post(
            "/campaigns/dispatch", json={"agendamento_id": agendamento_id, **extra}
        )


async def list_total(stack: DevStack) -> int:
    async with client(stack) as api:
        response = await api.get("/campaigns")
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


async def raw_request(
    stack: DevStack, method: str, path: str, header_lines: list[bytes], body: bytes = b""
) -> tuple[int, Any]:
    """One HTTP/1.1 request written byte for byte: httpx refuses header values with
    surrounding whitespace and normalises nothing we want to test."""
    url = httpx.URL(stack.api.url)
    assert url.host and url.port
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        head = [
            f"{method} {path} HTTP/1.1".encode(),
            f"Host: {url.host}:{url.port}".encode(),
            b"Connection: close",
            b"Content-Type: application/json",
            f"Content-Length: {len(body)}".encode(),
            *header_lines,
        ]
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()
    status_line, _, rest = data.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(payload)


async def raw_call_routes(stack: DevStack, header_lines: list[bytes]) -> dict[str, tuple[int, Any]]:
    body = json.dumps({"agendamento_id": CAMPAIGN}).encode()
    results = {}
    for method, path, _ in PROTECTED_ROUTES:
        payload = body if method == "POST" else b""
        results[f"{method} {path}"] = await raw_request(stack, method, path, header_lines, payload)
    return results


async def insert_campaign(
    stack: DevStack,
    agendamento_id: str,
    provider: str,
    status: CampaignStatus,
    created_at: datetime,
    **fields: Any,
) -> uuid.UUID:
    campaign_id = uuid.uuid4()
    campaign = Campaign(
        id=campaign_id,
        agendamento_id=agendamento_id,
        provider=provider,
        status=status,
        created_at=created_at,
        **fields,
    )
    async with stack.runtime.sessions() as session, session.begin():
        session.add(campaign)
    return campaign_id


async def insert_messages(
    stack: DevStack, campaign_id: uuid.UUID, specs: list[dict[str, Any]]
) -> list[int]:
    messages = [
        CampaignMessage(campaign_id=campaign_id, row_index=index, **spec)
        for index, spec in enumerate(specs)
    ]
    async with stack.runtime.sessions() as session, session.begin():
        session.add_all(messages)
    return [message.id for message in messages]


def bad_request_problems(
    response: httpx.Response, field: str | None, *, with_details: bool = True
) -> list[str]:
    """What is wrong with a 400 answer, as text; empty when it is the expected 400.
    Table tests collect these per case so one failure report names every failing case.
    `field`: the field `details` must name (None: any); `with_details`: details required."""
    if response.status_code != 400:
        return [f"status {response.status_code}: {response.text}"]
    body = response.json()
    problems = []
    if (body.get("statusCode"), body.get("error")) != (400, "Bad Request"):
        problems.append(f"envelope {body}")
    if not isinstance(body.get("message"), str) or not body["message"]:
        problems.append(f"message {body.get('message')!r} is not a non-empty string")
    details = body.get("details", [])
    if with_details and (not isinstance(details, list) or not details):
        problems.append(f"details {details!r} is not a non-empty list")
        details = []
    fields = [detail.get("field") for detail in details]
    if field is not None and field not in fields:
        problems.append(f"details name {fields}, not {field!r}")
    if field == "agendamento_id" and body.get("message") != AGENDAMENTO_MESSAGE:
        problems.append(f"message {body.get('message')!r}")
    return problems


def assert_bad_request(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = dict(response.json())
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert isinstance(body["message"], str) and body["message"]
    return body


# ------------------------------------------------------------------ authentication

REJECTED = {
    "no-header": ([], MISSING_KEY),
    "empty-value": ([b"X-API-KEY:"], MISSING_KEY),
    "blank-value": ([b"X-API-KEY:    "], MISSING_KEY),
    "bearer-instead": ([f"Authorization: Bearer {API_KEY}".encode()], MISSING_KEY),
    "other-header-name": ([f"X-API_KEY: {API_KEY}".encode()], MISSING_KEY),
    "wrong": ([b"X-API-KEY: wrong-key"], WRONG_KEY),
    "wrong-case-value": ([b"X-API-KEY: TEST-API-KEY"], WRONG_KEY),
    "prefix-of-key": ([b"X-API-KEY: test-api-ke"], WRONG_KEY),
    "key-plus-suffix": ([b"X-API-KEY: test-api-keyx"], WRONG_KEY),
    "inner-spaces": ([b"X-API-KEY: test api key"], WRONG_KEY),
    "both-keys-joined": ([f"X-API-KEY: {API_KEY},rotated-key".encode()], WRONG_KEY),
    "outbound-wp-key": ([b"X-API-KEY: wp-master-key"], WRONG_KEY),
}

ACCEPTED = {
    "canonical": f"X-API-KEY: {API_KEY}".encode(),
    "lower-case-name": f"x-api-key: {API_KEY}".encode(),
    "mixed-case-name": f"X-Api-Key: {API_KEY}".encode(),
    "no-space": f"X-API-KEY:{API_KEY}".encode(),
    "spaces-around": f"X-API-KEY:    {API_KEY}    ".encode(),
    "tabs-around": f"X-API-KEY:\t{API_KEY}\t".encode(),
    "second-key": b"X-API-KEY: rotated-key",
    "second-key-lower-name-spaces": b"x-api-key:  rotated-key ",
}


async def test_protected_routes_reject_missing_or_wrong_key(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)

    results = {case: await raw_call_routes(stack, lines) for case, (lines, _) in REJECTED.items()}

    assert results == {
        case: {route: (401, expected) for route in results[case]}
        for case, (_, expected) in REJECTED.items()
    }
    assert await list_total(stack) == 0  # no rejected dispatch created anything


async def test_protected_routes_accept_every_configured_key(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)

    results = {case: await raw_call_routes(stack, [line]) for case, line in ACCEPTED.items()}

    statuses = {f"{method} {path}": status for method, path, status in PROTECTED_ROUTES}
    assert {
        case: {route: status for route, (status, _) in routes.items()}
        for case, routes in results.items()
    } == dict.fromkeys(ACCEPTED, statuses)
    assert await list_total(stack) == 1  # every dispatch after the first was a duplicate


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"agendamento_id": "C20250115093000"}', id="valid"),
        pytest.param(b"{}", id="missing-agendamento"),
        pytest.param(b"[]", id="array"),
        pytest.param(b"{not json", id="invalid-json"),
    ],
)
async def test_authentication_is_checked_before_the_body(
    stack_factory: StackFactory, body: bytes
) -> None:
    stack = await start(stack_factory)

    assert await raw_request(stack, "POST", "/campaigns/dispatch", [], body) == (401, MISSING_KEY)


async def test_public_routes_need_no_key(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)

    async with client(stack, key=None) as api:
        health = await api.get("/health")
        ready = await api.get("/ready")
        docs = await api.get("/docs")
        schema = await api.get("/openapi.json")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "ok", "database": "ok", "redis": "ok"},
    )
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert schema.status_code == 200
    # Served at the root: WordPress strips any /api suffix from the URL (CONTRACTS 1.1).
    paths = schema.json()["paths"]
    assert set(paths) >= {
        "/campaigns/dispatch",
        "/campaigns/{key}/status",
        "/campaigns",
        "/campaigns/{key}/messages",
    }


# ------------------------------------------------------------------ dispatch: bad bodies

JSON = "application/json"

# case -> (content type, raw body, field the details must name; None: any)
BAD_BODIES: dict[str, tuple[str, bytes, str | None]] = {
    "missing": (JSON, b"{}", "agendamento_id"),
    "missing-with-credentials": (
        JSON,
        b'{"cda_credentials": {"api_url": "x", "api_key": "y"}}',
        "agendamento_id",
    ),
    "empty": (JSON, b'{"agendamento_id": ""}', "agendamento_id"),
    "blank": (JSON, b'{"agendamento_id": "   "}', "agendamento_id"),
    "whitespace": (JSON, b'{"agendamento_id": "\\t\\n "}', "agendamento_id"),
    "integer": (JSON, b'{"agendamento_id": 123}', "agendamento_id"),
    "float": (JSON, b'{"agendamento_id": 20250115093000.5}', "agendamento_id"),
    "boolean": (JSON, b'{"agendamento_id": true}', "agendamento_id"),
    "null": (JSON, b'{"agendamento_id": null}', "agendamento_id"),
    "list": (JSON, b'{"agendamento_id": ["C2025"]}', "agendamento_id"),
    "object": (JSON, b'{"agendamento_id": {"id": "C2025"}}', "agendamento_id"),
    "too-long": (JSON, json.dumps({"agendamento_id": "C" * 101}).encode(), "agendamento_id"),
    "wrong-case-name": (JSON, b'{"AGENDAMENTO_ID": "C20250115093000"}', "agendamento_id"),
    "array-body": (JSON, b'[{"agendamento_id": "C20250115093000"}]', "body"),
    "string-body": (JSON, b'"C20250115093000"', "body"),
    "number-body": (JSON, b"42", "body"),
    "null-body": (JSON, b"null", "body"),
    "empty-body": (JSON, b"", "body"),
    "truncated-json": (JSON, b'{"agendamento_id": ', None),
    "single-quotes": (JSON, b"{'agendamento_id': 'C20250115093000'}", None),
    "form-text": (JSON, b"agendamento_id=C20250115093000", None),
    "form-urlencoded": (
        "application/x-www-form-urlencoded",
        b"agendamento_id=C20250115093000",
        None,
    ),
}


async def test_dispatch_rejects_bad_bodies_with_a_string_message(
    stack_factory: StackFactory,
) -> None:
    stack = await start(stack_factory)

    problems = {}
    async with client(stack) as api:
        for case, (content_type, content, field) in BAD_BODIES.items():
            response = await api.post(
                "/campaigns/dispatch", content=content, headers={"Content-Type": content_type}
            )
            problems[case] = bad_request_problems(response, field)

    assert {case: found for case, found in problems.items() if found} == {}
    assert await list_total(stack) == 0


# Unknown first letter, or a provider this build cannot send through yet.
BAD_PREFIXES = {
    "unknown-letter": "Z20250115093000",
    "digit": "120250115093000",
    "punctuation": "-C20250115093000",
    "non-ascii": "Ç20250115093000",
    "known-but-unsupported-F": "F20250115093000",
    "known-but-unsupported-lower-m": "m20250115093000",
}


async def test_dispatch_rejects_prefixes_it_cannot_serve(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)

    answers = {case: await dispatch(stack, value) for case, value in BAD_PREFIXES.items()}

    problems = {
        case: bad_request_problems(response, None, with_details=False)
        for case, response in answers.items()
    }
    assert {case: found for case, found in problems.items() if found} == {}
    # The id is well formed; its provider is the problem, and the message says so.
    assert AGENDAMENTO_MESSAGE not in {response.json()["message"] for response in answers.values()}
    # Providers of CONTRACTS 3.1 outside its scope are refused by name, as before.
    assert answers["known-but-unsupported-lower-m"].json()["message"] == (
        "o fornecedor MAKING_OFICIAL ainda não é atendido por este disparo"
    )
    assert await list_total(stack) == 0


async def test_dispatch_of_an_id_with_a_nul_character_is_a_400(
    stack_factory: StackFactory,
) -> None:
    stack = await start(stack_factory)

    with capture_logs():  # a 500 would render a rich traceback for seconds
        response = await dispatch(stack, "C2025\x000115")

    assert_bad_request(response)


# ------------------------------------------------------------------ dispatch: accepted

EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "cda-credentials": {"cda_credentials": {"api_url": "x", "api_key": "y"}},
    "template": {
        "otima_rcs_credentials": {"token": "t", "broker_code": "b", "customer_code": "7"},
        "template_code": "modelo_cobranca_v1",
        "template_source": "otima_rcs",
    },
    "every-credential-object": {
        "salesforce_credentials": {"client_id": "a", "operacao": "b"},
        "mkc_credentials": {"client_id": "c"},
        "rcs_credentials": {"chave_api": "d"},
        "otima_wpp_credentials": {"token": "e"},
    },
    "custom-provider": {
        "custom_provider_key": "meu_provedor",
        "custom_provider_data": {"telefone": "5511900000001"},
        "custom_provider_credentials": {"token": "x"},
    },
    "unknown-fields": {"anything": [1, {"nested": None}], "other": None, "n": 1.5},
    "credentials-as-wrong-types": {"cda_credentials": "x", "template_code": 7},
}


async def test_dispatch_accepts_unknown_and_credential_fields(
    stack_factory: StackFactory,
) -> None:
    stack = await start(stack_factory)

    answers = {
        case: await dispatch(stack, f"C2025011509300{index}", **extra)
        for index, (case, extra) in enumerate(EXTRA_FIELDS.items())
    }

    assert {case: (r.status_code, r.json()["message"]) for case, r in answers.items()} == (
        dict.fromkeys(EXTRA_FIELDS, (202, "Campanha adicionada à fila"))
    )
    assert await list_total(stack) == len(EXTRA_FIELDS)


async def test_dispatch_answers_the_contract_bodies(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)

    first = await dispatch(stack, CAMPAIGN)
    second = await dispatch(stack, CAMPAIGN, cda_credentials={"api_url": "x", "api_key": "y"})

    assert first.status_code == 202 and first.headers["content-type"] == "application/json"
    created = first.json()
    campaign_id = created["campaign_id"]
    assert str(uuid.UUID(campaign_id)) == campaign_id
    assert created == {
        "success": True,
        "message": "Campanha adicionada à fila",
        "agendamento_id": CAMPAIGN,
        "estimated_time": "2-5 minutos",
        "campaign_id": campaign_id,
        "provider": "CDA",
        "status": "QUEUED",
    }
    assert second.status_code == 202
    assert second.json() == {
        "success": True,
        "message": "Campanha já existe na fila",
        "agendamento_id": CAMPAIGN,
        "campaign_id": campaign_id,
        "provider": "CDA",
        "status": "QUEUED",
    }
    assert await list_total(stack) == 1


async def test_dispatch_trims_the_id_before_deduplicating(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)

    padded = await dispatch(stack, f"  {CAMPAIGN}\t")
    plain = await dispatch(stack, CAMPAIGN)

    assert padded.status_code == plain.status_code == 202
    assert padded.json()["agendamento_id"] == CAMPAIGN
    assert plain.json()["message"] == "Campanha já existe na fila"
    assert plain.json()["campaign_id"] == padded.json()["campaign_id"]
    assert await list_total(stack) == 1


async def test_concurrent_dispatches_create_one_campaign(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)

    responses = await asyncio.gather(*(dispatch(stack, CAMPAIGN) for _ in range(5)))

    assert [r.status_code for r in responses] == [202] * 5, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert len({body["campaign_id"] for body in bodies}) == 1
    assert sorted(body["message"] for body in bodies) == [
        "Campanha adicionada à fila",
        *["Campanha já existe na fila"] * 4,
    ]
    assert await list_total(stack) == 1


# ------------------------------------------------------------------ status

UNKNOWN_KEYS = {
    "unknown-uuid": UNKNOWN_UUID,
    "unknown-uuid-upper": str(uuid.uuid4()).upper(),
    "unknown-uuid-no-dashes": uuid.uuid4().hex,
    "unknown-agendamento": "C20990101000000",
    "known-agendamento-lower-case": CAMPAIGN.lower(),
    "garbage": "not-a-uuid",
    "very-long": "x" * 300,
    "space": "%20",
    "unicode": "Ç2025",
}


async def test_unknown_campaign_is_a_404(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)
    assert (await dispatch(stack, CAMPAIGN)).status_code == 202  # a known one exists

    answers = {}
    async with client(stack) as api:
        for case, key in UNKNOWN_KEYS.items():
            for route in ("status", "messages"):
                response = await api.get(f"/campaigns/{key}/{route}")
                answers[f"{route} {case}"] = (response.status_code, response.json())

    assert answers == dict.fromkeys(answers, (404, NOT_FOUND))


@pytest.mark.parametrize("route", ["status", "messages"])
async def test_unknown_campaign_with_a_nul_character_is_a_404(
    stack_factory: StackFactory, route: str
) -> None:
    stack = await start(stack_factory)

    with capture_logs():  # a 500 would render a rich traceback for seconds
        async with client(stack) as api:
            response = await api.get(f"/campaigns/C2025%00/{route}")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


async def test_status_of_a_queued_campaign_omits_empty_fields(
    stack_factory: StackFactory,
) -> None:
    stack = await start(stack_factory)
    before = datetime.now(UTC)
    campaign_id = (await dispatch(stack, CAMPAIGN)).json()["campaign_id"]

    async with client(stack) as api:
        by_uuid = await api.get(f"/campaigns/{campaign_id}/status")
        by_upper_uuid = await api.get(f"/campaigns/{campaign_id.upper()}/status")
        by_agendamento = await api.get(f"/campaigns/{CAMPAIGN}/status")

    assert by_uuid.status_code == 200
    body = by_uuid.json()
    assert set(body) == STATUS_FIELDS  # no started_at, completed_at, errors, error_message
    assert {key: value for key, value in body.items() if key != "created_at"} == {
        "campaign_id": campaign_id,
        "agendamento_id": CAMPAIGN,
        "status": "QUEUED",
        "provider": "CDA",
        "total_messages": 0,
        "sent_messages": 0,
        "failed_messages": 0,
        "skipped_messages": 0,
        "unknown_messages": 0,
        "progress_percentage": 0,
    }
    created_at = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
    assert created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=5) <= created_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert by_upper_uuid.json() == body
    assert by_agendamento.json() == body


async def test_status_of_a_finished_campaign_lists_failed_messages(
    stack_factory: StackFactory,
) -> None:
    stack = await start(stack_factory)
    started = datetime(2025, 1, 15, 12, 31, 2, 120000, tzinfo=UTC)
    campaign_id = await insert_campaign(
        stack,
        "G20250115093000",
        "GOSAC",
        CampaignStatus.FAILED,
        started - timedelta(minutes=1),
        total_messages=8,
        sent_messages=1,  # 12.5 % -> 13 (half up, not half to even)
        failed_messages=2,
        skipped_messages=4,
        unknown_messages=1,
        started_at=started,
        completed_at=started + timedelta(minutes=2),
        error_message="Request failed with status code 401",
    )
    await insert_messages(
        stack,
        campaign_id,
        [
            {"phone": "5511900000001", "status": MessageStatus.SENT, "attempts": 1},
            {
                "phone": "5511900000002",
                "status": MessageStatus.FAILED,
                "attempts": 3,
                "last_error": "Request failed with status code 401",
            },
            {"phone": "5511900000003", "status": MessageStatus.SKIPPED},
            {"phone": "5511900000004", "status": MessageStatus.FAILED, "attempts": 0},
            {"phone": "5511900000005", "status": MessageStatus.UNKNOWN, "attempts": 1},
        ],
    )

    async with client(stack) as api:
        response = await api.get(f"/campaigns/{campaign_id}/status")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "FAILED" and body["provider"] == "GOSAC"
    assert body["progress_percentage"] == 13
    assert (body["failed_messages"], body["skipped_messages"], body["unknown_messages"]) == (
        2,
        4,
        1,
    )
    assert body["error_message"] == "Request failed with status code 401"
    assert datetime.fromisoformat(body["started_at"].replace("Z", "+00:00")) == started
    assert datetime.fromisoformat(body["completed_at"].replace("Z", "+00:00")) == (
        started + timedelta(minutes=2)
    )
    assert body["errors"] == [
        {"phone": "5511900000002", "error": "Request failed with status code 401", "attempts": 3},
        {"phone": "5511900000004", "error": "Erro desconhecido", "attempts": 0},
    ]


# ------------------------------------------------------------------ list


async def seed_list(stack: DevStack) -> None:
    """C1..C3 dispatched now (QUEUED, CDA, newest last); older rows in other states."""
    for agendamento_id in ("C1", "C2", "C3"):
        assert (await dispatch(stack, agendamento_id)).status_code == 202
    old = datetime.now(UTC) - timedelta(days=1)
    await insert_campaign(stack, "G1", "GOSAC", CampaignStatus.COMPLETED, old - timedelta(hours=3))
    await insert_campaign(stack, "G2", "GOSAC", CampaignStatus.FAILED, old - timedelta(hours=2))
    await insert_campaign(
        stack, "O1", "RCS_OTIMA", CampaignStatus.PROCESSING, old - timedelta(hours=1)
    )


ALL_NEWEST_FIRST = ["C3", "C2", "C1", "O1", "G2", "G1"]

# query -> (agendamento ids in order, total, limit, offset)
LIST_QUERIES: dict[str, tuple[list[str], int, int, int]] = {
    "": (ALL_NEWEST_FIRST, 6, 50, 0),
    "?status=QUEUED": (["C3", "C2", "C1"], 3, 50, 0),
    "?status=COMPLETED": (["G1"], 1, 50, 0),
    "?status=CANCELLED": ([], 0, 50, 0),
    "?provider=CDA": (["C3", "C2", "C1"], 3, 50, 0),
    "?provider=gosac": (["G2", "G1"], 2, 50, 0),
    "?provider=Rcs_Otima": (["O1"], 1, 50, 0),
    "?provider=NOAH": ([], 0, 50, 0),
    "?provider=": (ALL_NEWEST_FIRST, 6, 50, 0),
    "?provider=gosac&status=FAILED": (["G2"], 1, 50, 0),
    "?provider=cda&status=FAILED": ([], 0, 50, 0),
    "?limit=2": (["C3", "C2"], 6, 2, 0),
    "?limit=2&offset=2": (["C1", "O1"], 6, 2, 2),
    "?limit=2&offset=4": (["G2", "G1"], 6, 2, 4),
    "?offset=6": ([], 6, 50, 6),
    "?limit=1&offset=1&provider=cda": (["C2"], 3, 1, 1),
    "?limit=500": (ALL_NEWEST_FIRST, 6, 500, 0),
}


async def test_list_campaigns_filters_and_pages(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)
    await seed_list(stack)

    found = {}
    async with client(stack) as api:
        for query in LIST_QUERIES:
            response = await api.get(f"/campaigns{query}")
            assert response.status_code == 200, (query, response.text)
            body = response.json()
            assert all(set(item) >= STATUS_FIELDS for item in body["items"]), query
            found[query] = (
                [item["agendamento_id"] for item in body["items"]],
                body["total"],
                body["limit"],
                body["offset"],
            )

    assert found == LIST_QUERIES


# query -> the field the details must name
BAD_LIST_QUERIES = {
    "?status=NOPE": "query.status",
    "?status=": "query.status",
    "?limit=0": "query.limit",
    "?limit=-1": "query.limit",
    "?limit=501": "query.limit",
    "?limit=ten": "query.limit",
    "?offset=-1": "query.offset",
    "?offset=1.5": "query.offset",
}


async def test_list_campaigns_rejects_bad_queries_with_400(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)

    problems = {}
    async with client(stack) as api:
        for query, field in BAD_LIST_QUERIES.items():
            problems[query] = bad_request_problems(await api.get(f"/campaigns{query}"), field)

    assert {query: found for query, found in problems.items() if found} == {}


# ------------------------------------------------------------------ messages


async def test_messages_of_a_campaign_without_messages(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)
    campaign_id = (await dispatch(stack, CAMPAIGN)).json()["campaign_id"]

    async with client(stack) as api:
        by_uuid = await api.get(f"/campaigns/{campaign_id}/messages")
        by_agendamento = await api.get(f"/campaigns/{CAMPAIGN}/messages?limit=1")

    empty: dict[str, Any] = {"items": [], "next_after": None, "next_delivery_since": None}
    for page in (by_uuid, by_agendamento):
        assert page.status_code == 200
        assert {name: page.json()[name] for name in empty} == empty
        assert datetime.fromisoformat(page.json()["as_of"]).tzinfo is not None


async def test_messages_are_paged_by_id(stack_factory: StackFactory) -> None:
    stack = await start(stack_factory)
    campaign_id = (await dispatch(stack, CAMPAIGN)).json()["campaign_id"]
    statuses = [MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.SKIPPED] * 2
    ids = await insert_messages(
        stack,
        uuid.UUID(campaign_id),
        [{"phone": f"551190000000{i}", "status": s} for i, s in enumerate(statuses)],
    )

    pages: list[dict[str, Any]] = []
    after = 0
    async with client(stack) as api:
        while True:
            response = await api.get(f"/campaigns/{CAMPAIGN}/messages?limit=4&after={after}")
            assert response.status_code == 200, response.text
            pages.append(response.json())
            if pages[-1]["next_after"] is None:
                break
            after = pages[-1]["next_after"]
        failed = await api.get(f"/campaigns/{campaign_id}/messages?status=FAILED")
        bad = await api.get(f"/campaigns/{campaign_id}/messages?status=nope")

    assert [[item["id"] for item in page["items"]] for page in pages] == [ids[:4], ids[4:]]
    assert pages[0]["next_after"] == ids[3]
    first = pages[0]["items"][0]
    assert first == {
        "id": ids[0],
        "row_index": 0,
        "row_id": None,
        "phone": "5511900000000",
        "name": None,
        "status": "SENT",
        "batch": None,
        "attempts": 0,
        "error": None,
        "skip_reason": None,
        "sent_at": None,
        "channel": None,
        "delivery_status": None,
        "delivery_at": None,
        "delivery_reason": None,
        "delivery_recorded_at": None,
    }
    assert [item["id"] for item in failed.json()["items"]] == [ids[1], ids[4]]
    assert_bad_request(bad)
