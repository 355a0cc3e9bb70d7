"""A real HTTP fake of NOAH's contacts import (CONTRACTS 5.3; answers ASSUMED there)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response

from disparo.sim import SimulatorBase, json_response

# CONTRACTS 5.3's exact key set of one data[] element, in its order: written here from the
# contract, not imported from the adapter, so a wrong key cannot pass on both sides.
CONTACT_KEYS = (
    "telefone",
    "nome",
    "idgis_ambiente",
    "idcob_contrato",
    "cpf_cnpj",
    "mensagem",
    "data_cadastro",
)

__all__ = ["BASE_PATH", "NoahImport", "NoahSimulator"]

BASE_PATH = "/api/v1"
_NAME = re.compile(r"campanha_\d{13}")


@dataclass
class NoahImport:
    name: str
    data: list[dict[str, str]]


def _problem(body: Any) -> str | None:
    if not isinstance(body, dict) or set(body) != {"name", "data"}:
        return "body must have exactly name and data"
    if not isinstance(body["name"], str) or not _NAME.fullmatch(body["name"]):
        return "name must be campanha_<epoch ms>"
    data = body["data"]
    if not isinstance(data, list) or not data:
        return "data must be a non-empty array"
    for index, contact in enumerate(data):
        if not isinstance(contact, dict) or tuple(contact) != CONTACT_KEYS:
            return f"data[{index}] must have exactly {', '.join(CONTACT_KEYS)}"
        if not all(isinstance(value, str) for value in contact.values()):
            return f"data[{index}] values must be strings"
        phone = contact["telefone"]
        if not (phone.isdigit() and phone.startswith("55") and len(phone) in (12, 13)):
            return f"data[{index}].telefone invalid"
    return None


class NoahSimulator(SimulatorBase):
    """In-memory NOAH import endpoint with fault injection (route "contacts")."""

    def __init__(self, token: str = "tok_exemplo_noah") -> None:
        super().__init__()
        self.token = token
        self.imports: list[NoahImport] = []
        self.app = self._build_app()

    async def _contacts(self, request: Request) -> Response:
        record = await self.record("contacts", request)
        answer = self.injected("contacts")
        if answer is None and request.headers.get("authorization") != f"INTEGRATION {self.token}":
            answer = json_response(401, {"message": "Invalid integration token"})
        if answer is None and (problem := _problem(record.json)) is not None:
            answer = json_response(400, {"message": problem})
        if answer is None:
            body = record.json
            self.imports.append(NoahImport(body["name"], body["data"]))
            answer = json_response(
                201, {"success": True, "imported": len(body["data"]), "name": body["name"]}
            )
        return self.finish(record, answer)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="NOAH simulator", openapi_url=None, docs_url=None, redoc_url=None)

        async def contacts(request: Request) -> Response:
            return await self._contacts(request)

        app.add_api_route(BASE_PATH + "/contacts", contacts, methods=["POST"])
        return app
