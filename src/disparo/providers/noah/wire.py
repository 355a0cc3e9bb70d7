"""NOAH's contacts-import request (CONTRACTS.md 5.3)."""

from __future__ import annotations

from typing import TypedDict


class NoahContact(TypedDict):
    telefone: str
    nome: str
    idgis_ambiente: str
    idcob_contrato: str
    cpf_cnpj: str
    mensagem: str
    data_cadastro: str


class NoahImportBody(TypedDict):
    name: str
    data: list[NoahContact]
