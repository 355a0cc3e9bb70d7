"""The CromosApp RCS campaign-import request (CONTRACTS.md 5.4)."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

DEFAULT_URL = "https://cromosapp.com.br/api/importarcs/importarRcsCampanhaAPI"
# Optional body keys taken from the credentials, sent only when they have a value.
CREDENTIAL_OPTIONS = (
    "tag_numero_contrato",
    "tag_codigo_externo_mensagem",
    "tag_cpf",
    "tag_boleto",
    "dthr_agendado",
    "codigo_externo",
)


class RcsImportBody(TypedDict):
    chave_api: str
    codigo_equipe: str
    codigo_usuario: Literal["1"]
    nome: str
    ativo: bool
    corpo_mensagem: str
    mensagens: list[str]
    midia_campanha: NotRequired[str]
    tag_numero_contrato: NotRequired[str]
    tag_codigo_externo_mensagem: NotRequired[str]
    tag_cpf: NotRequired[str]
    tag_boleto: NotRequired[str]
    dthr_agendado: NotRequired[str]
    codigo_externo: NotRequired[str]


# ASSUMED answer (5.4 says "same shapes as 5.1"): the 5.1 success body, plus `sem_rcs`, the
# numbers whose handsets cannot receive RCS. disparo reads `sem_rcs` when it is there and
# never needs anything else.
class RcsImportAnswer(TypedDict, total=False):
    sucesso: bool
    mensagem: str
    id_campanha: int
    total: int
    sem_rcs: list[str]
