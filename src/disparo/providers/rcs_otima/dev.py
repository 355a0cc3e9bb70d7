"""The Ótima RCS simulator in the dev stack, and a sample template campaign."""

from __future__ import annotations

from typing import Any

import orjson

from disparo.providers.rcs_otima.simulator import API_PREFIX, OtimaSimulator
from disparo.sim import (
    DevSimulatorSpec,
    RunningSimulator,
    WordPressSimulator,
    make_rows,
    start_server,
)

DEV_OTIMA_TOKEN = "tok_dev_otima"
SAMPLE_TEMPLATE = "modelo_cobranca_v1"


async def start_otima(wordpress: WordPressSimulator, port: int) -> RunningSimulator:
    simulator = OtimaSimulator(token=DEV_OTIMA_TOKEN)
    server = await start_server(simulator.app, port=port)
    wordpress.set_credentials(
        "rcs_otima",
        {
            "token": DEV_OTIMA_TOKEN,
            "api_url": server.url + API_PREFIX,
            "broker_code": "broker_dev",
            "customer_code": "",
        },
    )
    return RunningSimulator(simulator, server)


def template_message(customer_code: str) -> str:
    """A template source's `mensagem` (2.1.1), `{nome}` filled in per row by the seeder."""
    return orjson.dumps(
        {
            "template_code": SAMPLE_TEMPLATE,
            "template_source": "otima_rcs",
            "broker_code": "broker_exemplo",
            "customer_code": customer_code,
            "original_message": "Olá {nome}, temos uma proposta para o seu contrato.",
            "variables_map": {
                "nome": {"type": "field", "value": "nome"},
                "contrato": {"type": "field", "value": "idcob_contrato"},
                "canal": {"type": "text", "value": "RCS"},
            },
            "fallback": "Proposta disponível para o seu contrato.",
        }
    ).decode()


def otima_sample_rows(agendamento_id: str, count: int) -> list[dict[str, Any]]:
    """Template rows alternating two customer codes (77, 78): one request group each."""
    rows = make_rows(agendamento_id, count, message=template_message("77"))
    for row in rows[1::2]:
        row["mensagem"] = template_message("78").replace("{nome}", row["nome"])
    return rows


def seed_otima_sample(wordpress: WordPressSimulator, agendamento_id: str, count: int) -> None:
    wordpress.add_campaign(agendamento_id, otima_sample_rows(agendamento_id, count))


OTIMA_DEV_SIMULATOR = DevSimulatorSpec(
    label="Ótima RCS", start=start_otima, seed_sample=seed_otima_sample
)
