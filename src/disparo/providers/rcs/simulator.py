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

from fastapi import Response

from disparo.sim import json_response
from disparo.sim.cromosapp import CromosAppSimulator, failure, field_error

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


def _validate(body: dict[str, Any]) -> dict[str, Any] | None:
    """The 422 body for the first bad field, or None. The key is checked by the caller."""
    for name in _STRING_FIELDS:
        if not isinstance(body.get(name), str):
            return field_error(name, "ausente ou não é texto")
    if not body["codigo_equipe"].strip():
        return field_error("codigo_equipe", "vazio")
    if body["codigo_usuario"] != "1":
        return field_error("codigo_usuario", 'deve ser "1"')
    if not re.fullmatch(rf"campanha_{re.escape(body['codigo_equipe'])}_\d+", body["nome"]):
        return field_error("nome", "formato campanha_<equipe>_<digitos>")
    if body.get("ativo") is not True:
        return field_error("ativo", "deve ser true")
    for name in _OPTIONAL_STRINGS:
        if name in body and not (isinstance(body[name], str) and body[name].strip()):
            return field_error(name, "presente mas vazio")
    media = body.get("midia_campanha")
    if media is not None and urlsplit(media).scheme not in ("http", "https"):
        return field_error("midia_campanha", "deve ser uma URL http(s)")
    if "dthr_agendado" in body and not _SCHEDULE.fullmatch(body["dthr_agendado"]):
        return field_error("dthr_agendado", "formato YYYY-MM-DD HH:MM:SS")
    mensagens = body.get("mensagens")
    if not isinstance(mensagens, list) or not mensagens:
        return field_error("mensagens", "deve ser lista não vazia")
    for number, line in enumerate(mensagens, start=1):
        if not (isinstance(line, str) and _LINE.fullmatch(line)):
            return failure("Linha inválida", linha=number)
    return None


class RcsSimulator(CromosAppSimulator):
    """In-memory CromosApp RCS import endpoint with fault injection."""

    title = "CromosApp RCS simulator"
    import_path = IMPORT_PATH

    def __init__(self, api_key: str = "chave-exemplo-rcs") -> None:
        super().__init__(api_key)
        self.imported: list[RcsImport] = []
        #: Phones whose handsets cannot receive RCS.
        self.not_rcs_capable: set[str] = set()
        #: phone -> how it was reached ("RCS"); absent: never reached.
        self.deliveries: dict[str, list[str]] = {}
        self._next_id = FIRST_CAMPAIGN_ID

    def fault_body(self, status: int) -> dict[str, Any]:
        return failure("Falha simulada")

    def problem(self, body: dict[str, Any]) -> dict[str, Any] | None:
        return _validate(body)

    def accept(self, body: dict[str, Any]) -> Response:
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
