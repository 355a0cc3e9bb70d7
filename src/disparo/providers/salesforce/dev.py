"""The Salesforce (Core + Marketing Cloud) simulator in the dev stack: WordPress's static
Salesforce block and the environment's operacao/automation/Marketing Cloud block point at it."""

from __future__ import annotations

from disparo.providers.salesforce.simulator import (
    AUTOMATIONS_PATH,
    MC_TOKEN_PATH,
    TOKEN_PATH,
    SalesforceAccount,
    SalesforceSimulator,
)
from disparo.sim import DevSimulatorSpec, RunningSimulator, WordPressSimulator, start_server

DEV_ENV_ID = "1001"
DEV_OPERACAO = "OPERACAO_DEV"


async def start_salesforce(wordpress: WordPressSimulator, port: int) -> RunningSimulator:
    account = SalesforceAccount()
    simulator = SalesforceSimulator(account)
    server = await start_server(simulator.app, port=port)
    wordpress.set_credentials(
        "salesforce",
        {
            "client_id": account.client_id,
            "client_secret": account.client_secret,
            "username": account.username,
            "password": account.password,
            "token_url": server.url + TOKEN_PATH,
            "api_url": "",
        },
    )
    wordpress.set_credentials(
        "salesforce",
        {
            "operacao": DEV_OPERACAO,
            "automation_id": account.automation_ids[0],
            "mkc_client_id": account.mc_client_id,
            "mkc_client_secret": account.mc_client_secret,
            "mkc_token_url": server.url + MC_TOKEN_PATH,
            "mkc_api_url": server.url + AUTOMATIONS_PATH,
        },
        env_id=DEV_ENV_ID,
    )
    return RunningSimulator(simulator, server)


SALESFORCE_DEV_SIMULATOR = DevSimulatorSpec(label="SALESFORCE", start=start_salesforce)
