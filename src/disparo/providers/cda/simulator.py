"""A real HTTP fake of CromosApp's campaign import (CONTRACTS 5.1).

The vendor's answers are not publicly known; the shapes here are the ASSUMED ones of
5.1. Validation is deliberately strict so a malformed payload from disparo fails loudly.
A delayed request is still imported after its delay, as a real server would, so a client
that timed out can be caught importing the same campaign twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Response

from disparo.sim import json_response
from disparo.sim.cromosapp import CromosAppSimulator, failure, field_error

__all__ = ["IMPORT_PATH", "CdaSimulator", "ImportedCampaign"]

IMPORT_PATH = "/api/importar/campanha"
FIRST_CAMPAIGN_ID = 9001

# Body fields that must be JSON strings (`ativo` must be the literal `true`, checked apart).
_STRING_FIELDS = ("chave_api", "codigo_equipe", "codigo_usuario", "nome", "corpo_mensagem")


@dataclass
class ImportedCampaign:
    id_campanha: int
    codigo_equipe: str
    nome: str
    corpo_mensagem: str
    mensagens: list[str]
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _validate_body(body: dict[str, Any]) -> dict[str, Any] | None:
    """The 422 body for a bad field, or None. ``chave_api`` is checked by the caller."""
    for name in _STRING_FIELDS:
        if name not in body:
            return field_error(name, "ausente")
        if not isinstance(body[name], str):
            return field_error(name, "deve ser texto")
    if not body["codigo_equipe"].strip():
        return field_error("codigo_equipe", "vazio")
    if body["codigo_usuario"] != "1":
        return field_error("codigo_usuario", 'deve ser "1"')
    if not re.fullmatch(rf"campanha_{re.escape(body['codigo_equipe'])}_\d+", body["nome"]):
        return field_error("nome", "formato campanha_<equipe>_<digitos>")
    if "ativo" not in body:
        return field_error("ativo", "ausente")
    if body["ativo"] is not True:
        return field_error("ativo", "deve ser true")
    if "mensagens" not in body:
        return field_error("mensagens", "ausente")
    mensagens = body["mensagens"]
    if not isinstance(mensagens, list) or not all(isinstance(m, str) for m in mensagens):
        return field_error("mensagens", "deve ser lista de textos")
    if not mensagens:
        return field_error("mensagens", "vazia")
    return None


def _bad_line(mensagens: list[str]) -> int | None:
    """1-based number of the first malformed line, or None."""
    for number, line in enumerate(mensagens, start=1):
        parts = line.split(";")
        if len(parts) != 5:
            return number
        _, telefone, _, cpf_cnpj, ultimos2 = parts
        if not (telefone.isascii() and telefone.isdigit() and telefone.startswith("55")):
            return number
        if ultimos2 != cpf_cnpj[-2:]:
            return number
    return None


class CdaSimulator(CromosAppSimulator):
    """In-memory CromosApp import endpoint with fault injection."""

    title = "CDA simulator"
    import_path = IMPORT_PATH

    def __init__(self, api_key: str = "chave-exemplo-cda") -> None:
        super().__init__(api_key)
        self.imported: list[ImportedCampaign] = []
        self._next_id = FIRST_CAMPAIGN_ID

    def campaign(self, id_campanha: int) -> ImportedCampaign | None:
        return next((c for c in self.imported if c.id_campanha == id_campanha), None)

    def problem(self, body: dict[str, Any]) -> dict[str, Any] | None:
        if (error := _validate_body(body)) is not None:
            return error
        if (line := _bad_line(body["mensagens"])) is not None:
            return failure("Linha inválida", linha=line)
        return None

    def accept(self, body: dict[str, Any]) -> Response:
        mensagens: list[str] = body["mensagens"]
        campaign = ImportedCampaign(
            self._next_id,
            body["codigo_equipe"],
            body["nome"],
            body["corpo_mensagem"],
            mensagens,
        )
        self._next_id += 1
        self.imported.append(campaign)
        answer = {
            "sucesso": True,
            "mensagem": "Campanha importada",
            "id_campanha": campaign.id_campanha,
            "total": len(mensagens),
        }
        return json_response(200, answer)
