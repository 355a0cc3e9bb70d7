"""The Ótima WhatsApp simulator in the dev stack, and a sample template campaign."""

from __future__ import annotations

from typing import Any

import orjson

from disparo.providers.whatsapp_otima.simulator import API_PREFIX, WhatsappOtimaSimulator
from disparo.sim import (
    DevSimulatorSpec,
    RunningSimulator,
    WordPressSimulator,
    make_rows,
    start_server,
)

DEV_TOKEN = "tok_dev_otima_wpp"
DEV_BROKER = "5511999990000"  # the sender's number
SAMPLE_TEMPLATE = "modelo_whatsapp_v1"


async def start_whatsapp_otima(wordpress: WordPressSimulator, port: int) -> RunningSimulator:
    simulator = WhatsappOtimaSimulator(token=DEV_TOKEN)
    server = await start_server(simulator.app, port=port)
    wordpress.set_credentials(
        "whatsapp_otima",
        {
            "token": DEV_TOKEN,
            "api_url": server.url + API_PREFIX,
            "broker_code": DEV_BROKER,
            "customer_code": "77",
        },
    )
    return RunningSimulator(simulator, server)


def template_message() -> str:
    """A template source's `mensagem` (2.1.1) with Gen C's variables_map."""
    return orjson.dumps(
        {
            "template_code": SAMPLE_TEMPLATE,
            "template_source": "otima_wpp",
            "original_message": "Olá {{nome}}, temos uma proposta para o contrato {{contrato}}.",
            "variables_map": {
                "nome": {"type": "field", "value": "nome"},
                "contrato": {"type": "field", "value": "idcob_contrato"},
                "empresa": {"type": "text", "value": "Empresa Exemplo"},
            },
        }
    ).decode()


def sample_rows(agendamento_id: str, count: int) -> list[dict[str, Any]]:
    return make_rows(agendamento_id, count, message=template_message())


def seed_sample(wordpress: WordPressSimulator, agendamento_id: str, count: int) -> None:
    wordpress.add_campaign(agendamento_id, sample_rows(agendamento_id, count))


DEV_SIMULATOR = DevSimulatorSpec(
    label="Ótima WhatsApp", start=start_whatsapp_otima, seed_sample=seed_sample
)
