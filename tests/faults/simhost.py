"""The simulators' host of the many-hosts test: WordPress, CDA, Salesforce and GOSAC on one
address (run inside its own network namespace), each send path behind a chaos layer that
answers slowly (so a fault lands mid-request) and logs when each request arrived.

    python -m tests.faults.simhost wordpress ADDR CDA_ID:COUNT SF_ID:COUNT GOSAC_ID:COUNT
    python -m tests.faults.simhost cda|salesforce|gosac ADDR

each prints "ready" once it listens; a provider's GET http://ADDR:{port + 100}/report answers
the arrival times of its send requests (this host's monotonic clock, which all the
processes of one host share) and every phone it received."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from fastapi import FastAPI

from disparo.http_server import start_server
from disparo.providers.cda.simulator import IMPORT_PATH, CdaSimulator
from disparo.providers.gosac.simulator import CREATE_PATH, GosacSimulator
from disparo.providers.salesforce.simulator import (
    AUTOMATIONS_PATH,
    MC_TOKEN_PATH,
    SOBJECTS_PATH,
    TOKEN_PATH,
    SalesforceAccount,
    SalesforceSimulator,
)
from disparo.sim.wordpress import WordPressSimulator
from tests.faults.infra import Chaos

WP_KEY = "wp-master-key-many-hosts"
CDA_KEY = "chave-cda-many-hosts"
GOSAC_TOKEN = "tok-gosac-many-hosts"
ENV_ID = "1001"
PORTS = {"wordpress": 8081, "cda": 8101, "salesforce": 8102, "gosac": 8103}
PORTS |= {f"{name}-control": port + 100 for name, port in list(PORTS.items())[1:]}
# Slow answers: a request stays at the provider long enough for a fault to cut it.
SLOW = {"cda": (1.0, 2.0), "salesforce": (0.3, 0.8), "gosac": (1.0, 2.0)}


def _phones(name: str, simulator: Any) -> list[str]:
    if name == "cda":
        return [line.split(";")[1] for c in simulator.imported for line in c.mensagens]
    if name == "salesforce":
        return [str(contact.fields["MobilePhone"]) for contact in simulator.contacts]
    return [str(c["number"]) for g in simulator.campaigns.values() for c in g.contacts]


def _provider(name: str) -> tuple[Any, Chaos]:
    """A provider simulator behind its chaos layer (slow answers, arrival log)."""
    simulator: Any
    if name == "cda":
        simulator, path = CdaSimulator(api_key=CDA_KEY), IMPORT_PATH
    elif name == "salesforce":
        simulator, path = SalesforceSimulator(SalesforceAccount()), SOBJECTS_PATH
    else:
        simulator, path = GosacSimulator(token=GOSAC_TOKEN), CREATE_PATH
    return simulator, Chaos(simulator.app, path, seed=len(name), slow=SLOW[name])


def _wordpress(addr: str, campaigns: list[tuple[str, int]]) -> WordPressSimulator:
    wordpress = WordPressSimulator(master_key=WP_KEY)
    for agendamento_id, count in campaigns:
        wordpress.seed_campaign(agendamento_id, count, env_id=ENV_ID)
    url = {name: f"http://{addr}:{PORTS[name]}" for name in PORTS}
    account = SalesforceAccount()  # the same (fixed) account the Salesforce process serves
    wordpress.set_credentials("cda", {"api_url": url["cda"] + IMPORT_PATH, "api_key": CDA_KEY})
    wordpress.set_credentials(
        "gosac", {"url": url["gosac"] + CREATE_PATH, "token": GOSAC_TOKEN}, env_id=ENV_ID
    )
    wordpress.set_credentials(
        "salesforce",
        {"client_id": account.client_id, "client_secret": account.client_secret,
         "username": account.username, "password": account.password,
         "token_url": url["salesforce"] + TOKEN_PATH, "api_url": ""},
    )  # fmt: skip
    wordpress.set_credentials(
        "salesforce",
        {"operacao": "OPERACAO_MANY_HOSTS", "automation_id": account.automation_ids[0],
         "mkc_client_id": account.mc_client_id, "mkc_client_secret": account.mc_client_secret,
         "mkc_token_url": url["salesforce"] + MC_TOKEN_PATH,
         "mkc_api_url": url["salesforce"] + AUTOMATIONS_PATH},
        env_id=ENV_ID,
    )  # fmt: skip
    return wordpress


async def main(role: str, addr: str, campaigns: list[tuple[str, int]]) -> None:
    """One role per process, so one simulator's busy moment (WordPress building 100,000 rows
    of JSON) never delays when another records a request's arrival."""
    apps: dict[str, Any] = {}
    if role == "wordpress":
        apps[role] = _wordpress(addr, campaigns).app
    else:
        simulator, layer = _provider(role)
        control = FastAPI()

        def report() -> dict[str, Any]:
            found: dict[str, Any] = {"arrivals": [event.at for event in layer.events]}
            found["senders"] = [event.sender for event in layer.events]
            found["phones"] = _phones(role, simulator)
            if role == "gosac":  # the second step: each created campaign started
                found["starts"] = sum(g.starts for g in simulator.campaigns.values())
            return found

        control.add_api_route("/report", report, methods=["GET"])
        apps = {role: layer, f"{role}-control": control}
    servers = [await start_server(app, host=addr, port=PORTS[name]) for name, app in apps.items()]
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for server in servers:
        await server.stop()


if __name__ == "__main__":
    pairs = [arg.split(":") for arg in sys.argv[3:]]
    asyncio.run(main(sys.argv[1], sys.argv[2], [(name, int(count)) for name, count in pairs]))
