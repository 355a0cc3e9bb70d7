"""What CromosApp's import endpoints (WhatsApp campaigns, RCS campaigns) share in a simulator:
the key in the body and the 400/401/422 refusals, in the vendor's ASSUMED answer shape
(CONTRACTS 5.1, 5.4)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response

from disparo.sim.faults import SimulatorBase, json_response


def failure(mensagem: str, **extra: Any) -> dict[str, Any]:
    return {"sucesso": False, "mensagem": mensagem, **extra}


def field_error(name: str, problem: str) -> dict[str, Any]:
    return failure(f"Campo inválido: {name} ({problem})", campo=name)


class CromosAppSimulator(SimulatorBase):
    """What CromosApp's import endpoints (WhatsApp, RCS) share: the key in the body and the
    400/401/422 refusals, in the vendor's answer shape."""

    title = "CromosApp simulator"
    import_path = ""  # each vendor endpoint sets its own

    def __init__(self, api_key: str) -> None:
        super().__init__()
        self.api_key = api_key
        self.app = self._build_app()

    def fault_body(self, status: int) -> dict[str, Any]:
        return failure(f"Falha simulada (HTTP {status})")

    def problem(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The 422 body for a malformed import, or None (the key is already checked)."""
        raise NotImplementedError

    def accept(self, body: dict[str, Any]) -> Response:
        raise NotImplementedError

    async def _import(self, request: Request) -> Response:
        record = await self.record("import", request)
        response = self.injected("import") or self._answer(record.json)
        return self.finish(record, response)

    def _answer(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return json_response(400, failure("JSON inválido"))
        if body.get("chave_api") != self.api_key:
            return json_response(401, failure("Chave de API inválida"))
        if (error := self.problem(body)) is not None:
            return json_response(422, error)
        return self.accept(body)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title=self.title, openapi_url=None, docs_url=None, redoc_url=None)

        async def import_campaign(request: Request) -> Response:
            return await self._import(request)

        app.add_api_route(self.import_path, import_campaign, methods=["POST"])
        return app
