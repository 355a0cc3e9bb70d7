"""Hostile values in every query and path parameter of every documented operation: NUL
bytes, lone surrogates and invalid UTF-8, 10 KB strings, negative and huge numbers. None may
crash the API (5xx); every refusal has the WordPress error shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY, StackFactory

# Already percent-encoded: what reaches the server byte for byte.
HOSTILE = {
    "nul": "%00",
    "nul-inside": "C1%00x",
    "lone-surrogate": "%ED%A0%80",
    "invalid-utf8": "%FF%FE",
    "10kb": "a" * 10_240,
    "negative": "-1",
    "very-negative": "-" + "9" * 30,
    "huge": "9" * 30,
    "bigint-overflow": str(2**63),
    "float": "1e308",
    "nan": "NaN",
    "empty": "",
}


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            found.append((method.upper(), path, operation.get("parameters", [])))
    return found


def _url(path: str, parameters: list[dict[str, Any]], target: str, value: str) -> str:
    filled = path
    query = []
    for parameter in parameters:
        name = parameter["name"]
        given = value if name == target else _ordinary(parameter)
        if parameter["in"] == "path":
            filled = filled.replace("{" + name + "}", given or "x")
        elif parameter["in"] == "query" and (name == target or parameter.get("required")):
            query.append(f"{name}={given}")
    return filled + ("?" + "&".join(query) if query else "")


def _ordinary(parameter: dict[str, Any]) -> str:
    types = {branch.get("type") for branch in parameter["schema"].get("anyOf", [])}
    types.add(parameter["schema"].get("type"))
    return "1" if "integer" in types else "C1"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_no_hostile_parameter_value_crashes_the_api(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    async with httpx.AsyncClient(
        base_url=stack.api.url, headers={"X-API-KEY": API_KEY}, timeout=30
    ) as api:
        schema = (await api.get("/openapi.json")).json()
        answers: dict[str, int] = {}
        shapes: list[str] = []
        for method, path, parameters in _operations(schema):
            for parameter in parameters:
                if parameter["in"] not in ("path", "query"):
                    continue
                for case, value in HOSTILE.items():
                    url = _url(path, parameters, parameter["name"], value)
                    answer = await api.request(method, url)
                    label = f"{method} {path} {parameter['name']}={case}"
                    answers[label] = answer.status_code
                    if answer.status_code >= 400:
                        body = answer.json()
                        if set(body) - {"details"} != {"statusCode", "message", "error"}:
                            shapes.append(f"{label}: {body}")
    crashed = {label: code for label, code in answers.items() if code >= 500}
    assert crashed == {}
    assert shapes == []
    # The sweep reached every parameter the old list filters crashed on.
    for label in (
        "GET /campaigns provider=nul",
        "GET /dead-letters campaign=nul",
        "GET /dead-letters error=nul-inside",
        "GET /webhooks/undeliverable agendamento_id=nul-inside",
    ):
        assert answers[label] == 400, label
    assert len(answers) > 150


DASHBOARD = [
    "/dashboard?status={v}&provider={v}&before={v}",
    "/dashboard/api/campaigns?status={v}&provider={v}&before={v}",
    "/dashboard/campaigns/{v}",
    "/dashboard/api/campaigns/{v}",
    "/dashboard/campaigns/C1?recipients={v}&after={v}&batches_after={v}",
    "/dashboard/campaigns/{v}/confirm/{v}",
    "/dashboard/audit?before={v}",
    "/dashboard/login?next={v}",
]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_no_hostile_value_crashes_a_dashboard_page(stack_factory: StackFactory) -> None:
    from tests.dashboard.helpers import browser, sign_in

    stack = await stack_factory(with_worker=False)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        answers = {}
        for page in DASHBOARD:
            for case, value in HOSTILE.items():
                answer = await client.get(page.replace("{v}", value))
                answers[f"{page} {case}"] = answer.status_code
    assert {label: code for label, code in answers.items() if code >= 500} == {}
    assert len(answers) == len(DASHBOARD) * len(HOSTILE)
