"""The whole system with a real WordPress: rows seeded in WordPress, approved on the plugin's
admin screen, dispatched by disparo to a provider simulator, and the signed status webhooks
writing the outcome back onto the rows.

One case per provider that has landed. A new provider adds a `ProviderCase`: its WordPress
`fornecedor` and agendamento prefix, the credentials to store in WordPress so they point at
the stack's simulator of that provider, and a check of what the simulator received.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from disparo.devstack import DevStack
from disparo.providers.base import ProviderCode
from disparo.providers.cda.dev import DEV_CDA_KEY
from disparo.providers.cda.simulator import IMPORT_PATH
from tests.conftest import StackFactory, wait_for
from tests.e2e.wordpress_site import WordPressSite

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

WEBHOOK_SECRET = "segredo-dos-webhooks"


@dataclass(frozen=True)
class ProviderCase:
    name: str
    fornecedor: str
    prefix: str
    #: acm_static_credentials values pointing at the stack's simulator.
    static_credentials: Callable[[DevStack], dict[str, str]]
    #: acm_provider_credentials ({provider: {env id: block}}) for per-environment providers.
    env_credentials: Callable[[DevStack], dict[str, Any]]
    #: Asserts what the provider's simulator received for these WordPress rows.
    check_received: Callable[[DevStack, list[dict[str, Any]]], None]
    final_row_status: str = "enviado"


def _cda_received(stack: DevStack, rows: list[dict[str, Any]]) -> None:
    assert len(stack.cda.requests) == 1
    sent = stack.cda.requests[0].json
    assert sent["chave_api"] == DEV_CDA_KEY
    assert sent["codigo_equipe"] == "1001"
    assert [line.split(";")[1] for line in sent["mensagens"]] == [
        "55" + row["telefone"] for row in rows
    ]
    assert sent["corpo_mensagem"] == rows[0]["mensagem"]


CASES = [
    ProviderCase(
        name="cda",
        fornecedor="CDA",
        prefix="C",
        static_credentials=lambda stack: {
            "cda_api_url": stack.simulators[ProviderCode.CDA].server.url + IMPORT_PATH,
            "cda_api_key": DEV_CDA_KEY,
        },
        env_credentials=lambda stack: {},
        check_received=_cda_received,
    ),
]


def seed_rows(site: WordPressSite, agendamento_id: str, fornecedor: str, count: int) -> None:
    site.wp(
        "seed",
        [
            {
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
            for index in range(1, count + 1)
        ],
    )


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


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_campaign_from_wordpress_rows_to_provider_and_back(
    stack_factory: StackFactory, wordpress: WordPressSite, case: ProviderCase
) -> None:
    stack = await stack_factory(
        wordpress_url=wordpress.url, webhook_secret=SecretStr(WEBHOOK_SECRET)
    )
    configure_wordpress(wordpress, stack, case)
    agendamento_id = f"{case.prefix}20250115093000"
    seed_rows(wordpress, agendamento_id, case.fornecedor, 12)
    seed_rows(wordpress, f"{case.prefix}20250115100000", case.fornecedor, 2)  # not approved

    notice = await wordpress.approve_as_admin(agendamento_id)
    assert "enviada ao disparo" in notice

    async def rows_final() -> bool:
        statuses = {row["status"] for row in await wordpress.rows(agendamento_id)}
        return statuses == {case.final_row_status}

    await wait_for(rows_final, timeout=60, interval=0.5)
    rows = await wordpress.rows(agendamento_id)
    assert all("Concluído: 12 enviadas" in row["resposta_api"] for row in rows)
    assert all(row["data_disparo"] for row in rows)
    case.check_received(stack, rows)
    untouched = await wordpress.rows(f"{case.prefix}20250115100000")
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
