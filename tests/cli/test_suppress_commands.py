"""`disparo suppress import|add|list|remove|export`, run as processes against a stack's
database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from disparo.audit.models import AuditEvent
from tests.cli.test_operator_commands import _disparo
from tests.conftest import StackFactory


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_suppression_commands(stack_factory: StackFactory, tmp_path: Path) -> None:
    stack = await stack_factory(with_worker=False)
    source = tmp_path / "optouts.csv"
    source.write_text("phone,cpf_cnpj,reason\n11999990001,,pediu\nxyz\n21988880002\n")
    exported = tmp_path / "export.csv"

    imported = await _disparo(stack, "suppress", "import", str(source))
    added = await _disparo(stack, "suppress", "add", "(31) 97777-0003", "--reason", "ligou")
    repeated = await _disparo(stack, "suppress", "add", "31977770003")
    invalid = await _disparo(stack, "suppress", "add", "12")
    listed = await _disparo(stack, "suppress", "list")
    removed = await _disparo(stack, "suppress", "remove", "21 98888-0002")
    missing = await _disparo(stack, "suppress", "remove", "21 98888-0002")
    await _disparo(stack, "suppress", "export", "--output", str(exported))
    to_stdout = await _disparo(stack, "suppress", "export")

    assert imported[0] == 0, imported[1]
    assert "2 adicionados, 0 já na lista, 1 linhas inválidas" in imported[1]
    assert "linha 3: telefone inválido: 'xyz'" in imported[1]
    assert added[0] == 0 and "adicionado" in added[1]
    assert repeated[0] == 0 and "já estava na lista" in repeated[1]
    assert invalid[0] == 1 and "Telefone inválido" in invalid[1]
    assert listed[0] == 0 and "5531977770003" in listed[1] and "3 of 3" in listed[1]
    assert removed[0] == 0 and missing[0] == 1 and "não está na lista" in missing[1]
    lines = exported.read_text().splitlines()
    assert lines[0] == "phone,cpf_cnpj,reason,source,created_at,actor"
    assert [line.split(",")[0] for line in lines[1:]] == ["5511999990001", "5531977770003"]
    assert to_stdout[1].splitlines()[1:] == lines[1:]
    async with stack.runtime.sessions() as session:
        events = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [(e.action, e.outcome, e.via) for e in events] == [
        ("suppress-import", "done", "cli"),
        ("suppress", "done", "cli"),
        ("suppress", "done", "cli"),
        ("suppress", "refused", "cli"),
        ("unsuppress", "done", "cli"),
        ("unsuppress", "refused", "cli"),
    ]
    assert all(e.actor.startswith("cli:") for e in events)
