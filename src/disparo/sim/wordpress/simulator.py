"""A real HTTP fake of the WordPress side of the contract (CONTRACTS 2.0, 2.1, 2.2, 2.4).

``WordPressSimulator().app`` is an ASGI app; serve it with ``disparo.sim.start_server``.
State lives on the instance (nothing global). Behaviour follows the Gen C plugin where
the generations differ (404 for unknown agendamentos on the webhook, bulk webhooks).

Test helpers are plain methods; ``/_sim/...`` routes (admin.py) expose the same helpers over
HTTP, without authentication and unaffected by ``down``/``fail_next``, for another process.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from disparo.sim.faults import Fault, FaultPlan
from disparo.sim.wordpress.admin import add_admin_routes
from disparo.sim.wordpress.credentials import CredentialStore
from disparo.sim.wordpress.envelope import JSON, ROUTES, Route, wp_error, wp_json
from disparo.sim.wordpress.state import CampaignStore
from disparo.sim.wordpress.webhooks import WebhookReceiver, parse_webhook


class WordPressSimulator:
    """In-memory WordPress plugin: recipients, credentials, status webhooks."""

    def __init__(self, master_key: str | None = "wp-master-key-exemplo") -> None:
        self.master_key = master_key
        #: Every route except ``/_sim`` answers 503 while True.
        self.down = False
        self.store = CampaignStore()
        self.credentials = CredentialStore()
        self.receiver = WebhookReceiver(self.store)
        self.faults = FaultPlan()
        self.requests_seen: dict[Route, int] = dict.fromkeys(ROUTES, 0)
        # The helpers tests and the dev stack call, straight from the parts that own them.
        self.add_campaign = self.store.add_campaign
        self.seed_campaign = self.store.seed_campaign
        self.row_statuses = self.store.row_statuses
        self.row_columns = self.store.row_columns
        self.set_credentials = self.credentials.set_credentials
        self.webhooks_for = self.receiver.webhooks_for
        self.webhooks = self.receiver.webhooks
        self.app = self._build_app()

    def fail_next(
        self,
        route: Route,
        status: int,
        count: int = 1,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``count`` requests to ``route`` answer ``status`` before any auth check."""
        _check_route(route)
        payload = body or wp_error("simulated_failure", f"Falha simulada (HTTP {status}).", status)
        self.faults.fail(route, Fault(status, payload, dict(headers or {})), count)

    def clear_faults(self, route: Route) -> None:
        """Forget the failures still queued by ``fail_next`` for ``route``."""
        self.faults.clear(route)

    def delay_next(self, route: Route, seconds: float, count: int = 1) -> None:
        """The next ``count`` requests to ``route`` sleep ``seconds`` before being handled."""
        _check_route(route)
        self.faults.delay(route, seconds, count)

    # ------------------------------------------------------------ request flow

    async def _gate(self, route: Route, request: Request) -> Response | None:
        """Delay, down flag, injected fault, then the 2.0 permission check."""
        self.requests_seen[route] += 1
        delay = self.faults.next_delay(route)
        if delay is not None:
            await asyncio.sleep(delay)
        if self.down:
            return wp_json(
                503, wp_error("service_unavailable", "WordPress indisponível (simulado).", 503)
            )
        fault = self.faults.next_fault(route)
        if fault is not None:
            return wp_json(fault.status, fault.body, fault.headers)
        return self._check_key(request)

    def _check_key(self, request: Request) -> Response | None:
        master = (self.master_key or "").strip()
        if not master:
            return wp_json(503, wp_error("no_master_key", "Master API Key não configurada.", 503))
        # WordPress canonicalises header names, so X_API_KEY reaches the same check.
        given = (request.headers.get("x-api-key") or request.headers.get("x_api_key") or "").strip()
        if not given:
            return wp_json(
                401,
                wp_error("no_key_provided", "API Key não fornecida no header X-API-KEY.", 401),
            )
        if given != master:
            return wp_json(401, wp_error("invalid_key", "API Key inválida.", 401))
        return None

    async def _get_data(self, request: Request, agendamento_id: str) -> Response:
        if (denied := await self._gate("data", request)) is not None:
            return denied
        if not agendamento_id.strip():
            return wp_json(400, wp_error("invalid_agendamento", "ID do agendamento inválido.", 400))
        campaign = self.store.campaigns.get(agendamento_id)
        body = campaign.body() if campaign else None
        if body is None:
            if campaign is not None and campaign.empty_as_array:
                return Response(campaign.empty_body(), media_type=JSON)
            return wp_json(
                404,
                wp_error("no_data", "Nenhum dado encontrado para este agendamento.", 404),
            )
        return Response(body, media_type=JSON)

    async def _get_credentials(self, request: Request, provider: str, env_id: str) -> Response:
        if (denied := await self._gate("credentials", request)) is not None:
            return denied
        return self.credentials.answer(provider, env_id)

    async def _post_webhook(self, request: Request) -> Response:
        record = parse_webhook(await request.body(), dict(request.headers))
        self.webhooks.append(record)
        denied = await self._gate("webhook", request)
        if denied is not None:
            response, payload = denied, orjson.loads(denied.body) if denied.body else None
        else:
            status, payload = self.receiver.apply(record)
            response = wp_json(status, payload)
        record.response_status = response.status_code
        record.response_body = payload
        return response

    # ------------------------------------------------------------------ the app

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="WordPress simulator", openapi_url=None, docs_url=None, redoc_url=None)
        app.add_exception_handler(StarletteHTTPException, _no_route)

        async def get_data(request: Request, agendamento_id: str) -> Response:
            return await self._get_data(request, agendamento_id)

        async def get_credentials(request: Request, provider: str, env_id: str) -> Response:
            return await self._get_credentials(request, provider, env_id)

        async def post_webhook(request: Request) -> Response:
            return await self._post_webhook(request)

        app.add_api_route("/wp-json/campaigns/v1/data/{agendamento_id}", get_data, methods=["GET"])
        app.add_api_route(
            "/wp-json/api-manager/v1/credentials/{provider}/{env_id}",
            get_credentials,
            methods=["GET"],
        )
        app.add_api_route("/wp-json/webhook-status/v1/update", post_webhook, methods=["POST"])
        add_admin_routes(app, self)
        return app


def _check_route(route: str) -> None:
    if route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; expected one of {ROUTES}")


async def _no_route(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    if status in (404, 405):
        return wp_json(
            404,
            wp_error(
                "rest_no_route",
                "Nenhuma rota foi encontrada que corresponde com o URL e o método de requisição.",
                404,
            ),
        )
    return wp_json(status, wp_error("rest_error", str(exc), status))
