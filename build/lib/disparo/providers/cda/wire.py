"""The CromosApp campaign-import request (CONTRACTS.md 5.1)."""

from __future__ import annotations

from typing import Literal, TypedDict


class CdaImportBody(TypedDict):
    chave_api: str
    codigo_equipe: str
    codigo_usuario: Literal["1"]
    nome: str
    ativo: bool
    corpo_mensagem: str
    mensagens: list[str]
