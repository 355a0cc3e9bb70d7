"""The whole system with a real WordPress: rows seeded in WordPress, approved on the plugin's
admin screen, dispatched by disparo to a provider simulator, and the signed status webhooks
writing the outcome back onto the rows.

One case per provider that has landed (tests/e2e/wordpress_cases.py). A new provider adds a
`ProviderCase`: its WordPress `fornecedor` and agendamento prefix, the credentials to store in
WordPress so they point at the stack's simulator of that provider, the columns its rows need,
and a check of what the simulator received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from disparo.campaigns.models import BatchStatus
from disparo.devstack import DevStack
from disparo.wordpress.outbox_model import WebhookOutbox
from disparo.wordpress.webhooks import delivery_body
from tests.conftest import StackFactory, wait_for
from tests.e2e.helpers import campaign_rows, outbox_statuses, webhooks_delivered
from tests.e2e.wordpress_cases import CASES, SEEDED, ProviderCase, Row, no_change
from tests.e2e.wordpress_site import WordPressSite

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

WEBHOOK_SECRET = "segredo-dos-webhooks"


def seed_rows(
    site: WordPressSite,
    agendamento_id: str,
    fornecedor: str,
    count: int,
    shape_row: Callable[[Row, int], None] = no_change,
) -> None:
    """`count` rows awaiting approval; `shape_row(row, index)` adds a provider's columns."""
    rows = []
    for index in range(1, count + 1):
        row = {
            "agendamento_id": agendamento_id,
            "fornecedor": fornecedor,
            "status": "pendente_aprovacao",
            "telefone": f"119{index:08d}",
            "nome": f"CLIENTE EXEMPLO {index}",
            "id_carteira": "77",
            "idgis_ambiente": "1001",
            "idcob_contrato": str(500000 + index),
            "cpf_cnpj": "11111111111",
            "mensagem": "Olá, temos uma proposta para o seu contrato.",
            "data_cadastro": "2025-01-15 09:30:00",
        }
        shape_row(row, index)
        rows.append(row)
    site.wp("seed", rows)


def configure_wordpress(site: WordPressSite, stack: DevStack, case: ProviderCase) -> None:
    site.wp(
        "options",
        {
            "acm_master_api_key": stack.settings.outbound_wordpress_key,
            "acm_microservice_config": {"url": stack.api.url, "api_key": stack.api_key},
            "acm_static_credentials": case.static_credentials(stack),
            "acm_provider_credentials": case.env_credentials(stack),
            "disparo_connector_webhook_secret": WEBHOOK_SECRET,
        },
    )


async def second_step_done(stack: DevStack, agendamento_id: str, case: ProviderCase) -> bool:
    if case.second_step is None:
        return True
    _, batches, _ = await campaign_rows(stack, agendamento_id)
    return any(b.step == case.second_step and b.status == BatchStatus.SENT for b in batches)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_campaign_from_wordpress_rows_to_provider_and_back(
    stack_factory: StackFactory, wordpress: WordPressSite, case: ProviderCase
) -> None:
    stack = await stack_factory(
        wordpress_url=wordpress.url, webhook_secret=SecretStr(WEBHOOK_SECRET), **case.settings
    )
    configure_wordpress(wordpress, stack, case)
    agendamento_id = f"{case.prefix}20250115093000"
    later = f"{case.prefix}20250115100000"
    seed_rows(wordpress, agendamento_id, case.fornecedor, SEEDED, case.shape_row)
    seed_rows(wordpress, later, case.fornecedor, 2, case.shape_row)  # not approved

    notice = await wordpress.approve_as_admin(agendamento_id)
    assert "enviada ao disparo" in notice
    # Before confirming, the admin saw disparo's preflight of these very rows.
    assert f"Um disparo agora enviaria para {SEEDED} destinatários." in wordpress.last_review

    async def settled() -> bool:
        """Every step ran (the second one too) and WordPress took every webhook."""
        rows = await wordpress.rows(agendamento_id)
        return (
            {row["status"] for row in rows} == {case.final_row_status}
            and all(case.final_response in row["resposta_api"] for row in rows)
            and await second_step_done(stack, agendamento_id, case)
            and await webhooks_delivered(stack)
        )

    await wait_for(settled, timeout=60, interval=0.5)
    assert await outbox_statuses(stack) == list(case.webhooks)
    rows = await wordpress.rows(agendamento_id)
    assert len(rows) == SEEDED
    assert all(row["data_disparo"] for row in rows)
    case.check_received(stack, rows)
    untouched = await wordpress.rows(later)
    assert {row["status"] for row in untouched} == {"pendente_aprovacao"}
    # Approving the finished campaign again sends nothing: no row awaits approval.
    assert '"code":"no_data"' in await wordpress.wp_async("approve", agendamento_id, check=False)
    case.check_received(stack, rows)


async def test_a_wrong_webhook_secret_is_refused_and_listed_as_undeliverable(
    stack_factory: StackFactory, wordpress: WordPressSite
) -> None:
    stack = await stack_factory(
        wordpress_url=wordpress.url, webhook_secret=SecretStr("outro-segredo")
    )
    configure_wordpress(wordpress, stack, CASES[0])
    seed_rows(wordpress, "C20250115093000", "CDA", 3)

    assert '"ok":true' in await wordpress.wp_async("approve", "C20250115093000")

    async def refused() -> bool:
        async with stack.runtime.sessions() as session:
            from disparo.wordpress.undeliverable import list_undeliverable

            _, total = await list_undeliverable(session)
        return total == 2  # processando and enviado, both refused with 401

    await wait_for(refused, timeout=60, interval=0.5)
    # WordPress never applied them: the rows stay as the approval left them.
    assert {row["status"] for row in await wordpress.rows("C20250115093000")} == {"pendente"}


async def test_an_older_webhook_played_again_cannot_reopen_the_finished_rows(
    stack_factory: StackFactory, wordpress: WordPressSite
) -> None:
    """disparo numbers each campaign's webhooks; the real plugin keeps the last number applied
    and refuses an older one, whoever sends it again (a force replay, a captured copy)."""
    stack = await stack_factory(
        wordpress_url=wordpress.url, webhook_secret=SecretStr(WEBHOOK_SECRET)
    )
    configure_wordpress(wordpress, stack, CASES[0])
    seed_rows(wordpress, "C20250115093000", "CDA", 3)
    assert '"ok":true' in await wordpress.wp_async("approve", "C20250115093000")

    async def finished() -> bool:
        rows = await wordpress.rows("C20250115093000")
        return {row["status"] for row in rows} == {"enviado"} and await webhooks_delivered(stack)

    await wait_for(finished, timeout=60, interval=0.5)
    async with stack.runtime.sessions() as session:
        entries = (await session.scalars(select(WebhookOutbox).order_by(WebhookOutbox.id))).all()
    assert [(e.payload["status"], e.sequencia) for e in entries] == [
        ("processando", 1),
        ("enviado", 2),
    ]
    processando, enviado = entries

    # Signed afresh (a new timestamp), so only the sequencia can tell it is old. Timestamps
    # count seconds: within the second of the first delivery the signature would be the same
    # one, refused as a replayed signature before the sequencia is looked at.
    await asyncio.sleep(1.1)
    stale = await stack.runtime.wordpress.post_status(delivery_body(processando))
    assert not stale.delivered and not stale.retryable
    assert "409" in stale.detail and "stale_sequencia" in stale.detail
    again = await stack.runtime.wordpress.post_status(delivery_body(enviado))
    assert again.delivered  # the newest one, delivered twice, is still fine
    assert {row["status"] for row in await wordpress.rows("C20250115093000")} == {"enviado"}
