"""The suppression routes on both databases: add, list, filter, page, remove, import, export,
every change audited."""

from __future__ import annotations

import csv
import io

from pydantic import SecretStr
from sqlalchemy import select

from disparo.audit.models import AuditEvent
from disparo.devstack import DevStack
from disparo.suppressions.models import Suppression
from tests.conftest import StackFactory
from tests.e2e.helpers import api


async def _audit(stack: DevStack) -> list[tuple[str, str, str, str]]:
    async with stack.runtime.sessions() as session:
        events = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.target, e.outcome, e.actor) for e in events]


async def test_add_list_remove(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    async with api(stack) as client:
        added = await client.post(
            "/suppressions", json={"phone": "(11) 99999-0001", "reason": "pediu por telefone"}
        )
        again = await client.post("/suppressions", json={"phone": "5511999990001"})
        other = await client.post("/suppressions", json={"phone": "21 98888-0002"})
        invalid = await client.post("/suppressions", json={"phone": "12ab"})
        listed = (await client.get("/suppressions")).json()
        filtered = (await client.get("/suppressions", params={"phone": "11 99999-0001"})).json()
        prefix = (await client.get("/suppressions", params={"phone": "5521"})).json()
        first_page = (await client.get("/suppressions", params={"limit": 1})).json()
        second_page = (
            await client.get(
                "/suppressions", params={"limit": 1, "before": first_page["next_before"]}
            )
        ).json()
        removed = await client.delete("/suppressions/+55 (11) 99999-0001")
        gone = await client.delete("/suppressions/5511999990001")
        after = (await client.get("/suppressions")).json()

    assert added.status_code == 201 and added.json()["added"] is True
    entry = added.json()["suppression"]
    assert (entry["phone"], entry["source"], entry["reason"]) == (
        "5511999990001",
        "operator",
        "pediu por telefone",
    )
    assert entry["actor"] == "key1"
    assert again.status_code == 200 and again.json()["added"] is False
    assert again.json()["suppression"]["reason"] == "pediu por telefone"  # the first entry stays
    assert other.status_code == 201
    assert invalid.status_code == 400 and invalid.json()["details"][0]["field"] == "phone"
    assert listed["total"] == 2 and [i["phone"] for i in listed["items"]] == [
        "5521988880002",
        "5511999990001",
    ]
    assert [i["phone"] for i in filtered["items"]] == ["5511999990001"]
    assert [i["phone"] for i in prefix["items"]] == ["5521988880002"]
    assert [i["phone"] for i in first_page["items"]] == ["5521988880002"]
    assert [i["phone"] for i in second_page["items"]] == ["5511999990001"]
    assert removed.status_code == 204
    assert gone.status_code == 404 and "não está na lista" in gone.json()["message"]
    assert [i["phone"] for i in after["items"]] == ["5521988880002"]
    assert await _audit(stack) == [
        ("suppress", "5511999990001", "done", "key1"),
        ("suppress", "5511999990001", "done", "key1"),
        ("suppress", "5521988880002", "done", "key1"),
        ("unsuppress", "5511999990001", "done", "key1"),
        ("unsuppress", "5511999990001", "refused", "key1"),
    ]


async def test_scopes(stack_factory: StackFactory) -> None:
    stack = await stack_factory(
        with_worker=False,
        api_keys=[SecretStr("reader:read:" + "r" * 32), SecretStr("ops:read+operate:" + "o" * 32)],
    )
    async with api(stack, key="r" * 32) as reader, api(stack, key="o" * 32) as operator:
        refused = await reader.post("/suppressions", json={"phone": "11999990001"})
        refused_import = await reader.post("/suppressions/import", content=b"11999990001\n")
        allowed = await operator.post("/suppressions", json={"phone": "11999990001"})
        listed = await reader.get("/suppressions")
        exported = await reader.get("/suppressions/export")
    assert refused.status_code == 403 and refused_import.status_code == 403
    assert allowed.status_code == 201
    assert listed.status_code == 200 and exported.status_code == 200


CSV_BODY = (
    "telefone,cpf_cnpj,motivo\n"
    "11 99999-0001,12345678901,pediu\n"
    "abc\n"
    "\n"
    "5511999990001\n"  # repeated in the file
    '21988880002,,"reclamou, no Procon"\n'
    "0800123\n"
)


async def test_import_reports_bad_lines_and_export_round_trips(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False)
    async with api(stack) as client:
        await client.post("/suppressions", json={"phone": "31977770003", "reason": "antes"})
        imported = await client.post(
            "/suppressions/import", content=CSV_BODY.encode(), headers={"content-type": "text/csv"}
        )
        again = (await client.post("/suppressions/import", content=CSV_BODY.encode())).json()
        empty = await client.post("/suppressions/import", content=b"")
        not_a_phone = await client.delete("/suppressions/export")
        exported = await client.get("/suppressions/export")

    assert imported.status_code == 200, imported.text
    assert imported.json() == {
        "lines": 5,
        "added": 2,
        "already_listed": 1,
        "invalid": 2,
        "errors": [
            {"line": 3, "message": "telefone inválido: 'abc'"},
            {"line": 7, "message": "telefone inválido: '0800123'"},
        ],
    }
    assert (again["added"], again["already_listed"], again["invalid"]) == (0, 3, 2)
    assert empty.status_code == 400 and "vazio" in empty.json()["message"]
    assert not_a_phone.status_code == 405 and not_a_phone.headers["allow"] == "GET"
    async with stack.runtime.sessions() as session:
        rows = {row.phone: row for row in await session.scalars(select(Suppression))}
    assert rows["5511999990001"].cpf_cnpj == "12345678901"
    assert rows["5511999990001"].source == "import" and rows["5511999990001"].reason == "pediu"
    assert rows["5521988880002"].reason == "reclamou, no Procon"
    assert rows["5531977770003"].source == "operator"

    assert exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(exported.text)))
    assert lines[0] == ["phone", "cpf_cnpj", "reason", "source", "created_at", "actor"]
    assert [line[0] for line in lines[1:]] == ["5531977770003", "5511999990001", "5521988880002"]
    assert lines[3][2] == "reclamou, no Procon"
    events = [event for event in await _audit(stack) if event[0] == "suppress-import"]
    assert events == [("suppress-import", "csv", "done", "key1")] * 2 + [
        ("suppress-import", "csv", "refused", "key1")
    ]


async def test_import_has_its_own_body_limit(stack_factory: StackFactory) -> None:
    stack = await stack_factory(
        with_worker=False, max_body_bytes=64, suppressions_import_max_bytes=200
    )
    small = b"".join(f"119999{n:05d}\n".encode() for n in range(10))  # 120 bytes
    large = small * 2
    async with api(stack) as client:
        taken = await client.post("/suppressions/import", content=small)
        refused = await client.post("/suppressions/import", content=large)
        elsewhere = await client.post(
            "/suppressions", json={"phone": "11999990001", "reason": "x" * 80}
        )
    assert taken.status_code == 200 and taken.json()["added"] == 10
    assert refused.status_code == 413
    assert elsewhere.status_code == 413  # the general cap still holds on other routes
