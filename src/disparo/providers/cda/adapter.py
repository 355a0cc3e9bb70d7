"""CDA (CromosApp WhatsApp import): one POST per batch, the key in the body."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from disparo.parsing import json_or_none
from disparo.providers.base import (
    BatchRequest,
    BatchSettings,
    Recipient,
    RecipientChunks,
    SendResult,
    require_credentials,
)
from disparo.providers.cda.mapper import StreamedImport, build_import, import_head
from disparo.providers.http import body_text, post_json


@dataclass(frozen=True, slots=True)
class CdaCredentials:
    api_url: str
    api_key: str

    def __repr__(self) -> str:  # never print the key
        return f"CdaCredentials(api_url={self.api_url!r}, api_key='***')"


class CdaProvider(BatchSettings):
    code = "CDA"
    credentials_path = "cda"
    needs_row_extra = False

    def parse_credentials(self, raw: Mapping[str, Any]) -> CdaCredentials:
        # The original also accepted `url` (it renamed api_url -> url internally).
        api_url = str(raw.get("api_url") or raw.get("url") or "").strip()
        api_key = str(raw.get("api_key") or "").strip()
        require_credentials("CDA", {"api_url": api_url, "api_key": api_key})
        return CdaCredentials(api_url=api_url, api_key=api_key)

    async def send(
        self, client: httpx.AsyncClient, credentials: CdaCredentials, batch: BatchRequest
    ) -> SendResult:
        body = build_import(
            credentials.api_key,
            batch.env_id,
            batch.recipients,
            now_ms=_now_ms(),
            campaign_text=batch.campaign_text or None,
        )
        return await self.send_body(client, credentials, orjson.dumps(body))

    async def encode_body(
        self, credentials: CdaCredentials, batch: BatchRequest, chunks: RecipientChunks
    ) -> bytes:
        """A 100,000-recipient batch is ~10 MB of body but ~60 MB as recipient tuples: it is
        encoded as its rows arrive (EncodesStreamed)."""
        encoded: StreamedImport | None = None
        async for chunk in chunks:
            encoded = encoded or self._started(credentials, batch, chunk)
            encoded.add(chunk)
        return (encoded or self._started(credentials, batch, ())).finish()

    def _started(
        self, credentials: CdaCredentials, batch: BatchRequest, first: Sequence[Recipient]
    ) -> StreamedImport:
        # Without a campaign text, the first row's, as build_import does.
        text = batch.campaign_text or (first[0].message if first else "")
        head = import_head(credentials.api_key, batch.env_id, _now_ms(), text)
        return StreamedImport(head, batch.env_id)

    async def send_body(
        self, client: httpx.AsyncClient, credentials: CdaCredentials, body: bytes
    ) -> SendResult:
        response = await post_json(client, credentials.api_url, body, timeout=self._timeout)
        text = body_text(response) or "Campanha importada pela CDA"
        return SendResult(response_text=text, reference=_campaign_id(response))


def _now_ms() -> int:
    return int(time.time() * 1000)


def _campaign_id(response: httpx.Response) -> str | None:
    data = json_or_none(response.content)
    value = data.get("id_campanha") if isinstance(data, dict) else None
    return str(value) if value is not None else None
