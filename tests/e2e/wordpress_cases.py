"""One `ProviderCase` per provider for test_real_wordpress.py: what WordPress holds (the rows'
`fornecedor` and extra columns, the credentials pointing at the stack's simulator), what the
simulator must have received, and what the rows must end up showing."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from disparo.campaigns.models import BatchStep
from disparo.devstack import DevStack
from disparo.providers.cda.dev import DEV_CDA_KEY
from disparo.providers.cda.simulator import IMPORT_PATH as CDA_IMPORT_PATH
from disparo.providers.gosac.dev import DEV_GOSAC_TOKEN
from disparo.providers.gosac.simulator import CREATE_PATH
from disparo.providers.noah.dev import DEV_NOAH_TOKEN
from disparo.providers.noah.simulator import BASE_PATH as NOAH_BASE_PATH
from disparo.providers.rcs.dev import DEV_RCS_KEY, SAMPLE_MEDIA
from disparo.providers.rcs.simulator import IMPORT_PATH as RCS_IMPORT_PATH
from disparo.providers.rcs_otima.dev import DEV_OTIMA_TOKEN, SAMPLE_TEMPLATE, template_message
from disparo.providers.rcs_otima.simulator import API_PREFIX as OTIMA_API_PREFIX
from disparo.providers.rcs_otima.wire import TEMPLATE_PATH
from disparo.providers.salesforce.adapter import MKC_SUCCESS
from disparo.providers.salesforce.simulator import (
    AUTOMATIONS_PATH,
    MC_TOKEN_PATH,
    SOBJECTS_PATH,
    TOKEN_PATH,
)

ENV_ID = "1001"  # the seeded rows' idgis_ambiente
SEEDED = 12
SENT_SUMMARY = f"Concluído: {SEEDED} enviadas"
GOSAC_START_DELAY = 1.0
MKC_DELAY = 1.0
SF_OPERACAO = "OPERACAO_WP_E2E"
Row = dict[str, Any]


def no_change(row: Row, index: int) -> None:
    """Rows as seed_rows writes them: a plain text, no extra column."""


def nothing_stored(stack: DevStack) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ProviderCase:
    name: str
    fornecedor: str
    prefix: str
    #: acm_static_credentials values pointing at the stack's simulator.
    static_credentials: Callable[[DevStack], dict[str, str]]
    #: Asserts what the provider's simulator received for these WordPress rows.
    check_received: Callable[[DevStack, list[Row]], None]
    #: acm_provider_credentials ({provider: {env id: block}}) for per-environment providers.
    env_credentials: Callable[[DevStack], dict[str, Any]] = nothing_stored
    #: Fills the columns a provider needs on seeded row number `index` (1-based).
    shape_row: Callable[[Row, int], None] = no_change
    #: stack_factory overrides (short second-step delays).
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: The webhooks disparo writes for the campaign, in order (its outbox).
    webhooks: tuple[str, ...] = ("processando", "enviado")
    #: The second step's batch, waited for before the rows are read (GOSAC, Salesforce).
    second_step: BatchStep | None = None
    final_row_status: str = "enviado"
    #: Text every row's resposta_api holds at the end (the last webhook's).
    final_response: str = SENT_SUMMARY


def sim_url(stack: DevStack, code: str) -> str:
    return stack.simulators[code].server.url


def phones(rows: list[Row]) -> list[str]:
    """The rows' phones as the plugin's data route serves them (with 55)."""
    return ["55" + row["telefone"] for row in rows]


def _cda_received(stack: DevStack, rows: list[Row]) -> None:
    assert len(stack.cda.requests) == 1
    sent = stack.cda.requests[0].json
    assert sent["chave_api"] == DEV_CDA_KEY
    assert sent["codigo_equipe"] == ENV_ID
    assert [line.split(";")[1] for line in sent["mensagens"]] == phones(rows)
    assert sent["corpo_mensagem"] == rows[0]["mensagem"]


def _gosac_received(stack: DevStack, rows: list[Row]) -> None:
    create, start = stack.simulators["GOSAC"].requests
    assert (create.method, create.path) == ("POST", CREATE_PATH)
    assert create.headers["authorization"] == DEV_GOSAC_TOKEN  # raw token, no Bearer
    assert create.json["message"] == rows[0]["mensagem"]
    assert create.json["contacts"] == [
        {"name": row["nome"], "number": phone, "hasWhatsapp": True}
        for row, phone in zip(rows, phones(rows), strict=True)
    ]
    assert create.response_status == 201
    # The start step, after the configured delay, on the id the creation answered.
    campaign_id = create.response_body["id"]
    assert (start.method, start.path, start.json) == (
        "PUT",
        f"{CREATE_PATH}/{campaign_id}/status/started",
        {},
    )
    assert start.headers["authorization"] == DEV_GOSAC_TOKEN
    assert (start.received_at - create.received_at).total_seconds() >= GOSAC_START_DELAY
    assert start.response_status == 200


def _noah_received(stack: DevStack, rows: list[Row]) -> None:
    [request] = stack.simulators["NOAH"].requests
    assert (request.method, request.path) == ("POST", NOAH_BASE_PATH + "/contacts")
    assert request.headers["authorization"] == f"INTEGRATION {DEV_NOAH_TOKEN}"
    assert re.fullmatch(r"campanha_\d{13}", request.json["name"])
    assert request.json["data"] == [
        {
            "telefone": phone,
            "nome": row["nome"],
            "idgis_ambiente": ENV_ID,
            "idcob_contrato": row["idcob_contrato"],
            "cpf_cnpj": row["cpf_cnpj"],
            "mensagem": row["mensagem"],
            "data_cadastro": row["data_cadastro"],
        }
        for row, phone in zip(rows, phones(rows), strict=True)
    ]
    assert request.response_status == 201


def _with_media(row: Row, index: int) -> None:
    row["midia_campanha"] = SAMPLE_MEDIA


def _rcs_received(stack: DevStack, rows: list[Row]) -> None:
    [request] = stack.simulators["RCS"].requests
    assert (request.method, request.path) == ("POST", RCS_IMPORT_PATH)
    body = dict(request.json)
    assert re.fullmatch(rf"campanha_{ENV_ID}_\d{{13}}", body.pop("nome"))
    assert body == {
        "chave_api": DEV_RCS_KEY,
        "codigo_equipe": ENV_ID,
        "codigo_usuario": "1",
        "ativo": True,
        "corpo_mensagem": rows[0]["mensagem"],
        "midia_campanha": SAMPLE_MEDIA,
        "mensagens": [
            f"1;{phone};{row['nome']};{row['idcob_contrato']};{row['cpf_cnpj']}"
            for row, phone in zip(rows, phones(rows), strict=True)
        ],
    }
    assert stack.cda.requests == []  # every recipient was reachable by RCS: no SMS route


def _customer_code(index: int) -> str:
    return "77" if index % 2 else "78"


def _with_template(row: Row, index: int) -> None:
    """Gen C's template JSON in `mensagem`, two customer codes alternating (two requests)."""
    row["mensagem"] = template_message(_customer_code(index))


def _otima_received(stack: DevStack, rows: list[Row]) -> None:
    requests = sorted(stack.simulators["RCS_OTIMA"].requests, key=lambda r: r.json["customer_code"])
    groups = {
        code: [r for i, r in enumerate(rows, 1) if _customer_code(i) == code]
        for code in ("77", "78")
    }
    assert [r.json["customer_code"] for r in requests] == ["77", "78"]
    for request, (code, members) in zip(requests, groups.items(), strict=True):
        assert (request.method, request.path) == ("POST", OTIMA_API_PREFIX + TEMPLATE_PATH)
        assert request.headers["authorization"] == DEV_OTIMA_TOKEN
        assert request.json["broker_code"] == "broker_exemplo"  # from the template JSON
        assert request.json["template_code"] == SAMPLE_TEMPLATE
        assert [message["phone"] for message in request.json["messages"]] == phones(members)
        for message, row in zip(request.json["messages"], members, strict=True):
            assert message["document"] == row["cpf_cnpj"]
            assert message["variables"] == {
                "-nome-": row["nome"], "nome": row["nome"],
                "-contrato-": row["idcob_contrato"], "contrato": row["idcob_contrato"],
                "-canal-": "RCS", "canal": "RCS",
            }  # fmt: skip
            assert message["extra_fields"]["CPF_PADRAO"] == "111.111.111-11"
            assert message["fallback"] == {
                "type": "SMS",
                "message": "Proposta disponível para o seu contrato.",
            }
        assert request.response_status == 200, (code, request.response_body)


def _salesforce_received(stack: DevStack, rows: list[Row]) -> None:
    sim = stack.simulators["SALESFORCE"].simulator
    [token] = sim.requests_to("token")
    assert token.path == TOKEN_PATH
    assert token.form == {
        "grant_type": "password",
        "client_id": sim.account.client_id,
        "client_secret": sim.account.client_secret,
        "username": sim.account.username,
        "password": sim.account.password,
    }
    [chunk] = sim.requests_to("sobjects")
    assert chunk.path == SOBJECTS_PATH
    assert chunk.headers["authorization"] == "Bearer " + token.response_body["access_token"]
    assert chunk.json == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Contact"},
                "MobilePhone": phone,
                "LastName": row["nome"],
                "CPF_CNPJ__c": row["cpf_cnpj"],
                "Operacao__c": SF_OPERACAO,
                "disparo__c": True,
            }
            for row, phone in zip(rows, phones(rows), strict=True)
        ],
    }
    # Marketing Cloud, after the configured delay: its token, then the automation run.
    [mc_token] = sim.requests_to("mc_token")
    assert (mc_token.path, mc_token.json) == (
        MC_TOKEN_PATH,
        {
            "grant_type": "client_credentials",
            "client_id": sim.account.mc_client_id,
            "client_secret": sim.account.mc_client_secret,
        },
    )
    [run] = sim.requests_to("run")
    automation = sim.account.automation_ids[0]
    assert (run.path, run.json) == (f"{AUTOMATIONS_PATH}/{automation}/actions/runallonce", {})
    assert run.headers["authorization"] == "Bearer " + mc_token.response_body["access_token"]
    assert (run.received_at - chunk.received_at).total_seconds() >= MKC_DELAY
    assert sim.automation_runs == [automation]


def _salesforce_static(stack: DevStack) -> dict[str, str]:
    account = stack.simulators["SALESFORCE"].simulator.account
    return {
        "sf_client_id": account.client_id,
        "sf_client_secret": account.client_secret,
        "sf_username": account.username,
        "sf_password": account.password,
        "sf_token_url": sim_url(stack, "SALESFORCE") + TOKEN_PATH,
    }


def _salesforce_environment(stack: DevStack) -> dict[str, Any]:
    """Gen C's per-environment block: operacao, automation and the Marketing Cloud values."""
    account = stack.simulators["SALESFORCE"].simulator.account
    url = sim_url(stack, "SALESFORCE")
    block = {
        "operacao": SF_OPERACAO,
        "automation_id": account.automation_ids[0],
        "mkc_client_id": account.mc_client_id,
        "mkc_client_secret": account.mc_client_secret,
        "mkc_token_url": url + MC_TOKEN_PATH,
        "mkc_api_url": url + AUTOMATIONS_PATH,
    }
    return {"salesforce": {ENV_ID: block}}


def _url_and_token(
    provider: str, code: str, path: str, token: str
) -> Callable[[DevStack], dict[str, Any]]:
    """GOSAC's and NOAH's per-environment block, as the plugin's admin screen stores it."""

    def stored(stack: DevStack) -> dict[str, Any]:
        return {provider: {ENV_ID: {"url": sim_url(stack, code) + path, "token": token}}}

    return stored


CASES = [
    ProviderCase(
        name="cda",
        fornecedor="CDA",
        prefix="C",
        static_credentials=lambda stack: {
            "cda_api_url": sim_url(stack, "CDA") + CDA_IMPORT_PATH,
            "cda_api_key": DEV_CDA_KEY,
        },
        check_received=_cda_received,
    ),
    ProviderCase(
        name="gosac",
        fornecedor="GOSAC",
        prefix="G",
        static_credentials=lambda stack: {},
        env_credentials=_url_and_token("gosac", "GOSAC", CREATE_PATH, DEV_GOSAC_TOKEN),
        check_received=_gosac_received,
        settings={"gosac_start_delay": GOSAC_START_DELAY},
        # A successful start sends no webhook: the rows stay `enviado` (never `iniciado`).
        second_step=BatchStep.START,
    ),
    ProviderCase(
        name="noah",
        fornecedor="NOAH",
        prefix="N",
        static_credentials=lambda stack: {},
        env_credentials=_url_and_token("noah", "NOAH", NOAH_BASE_PATH, DEV_NOAH_TOKEN),
        check_received=_noah_received,
    ),
    ProviderCase(
        name="rcs-cromosapp",
        fornecedor="RCS",
        prefix="R",
        static_credentials=lambda stack: {
            "rcs_chave_api": DEV_RCS_KEY,
            "rcs_base_url": sim_url(stack, "RCS") + RCS_IMPORT_PATH,
        },
        shape_row=_with_media,
        check_received=_rcs_received,
    ),
    ProviderCase(
        name="rcs-otima",
        fornecedor="OTIMA_RCS",
        prefix="O",
        static_credentials=lambda stack: {
            "otima_rcs_token": DEV_OTIMA_TOKEN,
            "otima_rcs_api_url": sim_url(stack, "RCS_OTIMA") + OTIMA_API_PREFIX,
        },
        shape_row=_with_template,
        check_received=_otima_received,
    ),
    ProviderCase(
        name="salesforce",
        fornecedor="SALESFORCE",
        prefix="S",
        static_credentials=_salesforce_static,
        env_credentials=_salesforce_environment,
        check_received=_salesforce_received,
        settings={"salesforce_mkc_delay": MKC_DELAY},
        webhooks=("processando", "enviado", "mkc_executado"),
        second_step=BatchStep.MKC,
        # mkc_executado maps to `enviado` and its text replaces the import's on every row.
        final_response=MKC_SUCCESS,
    ),
]
