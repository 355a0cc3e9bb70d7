"""NOAH: one contacts import per batch, `Authorization: INTEGRATION <token>`."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from disparo.providers.base import (
    BatchRequest,
    BatchSettings,
    SendResult,
    UrlTokenCredentials,
)
from disparo.providers.http import post_json
from disparo.providers.noah.mapper import build_import

# 5.3: the response body is stored truncated to 65,000 characters.
MAX_RESPONSE = 65_000


# the API base; the import is {url}/contacts: a url and a token, both required.
NoahCredentials = UrlTokenCredentials


class NoahProvider(BatchSettings):
    code = "NOAH"
    credentials_path = "noah"
    # data_cadastro of each row travels in the import.
    needs_row_extra = True

    def parse_credentials(self, raw: Mapping[str, Any]) -> NoahCredentials:
        return NoahCredentials.parse("NOAH", raw)

    async def send(
        self, client: httpx.AsyncClient, credentials: NoahCredentials, batch: BatchRequest
    ) -> SendResult:
        body = build_import(batch.recipients, batch.env_id, now_ms=int(time.time() * 1000))
        response = await post_json(
            client,
            f"{credentials.url}/contacts",
            orjson.dumps(body),
            headers={"Authorization": f"INTEGRATION {credentials.token}"},
            timeout=self._timeout,
        )
        text = response.text[:MAX_RESPONSE] or "Contatos importados pela NOAH"
        return SendResult(response_text=text, reference=body["name"])
