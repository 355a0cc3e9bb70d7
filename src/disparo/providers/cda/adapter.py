"""CDA (CromosApp WhatsApp import): one POST per batch, the key in the body."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from disparo.parsing import json_or_none
from disparo.providers.base import (
    BatchRequest,
    BatchSettings,
    SendResult,
    require_credentials,
)
from disparo.providers.cda.mapper import build_import
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
            now_ms=int(time.time() * 1000),
            campaign_text=batch.campaign_text or None,
        )
        response = await post_json(
            client, credentials.api_url, orjson.dumps(body), timeout=self._timeout
        )
        text = body_text(response) or "Campanha importada pela CDA"
        return SendResult(response_text=text, reference=_campaign_id(response))


def _campaign_id(response: httpx.Response) -> str | None:
    data = json_or_none(response.content)
    value = data.get("id_campanha") if isinstance(data, dict) else None
    return str(value) if value is not None else None
