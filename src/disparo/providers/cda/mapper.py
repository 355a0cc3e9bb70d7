"""Pure functions: stored recipients -> CDA import body."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson

from disparo.providers.base import Recipient
from disparo.providers.cda.wire import CdaImportBody
from disparo.providers.text import free_text

_LINE_BREAKERS = str.maketrans({";": " ", "\r": " ", "\n": " "})


def clean_field(value: str) -> str:
    """`;`, CR and LF would break the five-field line format."""
    return value.translate(_LINE_BREAKERS)


def line_for(recipient: Recipient, codigo_equipe: str) -> str:
    equipe = _first_real(recipient.idgis_ambiente, recipient.id_carteira) or codigo_equipe
    cpf = recipient.cpf_cnpj
    line = f"{equipe};{recipient.phone};{recipient.name};{cpf};{cpf[-2:]}"
    if line.count(";") == 4 and "\n" not in line and "\r" not in line:
        return line  # nothing to clean: the common case, checked once per line
    fields = (equipe, recipient.phone, recipient.name, cpf, cpf[-2:])
    return ";".join(clean_field(field) for field in fields)


def build_import(
    api_key: str,
    codigo_equipe: str,
    recipients: Sequence[Recipient],
    now_ms: int,
    campaign_text: str | None = None,
) -> CdaImportBody:
    """`campaign_text`: the campaign's first row's text (5.1: one body for all batches);
    without it, the first recipient's."""
    if campaign_text is None:
        campaign_text = recipients[0].message if recipients else ""
    body_text = free_text(campaign_text)
    return {
        "chave_api": api_key,
        "codigo_equipe": codigo_equipe,
        "codigo_usuario": "1",
        "nome": f"campanha_{codigo_equipe}_{now_ms}",
        "ativo": True,
        "corpo_mensagem": body_text,
        "mensagens": [line_for(recipient, codigo_equipe) for recipient in recipients],
    }


def import_head(
    api_key: str, codigo_equipe: str, now_ms: int, campaign_text: str
) -> dict[str, object]:
    """The import body without its `mensagens`, in build_import's key order."""
    body: dict[str, object] = dict(build_import(api_key, codigo_equipe, (), now_ms, campaign_text))
    del body["mensagens"]
    return body


class StreamedImport:
    """build_import's body as JSON bytes, its lines added a chunk at a time: the same bytes
    as `orjson.dumps(build_import(...))`, without holding every recipient of the batch."""

    def __init__(self, head: dict[str, object], codigo_equipe: str) -> None:
        self._codigo_equipe = codigo_equipe
        self._body = bytearray(orjson.dumps(head)[:-1] + b',"mensagens":[')
        self._empty = True

    def add(self, recipients: Iterable[Recipient]) -> None:
        lines = [line_for(recipient, self._codigo_equipe) for recipient in recipients]
        if not lines:
            return
        if not self._empty:
            self._body += b","
        self._body += orjson.dumps(lines)[1:-1]  # the list's items, without its brackets
        self._empty = False

    def finish(self) -> bytes:
        self._body += b"]}"
        return bytes(self._body)


def _first_real(*values: str) -> str:
    return next((value for value in values if value and value != "0"), "")
