"""Pure functions: stored recipients -> NOAH contacts-import body."""

from __future__ import annotations

from collections.abc import Sequence

from disparo.providers.base import Recipient
from disparo.providers.noah.wire import NoahContact, NoahImportBody
from disparo.providers.text import free_text

# The contract's exact key set of one data[] element, in its order.
CONTACT_KEYS = (
    "telefone",
    "nome",
    "idgis_ambiente",
    "idcob_contrato",
    "cpf_cnpj",
    "mensagem",
    "data_cadastro",
)


def contact_for(recipient: Recipient, env_id: str) -> NoahContact:
    extra = recipient.extra or {}
    ambiente = recipient.idgis_ambiente
    return {
        "telefone": recipient.phone,
        "nome": recipient.name,
        # Gen B rows carry no idgis_ambiente: the campaign's env id stands in (5.3).
        "idgis_ambiente": ambiente if ambiente not in ("", "0") else env_id,
        "idcob_contrato": recipient.idcob_contrato,
        "cpf_cnpj": recipient.cpf_cnpj,
        "mensagem": free_text(recipient.message),
        "data_cadastro": str(extra.get("data_cadastro") or ""),
    }


def build_import(recipients: Sequence[Recipient], env_id: str, now_ms: int) -> NoahImportBody:
    return {
        "name": f"campanha_{now_ms}",
        "data": [contact_for(recipient, env_id) for recipient in recipients],
    }
