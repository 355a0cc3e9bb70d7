"""The WordPress and CDA simulators as a container of the compose test (tests/deploy).

Runs inside disparo's own image (the simulators ship in the package, for `disparo dev`),
on the compose network, so the workers reach them by the service name ``sims`` exactly as
they would reach a real WordPress and provider. ``/_sims/cda`` on the summary port tells
the test what the CDA simulator received per message text: requests, recipient lines,
distinct lines.
"""

from __future__ import annotations

import asyncio
import os
import signal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from disparo.http_server import start_server
from disparo.providers.cda.simulator import IMPORT_PATH, CdaSimulator
from disparo.sim.wordpress import WordPressSimulator

WORDPRESS_PORT = 8081
CDA_PORT = 8082
SUMMARY_PORT = 8089
CDA_KEY = "chave-compose-cda"


def summary_app(cda: CdaSimulator) -> Starlette:
    async def cda_summary(_: Request) -> JSONResponse:
        # Per message text (each test campaign has its own): a recipient sent twice shows
        # as lines > distinct; the sample rows of two campaigns share phone numbers.
        by_message: dict[str, list[str]] = {}
        requests: dict[str, int] = {}
        for campaign in cda.imported:
            by_message.setdefault(campaign.corpo_mensagem, []).extend(campaign.mensagens)
            requests[campaign.corpo_mensagem] = requests.get(campaign.corpo_mensagem, 0) + 1
        return JSONResponse(
            {
                message: {
                    "requests": requests[message],
                    "lines": len(lines),
                    "distinct": len(set(lines)),
                }
                for message, lines in by_message.items()
            }
        )

    async def cda_delay(request: Request) -> JSONResponse:
        spec = await request.json()
        cda.delay_next(float(spec["seconds"]), int(spec["count"]))
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/_sims/cda", cda_summary),
            Route("/_sims/cda/delay", cda_delay, methods=["POST"]),
        ]
    )


async def main() -> None:
    master_key = os.environ["SIMS_WORDPRESS_MASTER_KEY"]
    own_host = os.environ.get("SIMS_HOSTNAME", "sims")
    wordpress = WordPressSimulator(master_key=master_key)
    cda = CdaSimulator(api_key=CDA_KEY)
    servers = [
        await start_server(wordpress.app, "0.0.0.0", WORDPRESS_PORT),
        await start_server(cda.app, "0.0.0.0", CDA_PORT),
        await start_server(summary_app(cda), "0.0.0.0", SUMMARY_PORT),
    ]
    cda_url = f"http://{own_host}:{CDA_PORT}{IMPORT_PATH}"
    wordpress.set_credentials("cda", {"api_url": cda_url, "api_key": CDA_KEY})
    print(
        f"sims: WordPress :{WORDPRESS_PORT}, CDA :{CDA_PORT}, summary :{SUMMARY_PORT}", flush=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
