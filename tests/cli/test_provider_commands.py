"""`disparo provider health|hold|resume`, run as processes against the stack's database and
Redis: the same state the API shows, changed and audited as cli:USER."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from disparo.audit.models import AuditEvent
from tests.cli.test_operator_commands import _disparo
from tests.conftest import StackFactory
from tests.support_breaker import ACCOUNT, open_account


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_health_hold_and_resume_from_the_command_line(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    empty = await _disparo(stack, "provider", "health")
    await open_account(stack)

    listed = await _disparo(stack, "provider", "health")
    held = await _disparo(stack, "provider", "hold", ACCOUNT)
    state_held = (await stack.runtime.watch.breaker.read(ACCOUNT)).state
    resumed = await _disparo(stack, "provider", "resume", ACCOUNT)
    unknown = await _disparo(stack, "provider", "resume", "CDA:nobody")

    assert empty == (0, "nenhuma requisição a fornecedores nos últimos minutos\n")
    assert listed[0] == 0 and ACCOUNT in listed[1] and "connection 3" in listed[1]
    assert f"CDA account {ACCOUNT} paused since" in listed[1]
    assert held[0] == 0 and f"CDA account {ACCOUNT} held since" in held[1], held
    assert state_held == "held"
    assert resumed[0] == 0 and "sending: 0 lote(s) em espera" in resumed[1], resumed
    assert (await stack.runtime.watch.breaker.read(ACCOUNT)).state == "closed"
    assert unknown[0] == 1 and "desconhecida" in unknown[1]
    async with stack.runtime.sessions() as session:
        events = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [(e.action, e.outcome, e.via) for e in events] == [
        ("provider-hold", "done", "cli"),
        ("provider-resume", "done", "cli"),
        ("provider-resume", "refused", "cli"),
    ]
    assert all(e.actor.startswith("cli:") and e.target.startswith("CDA:") for e in events)
