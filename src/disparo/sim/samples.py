"""Fictitious WordPress recipient rows (CONTRACTS 2.1), deterministic for tests and demos.

Every scalar is a string, as WordPress casts them; only ``variables`` is an object.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

__all__ = ["DEFAULT_MESSAGE", "make_row", "make_rows", "sample_agendamento_id"]

DEFAULT_MESSAGE = "Olá {nome}, temos uma proposta para o seu contrato."
DEFAULT_DATA_CADASTRO = "2025-01-15 09:30:00"
CARTEIRA_NOME = "CARTEIRA EXEMPLO"
NOME_CAMPANHA = "Campanha Exemplo"


def sample_agendamento_id(prefix: str, when: datetime) -> str:
    """``<prefix><YYYYMMDDhhmmss>``, e.g. ``C20250115093000``."""
    return f"{prefix}{when:%Y%m%d%H%M%S}"


def make_row(
    agendamento_id: str,
    i: int,
    *,
    env_id: str = "1001",
    generation: Literal["B", "C"] = "C",
    message: str = DEFAULT_MESSAGE,
    first_id: int = 101,
) -> dict[str, Any]:
    """Row number ``i`` (0-based) of a fictitious agendamento."""
    nome = f"CLIENTE EXEMPLO {i + 1}"
    telefone = f"5511{900000000 + i:09d}"
    cpf_cnpj = f"{11111111111 + i:011d}"
    idcob_contrato = str(500001 + i)
    # str.replace, not str.format: the text may be a JSON string full of braces.
    mensagem = message.replace("{nome}", nome)
    if generation == "B":
        return {
            "telefone": telefone,
            "nome": nome,
            "id_carteira": "77",
            "idcob_contrato": idcob_contrato,
            "cpf_cnpj": cpf_cnpj,
            "mensagem": mensagem,
            "data_cadastro": DEFAULT_DATA_CADASTRO,
        }
    return {
        "id": str(first_id + i),
        "agendamento_id": agendamento_id,
        "telefone": telefone,
        "nome": nome,
        "id_carteira": "77",
        "carteira_nome": CARTEIRA_NOME,
        "idgis_ambiente": env_id,
        "idcob_contrato": idcob_contrato,
        "cpf_cnpj": cpf_cnpj,
        "mensagem": mensagem,
        "data_cadastro": DEFAULT_DATA_CADASTRO,
        "midia_campanha": "",
        "nome_campanha": NOME_CAMPANHA,
        "broker_code": "",
        "variables": {
            "nome": nome,
            "telefone": telefone,
            "cpf_cnpj": cpf_cnpj,
            "idcob_contrato": idcob_contrato,
            "idgis_ambiente": env_id,
            "nome_campanha": NOME_CAMPANHA,
        },
    }


def make_rows(
    agendamento_id: str,
    count: int,
    *,
    env_id: str = "1001",
    generation: Literal["B", "C"] = "C",
    message: str = DEFAULT_MESSAGE,
    first_id: int = 101,
) -> list[dict[str, Any]]:
    """``count`` rows of one agendamento, in row-id order (Gen B or Gen C field set)."""
    if count < 0:
        raise ValueError("count must be >= 0")
    return [
        make_row(
            agendamento_id,
            i,
            env_id=env_id,
            generation=generation,
            message=message,
            first_id=first_id,
        )
        for i in range(count)
    ]
