"""A real HTTP fake of the WordPress side of the contract (CONTRACTS 2.0, 2.1, 2.2, 2.4).

``WordPressSimulator().app`` is an ASGI app; serve it with ``disparo.http_server``.
State lives on the instance (nothing global). Behaviour follows the Gen C plugin where
the generations differ (404 for unknown agendamentos on the webhook, bulk webhooks).

Test helpers are plain methods; ``/_sim/...`` routes expose the same helpers over HTTP,
without authentication and unaffected by ``down``/``fail_next``, for a separate process.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from disparo.wordpress.samples import DEFAULT_MESSAGE, make_rows

__all__ = [
    "PENDING_STATUSES",
    "ReceivedWebhook",
    "Route",
    "WordPressSimulator",
    "wp_row_status",
]

Route = Literal["data", "credentials", "webhook"]
_ROUTES: tuple[Route, ...] = ("data", "credentials", "webhook")

#: Row statuses selected by the data route (2.1).
PENDING_STATUSES = frozenset({"pendente_aprovacao", "pendente"})
INITIAL_STATUS = "pendente_aprovacao"

# 2.4, Gen C column; any other service status becomes "erro".
_GEN_C_STATUS_MAP: Mapping[str, str] = {
    "processando": "pendente",
    "enviado": "enviado",
    "iniciado": "enviado",
    "mkc_executado": "enviado",
}

_STATIC_PROVIDERS = frozenset({"cda", "rcs", "rcs_otima", "whatsapp_otima", "salesforce", "mkc"})
_BULK_MAX_UPDATES = 250
_JSON = "application/json; charset=UTF-8"


def wp_row_status(service_status: str) -> str:
    """The row status Gen C WordPress writes for a service ``status`` (2.4)."""
    return _GEN_C_STATUS_MAP.get(service_status, "erro")


def _wp_error(code: str, message: str, status: int, /, **data: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status, **data}}


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=_JSON, headers=headers)


def _php_text(value: Any) -> str:
    """``sanitize_text_field`` of a JSON value, roughly: trimmed string, scalars cast."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, str | int | float):
        return str(value).strip()
    return ""


def _php_empty(text: str) -> bool:
    return text in ("", "0")


def _int_or_zero(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return 0


def _mysql_utc(value: Any, now: datetime) -> str:
    """``date('Y-m-d H:i:s', strtotime($v))`` with WordPress pinning PHP to UTC."""
    if value is None or value == "":
        return now.strftime("%Y-%m-%d %H:%M:%S")
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return "1970-01-01 00:00:00"  # strtotime() === false
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class ReceivedWebhook:
    """One POST that reached the webhook route, whatever it was answered."""

    received_at: datetime
    headers: dict[str, str]
    raw: bytes
    body: Any  # parsed JSON, or None when empty/invalid
    response_status: int = 0
    response_body: Any = None
    #: The single payloads that were applied to rows (one, or the good items of a bulk).
    applied: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "received_at": self.received_at.isoformat(),
            "headers": self.headers,
            "body": self.body,
            "raw": None if self.body is not None else self.raw.decode("utf-8", "replace"),
            "response_status": self.response_status,
            "response_body": self.response_body,
        }


@dataclass
class _Fault:
    status: int
    body: Any
    headers: dict[str, str]


class _Campaign:
    """Rows of one agendamento plus the columns the webhook overwrites."""

    def __init__(self, rows: list[dict[str, Any]], *, wrapped: bool, empty_as_array: bool):
        self.rows = rows
        self.wrapped = wrapped
        self.empty_as_array = empty_as_array
        self.status = [INITIAL_STATUS] * len(rows)
        self.data_disparo: list[str | None] = [None] * len(rows)
        self.resposta_api: list[str | None] = [None] * len(rows)
        self._full_body: bytes | None = None

    def _wrap(self, rows: list[dict[str, Any]]) -> bytes:
        return orjson.dumps({"data": rows} if self.wrapped else rows)

    def body(self) -> bytes | None:
        """Serialised pending rows, or None when no row is pending."""
        if all(s in PENDING_STATUSES for s in self.status):
            if not self.rows:
                return None
            if self._full_body is None:
                self._full_body = self._wrap(self.rows)
            return self._full_body
        pending = [r for r, s in zip(self.rows, self.status, strict=True) if s in PENDING_STATUSES]
        return self._wrap(pending) if pending else None

    def empty_body(self) -> bytes:
        return self._wrap([])

    def apply(self, status: str, data_disparo: str, resposta_api: str) -> int:
        """Overwrite every row; return MySQL's affected-rows count (changed rows only)."""
        changed = 0
        for i in range(len(self.rows)):
            if (
                self.status[i] != status
                or self.data_disparo[i] != data_disparo
                or self.resposta_api[i] != resposta_api
            ):
                changed += 1
        self.status = [status] * len(self.rows)
        self.data_disparo = [data_disparo] * len(self.rows)
        self.resposta_api = [resposta_api] * len(self.rows)
        return changed


class WordPressSimulator:
    """In-memory WordPress plugin: recipients, credentials, status webhooks."""

    def __init__(self, master_key: str | None = "wp-master-key-exemplo") -> None:
        self.master_key = master_key
        #: Every route except ``/_sim`` answers 503 while True.
        self.down = False
        self.webhooks: list[ReceivedWebhook] = []
        self._campaigns: dict[str, _Campaign] = {}
        self._static_credentials: dict[str, dict[str, Any]] = {}
        self._env_credentials: dict[tuple[str, str], dict[str, Any]] = {}
        self._faults: dict[Route, deque[_Fault]] = {r: deque() for r in _ROUTES}
        self._delays: dict[Route, deque[float]] = {r: deque() for r in _ROUTES}
        self.requests_seen: dict[Route, int] = dict.fromkeys(_ROUTES, 0)
        self.app = self._build_app()

    # ------------------------------------------------------------------ helpers

    def add_campaign(
        self,
        agendamento_id: str,
        rows: Iterable[dict[str, Any]],
        *,
        wrapped: bool = False,
        empty_as_array: bool = False,
        status: str = INITIAL_STATUS,
    ) -> None:
        """Store (replace) an agendamento's rows, all with row status ``status``.

        ``wrapped`` answers ``{"data": [...]}``; ``empty_as_array`` answers 200 ``[]``
        (instead of 404 ``no_data``) when no row is pending.
        """
        campaign = _Campaign(list(rows), wrapped=wrapped, empty_as_array=empty_as_array)
        campaign.status = [status] * len(campaign.rows)
        self._campaigns[agendamento_id] = campaign

    def seed_campaign(
        self,
        agendamento_id: str,
        count: int,
        *,
        env_id: str = "1001",
        generation: Literal["B", "C"] = "C",
        message: str = DEFAULT_MESSAGE,
        wrapped: bool = False,
    ) -> list[dict[str, Any]]:
        """``add_campaign`` with ``samples.make_rows``; returns the rows."""
        rows = make_rows(
            agendamento_id, count, env_id=env_id, generation=generation, message=message
        )
        self.add_campaign(agendamento_id, rows, wrapped=wrapped)
        return rows

    def set_credentials(
        self, provider: str, value: dict[str, Any] | None, env_id: str | None = None
    ) -> None:
        """Static block when ``env_id`` is None, else the (provider, env) block.

        For ``salesforce`` an env block is merged over the static one (Gen C). ``None``
        removes the entry.
        """
        code = provider.strip().lower()
        if env_id is None:
            if value is None:
                self._static_credentials.pop(code, None)
            else:
                self._static_credentials[code] = dict(value)
        elif value is None:
            self._env_credentials.pop((code, env_id), None)
        else:
            self._env_credentials[(code, env_id)] = dict(value)

    def webhooks_for(self, agendamento_id: str) -> list[dict[str, Any]]:
        """Payloads applied to this agendamento (single or bulk items), in arrival order."""
        return [
            p
            for w in self.webhooks
            for p in w.applied
            if _php_text(p.get("agendamento_id")) == agendamento_id
        ]

    def row_statuses(self, agendamento_id: str) -> set[str]:
        campaign = self._campaigns.get(agendamento_id)
        return set(campaign.status) if campaign else set()

    def row_columns(self, agendamento_id: str) -> list[dict[str, str | None]]:
        """``status``, ``data_disparo``, ``resposta_api`` of every row."""
        c = self._campaigns.get(agendamento_id)
        if c is None:
            return []
        return [
            {"status": s, "data_disparo": d, "resposta_api": r}
            for s, d, r in zip(c.status, c.data_disparo, c.resposta_api, strict=True)
        ]

    def fail_next(
        self,
        route: Route,
        status: int,
        count: int = 1,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``count`` requests to ``route`` answer ``status`` before any auth check."""
        if route not in _ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {_ROUTES}")
        payload = body or _wp_error("simulated_failure", f"Falha simulada (HTTP {status}).", status)
        for _ in range(count):
            self._faults[route].append(_Fault(status, payload, dict(headers or {})))

    def delay_next(self, route: Route, seconds: float, count: int = 1) -> None:
        """The next ``count`` requests to ``route`` sleep ``seconds`` before being handled."""
        if route not in _ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {_ROUTES}")
        self._delays[route].extend([seconds] * count)

    # ------------------------------------------------------------ request flow

    async def _gate(self, route: Route, request: Request) -> Response | None:
        """Delay, down flag, injected fault, then the 2.0 permission check."""
        self.requests_seen[route] += 1
        if self._delays[route]:
            await asyncio.sleep(self._delays[route].popleft())
        if self.down:
            return _json(
                503, _wp_error("service_unavailable", "WordPress indisponível (simulado).", 503)
            )
        if self._faults[route]:
            fault = self._faults[route].popleft()
            return _json(fault.status, fault.body, fault.headers)
        return self._check_key(request)

    def _check_key(self, request: Request) -> Response | None:
        master = (self.master_key or "").strip()
        if not master:
            return _json(503, _wp_error("no_master_key", "Master API Key não configurada.", 503))
        # WordPress canonicalises header names, so X_API_KEY reaches the same check.
        given = (request.headers.get("x-api-key") or request.headers.get("x_api_key") or "").strip()
        if not given:
            return _json(
                401,
                _wp_error("no_key_provided", "API Key não fornecida no header X-API-KEY.", 401),
            )
        if given != master:
            return _json(401, _wp_error("invalid_key", "API Key inválida.", 401))
        return None

    async def _get_data(self, request: Request, agendamento_id: str) -> Response:
        if (denied := await self._gate("data", request)) is not None:
            return denied
        if not agendamento_id.strip():
            return _json(400, _wp_error("invalid_agendamento", "ID do agendamento inválido.", 400))
        campaign = self._campaigns.get(agendamento_id)
        body = campaign.body() if campaign else None
        if body is None:
            if campaign is not None and campaign.empty_as_array:
                return Response(campaign.empty_body(), media_type=_JSON)
            return _json(
                404,
                _wp_error("no_data", "Nenhum dado encontrado para este agendamento.", 404),
            )
        return Response(body, media_type=_JSON)

    async def _get_credentials(self, request: Request, provider: str, env_id: str) -> Response:
        if (denied := await self._gate("credentials", request)) is not None:
            return denied
        code = self._provider_code(provider)
        if code == "rcs":
            return self._rcs_credentials()
        if code in ("rcs_otima", "whatsapp_otima"):
            return self._otima_credentials(code)
        if code == "salesforce":
            return self._salesforce_credentials(env_id)
        if code in _STATIC_PROVIDERS:
            value = self._static_credentials.get(code, {})
            if not any(v not in (None, "") for v in value.values()):
                return self._no_credentials(
                    f"Credenciais estáticas não configuradas para {code.upper()}"
                )
            return _json(200, value)
        stored = self._env_credentials.get((code, env_id))
        if not stored:
            return self._no_credentials(f"Credenciais não encontradas para {code.upper()}:{env_id}")
        return _json(200, stored)

    @staticmethod
    def _provider_code(provider: str) -> str:
        upper = provider.strip().upper()
        if "OTIMA" in upper and "RCS" in upper:
            return "rcs_otima"
        if "OTIMA" in upper and ("WPP" in upper or "WHATSAPP" in upper):
            return "whatsapp_otima"
        return upper.lower()

    @staticmethod
    def _no_credentials(message: str) -> Response:
        return _json(404, _wp_error("no_credentials", message, 404))

    def _rcs_credentials(self) -> Response:
        value = dict(self._static_credentials.get("rcs", {}))
        if not value.get("chave_api"):
            return _json(
                400,
                _wp_error(
                    "invalid_credentials",
                    "Credenciais RCS incompletas. Configure a chave_api no API Manager.",
                    400,
                    code="INCOMPLETE_RCS_CREDENTIALS",
                    missing_fields=["chave_api"],
                    provider="RCS",
                ),
            )
        return _json(200, value)

    def _otima_credentials(self, code: str) -> Response:
        value = dict(self._static_credentials.get(code, {}))
        if value.get("token"):
            return _json(200, value)
        if code == "rcs_otima":
            # Gen C shape: no missing_fields.
            err = _wp_error(
                "invalid_credentials",
                "Credenciais Ótima RCS incompletas. Configure o token no API Manager.",
                400,
                code="INCOMPLETE_OTIMA_RCS_CREDENTIALS",
                provider="OTIMA RCS",
            )
        else:
            err = _wp_error(
                "invalid_credentials",
                "Credenciais Ótima WhatsApp incompletas. Configure o token no API Manager.",
                400,
                code="INCOMPLETE_OTIMA_WPP_CREDENTIALS",
                missing_fields=["token"],
                provider="OTIMA WPP",
            )
        return _json(400, err)

    def _salesforce_credentials(self, env_id: str) -> Response:
        static = dict(self._static_credentials.get("salesforce", {}))
        blocks = {e: v for (p, e), v in self._env_credentials.items() if p == "salesforce"}
        block = self._pick_salesforce_block(blocks, env_id)
        merged = {**static, **(block or {})}
        if not any(v not in (None, "") for v in merged.values()):
            return self._no_credentials("Credenciais estáticas não configuradas para SALESFORCE")
        return _json(200, merged)

    @staticmethod
    def _pick_salesforce_block(
        blocks: dict[str, dict[str, Any]], env_id: str
    ) -> dict[str, Any] | None:
        # Gen C: exact id, integer form, the only block, first complete block.
        if env_id in blocks:
            return blocks[env_id]
        stripped = env_id.strip()
        if stripped.isdigit() and str(int(stripped)) in blocks:
            return blocks[str(int(stripped))]
        if len(blocks) == 1:
            return next(iter(blocks.values()))
        for block in blocks.values():
            if block.get("operacao") and block.get("automation_id"):
                return block
        return None

    async def _post_webhook(self, request: Request) -> Response:
        raw = await request.body()
        content_type = request.headers.get("content-type", "").lower()
        body: Any = None
        if raw.strip() and ("application/json" in content_type or "+json" in content_type):
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None
        record = ReceivedWebhook(datetime.now(UTC), dict(request.headers), raw, body)
        self.webhooks.append(record)
        response, payload = await self._handle_webhook(request, record)
        record.response_status = response.status_code
        record.response_body = payload
        return response

    async def _handle_webhook(
        self, request: Request, record: ReceivedWebhook
    ) -> tuple[Response, Any]:
        if (denied := await self._gate("webhook", request)) is not None:
            return denied, orjson.loads(denied.body) if denied.body else None
        params = record.body
        if not isinstance(params, dict | list) or not params:
            err = _wp_error("invalid_request", "Body vazio", 400)
            return _json(400, err), err
        if isinstance(params, dict) and params.get("bulk"):
            status, out = self._apply_bulk(params, record)
        else:
            status, out = self._apply_single(params if isinstance(params, dict) else {}, record)
        return _json(status, out), out

    def _apply_one(
        self, params: dict[str, Any]
    ) -> tuple[Literal["ok", "missing_fields", "agendamento_not_found"], str, str, int]:
        agendamento_id = _php_text(params.get("agendamento_id"))
        status = _php_text(params.get("status"))
        if _php_empty(agendamento_id) or _php_empty(status):
            return "missing_fields", agendamento_id, status, 0
        normalized = wp_row_status(status)
        campaign = self._campaigns.get(agendamento_id)
        if campaign is None or not campaign.rows:
            return "agendamento_not_found", agendamento_id, normalized, 0
        resposta = params.get("resposta_api")
        resposta_text = (
            resposta
            if isinstance(resposta, str)
            else ""
            if resposta is None
            else orjson.dumps(resposta).decode()
        )
        progresso = _php_text(params.get("mensagem_progresso"))
        if progresso:
            # Gen C stores the progress line first, separated by a blank line.
            resposta_text = f"{progresso}\n\n{resposta_text}" if resposta_text else progresso
        data_disparo = _mysql_utc(params.get("data_disparo"), datetime.now(UTC))
        updated = campaign.apply(normalized, data_disparo, resposta_text)
        return "ok", agendamento_id, normalized, updated

    def _apply_single(
        self, params: dict[str, Any], record: ReceivedWebhook
    ) -> tuple[int, dict[str, Any]]:
        outcome, agendamento_id, normalized, updated = self._apply_one(params)
        if outcome == "missing_fields":
            return 400, _wp_error(
                "invalid_request", "agendamento_id e status são obrigatórios", 400
            )
        if outcome == "agendamento_not_found":
            return 404, _wp_error(
                "agendamento_not_found",
                f"Nenhum registro encontrado para o agendamento {agendamento_id}.",
                404,
                agendamento_id=agendamento_id,
                received_status=_php_text(params.get("status")),
                normalized_status=normalized,
            )
        record.applied.append(params)
        return 200, {
            "success": True,
            "message": "Status atualizado com sucesso",
            "agendamento_id": agendamento_id,
            "status": normalized,
            "records_updated": updated,
            "total_enviados": _int_or_zero(params.get("total_enviados")),
            "total_falhas": _int_or_zero(params.get("total_falhas")),
        }

    def _apply_bulk(
        self, params: dict[str, Any], record: ReceivedWebhook
    ) -> tuple[int, dict[str, Any]]:
        updates = params.get("updates")
        if not isinstance(updates, list) or not updates:
            return 400, _wp_error("invalid_request", "updates deve ser uma lista não vazia", 400)
        if len(updates) > _BULK_MAX_UPDATES:  # ASSUMED answer; the cap itself is in 2.4
            return 400, _wp_error(
                "invalid_request", f"Máximo de {_BULK_MAX_UPDATES} updates por requisição", 400
            )
        results: list[dict[str, Any]] = []
        total_records = 0
        for item in updates:
            item_params = item if isinstance(item, dict) else {}
            outcome, agendamento_id, _, updated = self._apply_one(item_params)
            if outcome == "ok":
                record.applied.append(item_params)
                total_records += updated
                results.append({"agendamento_id": agendamento_id, "ok": True, "records": updated})
            else:
                results.append({"agendamento_id": agendamento_id, "ok": False, "reason": outcome})
        errors = sum(1 for r in results if not r["ok"])
        return 200, {
            "success": errors == 0,
            "message": f"Bulk processado: {len(results) - errors} ok, {errors} com erro",
            "total_items": len(results),
            "total_records_updated": total_records,
            "total_errors": errors,
            "results": results,
        }

    # ------------------------------------------------------------------ the app

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="WordPress simulator", openapi_url=None, docs_url=None, redoc_url=None)

        async def not_found(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
            if status in (404, 405):
                return _json(
                    404,
                    _wp_error(
                        "rest_no_route",
                        "Nenhuma rota foi encontrada que corresponde com o URL e o método de "
                        "requisição.",
                        404,
                    ),
                )
            return _json(status, _wp_error("rest_error", str(exc), status))

        app.add_exception_handler(StarletteHTTPException, not_found)

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
        self._add_admin_routes(app)
        return app

    def _add_admin_routes(self, app: FastAPI) -> None:
        async def admin_webhooks() -> Response:
            return _json(200, [w.as_json() for w in self.webhooks])

        async def admin_seed(request: Request) -> Response:
            spec = orjson.loads(await request.body())
            agendamento_id = str(spec["agendamento_id"])
            generation: Literal["B", "C"] = "B" if spec.get("generation") == "B" else "C"
            rows = self.seed_campaign(
                agendamento_id,
                int(spec.get("count", 1)),
                env_id=str(spec.get("env_id", "1001")),
                generation=generation,
                message=str(spec.get("message", DEFAULT_MESSAGE)),
                wrapped=bool(spec.get("wrapped", False)),
            )
            return _json(201, {"agendamento_id": agendamento_id, "rows": len(rows)})

        async def admin_campaign(agendamento_id: str) -> Response:
            campaign = self._campaigns.get(agendamento_id)
            if campaign is None:
                return _json(404, {"error": "unknown agendamento"})
            return _json(
                200,
                {
                    "agendamento_id": agendamento_id,
                    "rows": len(campaign.rows),
                    "statuses": sorted(set(campaign.status)),
                    "webhooks": self.webhooks_for(agendamento_id),
                },
            )

        async def admin_credentials(request: Request) -> Response:
            spec = orjson.loads(await request.body())
            env_id = spec.get("env_id")
            self.set_credentials(
                str(spec["provider"]), spec.get("value"), None if env_id is None else str(env_id)
            )
            return _json(200, {"ok": True})

        async def admin_fail_next(request: Request) -> Response:
            spec = orjson.loads(await request.body())
            route = spec["route"]
            if route not in _ROUTES:
                return _json(400, {"error": f"route must be one of {list(_ROUTES)}"})
            self.fail_next(route, int(spec["status"]), int(spec.get("count", 1)), spec.get("body"))
            return _json(200, {"ok": True})

        async def admin_down(request: Request) -> Response:
            spec = orjson.loads(await request.body())
            self.down = bool(spec.get("down", True))
            return _json(200, {"down": self.down})

        app.add_api_route("/_sim/webhooks", admin_webhooks, methods=["GET"])
        app.add_api_route("/_sim/campaigns", admin_seed, methods=["POST"])
        app.add_api_route("/_sim/campaigns/{agendamento_id}", admin_campaign, methods=["GET"])
        app.add_api_route("/_sim/credentials", admin_credentials, methods=["POST"])
        app.add_api_route("/_sim/fail_next", admin_fail_next, methods=["POST"])
        app.add_api_route("/_sim/down", admin_down, methods=["POST"])
