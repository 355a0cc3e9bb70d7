"""A real HTTP fake of CromosApp's RCS campaign import (CONTRACTS.md 5.4).

The vendor's answers are not publicly known; the shapes are the ASSUMED ones of 5.1 plus
`sem_rcs` (see wire.py). Handsets listed in `not_rcs_capable` get nothing and are reported
in `sem_rcs`; every other recipient of an accepted import is delivered by RCS, and
`deliveries` says so, which is how tests prove nobody got both an RCS and an SMS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response

from disparo.providers.simfaults import SimulatorBase, json_response

__all__ = ["IMPORT_PATH", "RcsImport", "RcsSimulator"]

IMPORT_PATH = "/api/importarcs/importarRcsCampanhaAPI"
FIRST_CAMPAIGN_ID = 7001
_STRING_FIELDS = ("chave_api", "codigo_equipe", "codigo_usuario", "nome", "corpo_mensagem")
_OPTIONAL_STRINGS = (
    "midia_campanha",
    "tag_numero_contrato",
    "tag_codigo_externo_mensagem",
    "tag_cpf",
    "tag_boleto",
    "dthr_agendado",
    "codigo_externo",
)
_LINE = re.compile(r"1;55\d{10,11};[^;\r\n]*;[^;\r\n]*;\d*")
_SCHEDULE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


@dataclass
class RcsImport:
    id_campanha: int
    body: dict[str, Any]
    sem_rcs: list[str] = field(default_factory=list)


def _failure(mensagem: str, **extra: Any) -> dict[str, Any]:
    return {"sucesso": False, "mensagem": mensagem, **extra}


def _field_error(name: str, problem: str) -> dict[str, Any]:
    return _failure(f"Campo inválido: {name} ({problem})", campo=name)


def _validate(body: dict[str, Any]) -> dict[str, Any] | None:
    """The 422 body for the first bad field, or None. The key is checked by the caller."""
    for name in _STRING_FIELDS:
        if not isinstance(body.get(name), str):
            return _field_error(name, "ausente ou não é texto")
    if not body["codigo_equipe"].strip():
        return _field_error("codigo_equipe", "vazio")
    if body["codigo_usuario"] != "1":
        return _field_error("codigo_usuario", 'deve ser "1"')
    if not re.fullmatch(rf"campanha_{re.escape(body['codigo_equipe'])}_\d+", body["nome"]):
        return _field_error("nome", "formato campanha_<equipe>_<digitos>")
    if body.get("ativo") is not True:
        return _field_error("ativo", "deve ser true")
    for name in _OPTIONAL_STRINGS:
        if name in body and not (isinstance(body[name], str) and body[name].strip()):
            return _field_error(name, "presente mas vazio")
    media = body.get("midia_campanha")
    if media is not None and urlsplit(media).scheme not in ("http", "https"):
        return _field_error("midia_campanha", "deve ser uma URL http(s)")
    if "dthr_agendado" in body and not _SCHEDULE.fullmatch(body["dthr_agendado"]):
        return _field_error("dthr_agendado", "formato YYYY-MM-DD HH:MM:SS")
    mensagens = body.get("mensagens")
    if not isinstance(mensagens, list) or not mensagens:
        return _field_error("mensagens", "deve ser lista não vazia")
    for number, line in enumerate(mensagens, start=1):
        if not (isinstance(line, str) and _LINE.fullmatch(line)):
            return _failure("Linha inválida", linha=number)
    return None


class RcsSimulator(SimulatorBase):
    """In-memory CromosApp RCS import endpoint with fault injection."""

    def __init__(self, api_key: str = "chave-exemplo-rcs") -> None:
        super().__init__()
        self.api_key = api_key
        self.imported: list[RcsImport] = []
        #: Phones whose handsets cannot receive RCS.
        self.not_rcs_capable: set[str] = set()
        #: phone -> how it was reached ("RCS"); absent: never reached.
        self.deliveries: dict[str, list[str]] = {}
        self._next_id = FIRST_CAMPAIGN_ID
        self.app = self._build_app()

    def fault_body(self, status: int) -> dict[str, Any]:
        return _failure("Falha simulada")

    async def _import(self, request: Request) -> Response:
        recorded = await self.record("import", request)
        response = self.injected("import") or self._answer(recorded.json)
        return self.finish(recorded, response)

    def _answer(self, body: Any) -> Response:
        if not isinstance(body, dict):
            return json_response(400, _failure("JSON inválido"))
        if body.get("chave_api") != self.api_key:
            return json_response(401, _failure("Chave de API inválida"))
        if (error := _validate(body)) is not None:
            return json_response(422, error)
        phones = [line.split(";")[1] for line in body["mensagens"]]
        sem_rcs = [phone for phone in phones if phone in self.not_rcs_capable]
        for phone in phones:
            if phone not in self.not_rcs_capable:
                self.deliveries.setdefault(phone, []).append("RCS")
        imported = RcsImport(self._next_id, body, sem_rcs)
        self._next_id += 1
        self.imported.append(imported)
        answer = {
            "sucesso": True,
            "mensagem": "Campanha importada",
            "id_campanha": imported.id_campanha,
            "total": len(phones),
            "sem_rcs": sem_rcs,
        }
        return json_response(200, answer)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="CromosApp RCS simulator", openapi_url=None, docs_url=None)

        async def import_campaign(request: Request) -> Response:
            return await self._import(request)

        app.add_api_route(IMPORT_PATH, import_campaign, methods=["POST"])
        return app
