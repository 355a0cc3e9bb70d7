"""The WordPress simulator's ``/_sim`` routes: its test helpers over HTTP (no key, and not
affected by ``down`` or injected faults), for a process that does not hold the instance."""

from __future__ import annotations

from typing import Any, Literal, Protocol

import orjson
from fastapi import FastAPI, Request, Response

from disparo.sim.samples import DEFAULT_MESSAGE
from disparo.sim.wordpress.credentials import CredentialStore
from disparo.sim.wordpress.envelope import ROUTES, Route, wp_json
from disparo.sim.wordpress.state import CampaignStore
from disparo.sim.wordpress.webhooks import WebhookReceiver


class Administered(Protocol):
    """The parts of the WordPress simulator these routes drive. A Protocol because the
    simulator imports this module to mount them: importing it back would be a cycle."""

    down: bool
    store: CampaignStore
    credentials: CredentialStore
    receiver: WebhookReceiver

    def fail_next(
        self, route: Route, status: int, count: int = 1, body: dict[str, Any] | None = None
    ) -> None: ...


def add_admin_routes(app: FastAPI, sim: Administered) -> None:
    async def admin_webhooks() -> Response:
        return wp_json(200, [w.as_json() for w in sim.receiver.webhooks])

    async def admin_seed(request: Request) -> Response:
        spec = orjson.loads(await request.body())
        agendamento_id = str(spec["agendamento_id"])
        generation: Literal["B", "C"] = "B" if spec.get("generation") == "B" else "C"
        rows = sim.store.seed_campaign(
            agendamento_id,
            int(spec.get("count", 1)),
            env_id=str(spec.get("env_id", "1001")),
            generation=generation,
            message=str(spec.get("message", DEFAULT_MESSAGE)),
            wrapped=bool(spec.get("wrapped", False)),
        )
        return wp_json(201, {"agendamento_id": agendamento_id, "rows": len(rows)})

    async def admin_campaign(agendamento_id: str) -> Response:
        campaign = sim.store.campaigns.get(agendamento_id)
        if campaign is None:
            return wp_json(404, {"error": "unknown agendamento"})
        return wp_json(
            200,
            {
                "agendamento_id": agendamento_id,
                "rows": len(campaign.rows),
                "statuses": sorted(set(campaign.status)),
                "webhooks": sim.receiver.webhooks_for(agendamento_id),
            },
        )

    async def admin_credentials(request: Request) -> Response:
        spec = orjson.loads(await request.body())
        env_id = spec.get("env_id")
        sim.credentials.set_credentials(
            str(spec["provider"]), spec.get("value"), None if env_id is None else str(env_id)
        )
        return wp_json(200, {"ok": True})

    async def admin_fail_next(request: Request) -> Response:
        spec = orjson.loads(await request.body())
        route = spec["route"]
        if route not in ROUTES:
            return wp_json(400, {"error": f"route must be one of {list(ROUTES)}"})
        sim.fail_next(route, int(spec["status"]), int(spec.get("count", 1)), spec.get("body"))
        return wp_json(200, {"ok": True})

    async def admin_down(request: Request) -> Response:
        spec = orjson.loads(await request.body())
        sim.down = bool(spec.get("down", True))
        return wp_json(200, {"down": sim.down})

    app.add_api_route("/_sim/webhooks", admin_webhooks, methods=["GET"])
    app.add_api_route("/_sim/campaigns", admin_seed, methods=["POST"])
    app.add_api_route("/_sim/campaigns/{agendamento_id}", admin_campaign, methods=["GET"])
    app.add_api_route("/_sim/credentials", admin_credentials, methods=["POST"])
    app.add_api_route("/_sim/fail_next", admin_fail_next, methods=["POST"])
    app.add_api_route("/_sim/down", admin_down, methods=["POST"])
