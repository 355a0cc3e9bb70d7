"""NOAH: one contacts import per batch, `Authorization: INTEGRATION <token>`."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from disparo.providers.base import (
    BatchRequest,
    BatchSettings,
    ProviderCode,
    SendResult,
    require_credentials,
)
from disparo.providers.http import post_json
from disparo.providers.noah.mapper import build_import

# 5.3: the response body is stored truncated to 65,000 characters.
MAX_RESPONSE = 65_000


@dataclass(frozen=True, slots=True)
class NoahCredentials:
    url: str  # the API base; the import is {url}/contacts
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"NoahCredentials(url={self.url!r}, token='***')"


class NoahProvider(BatchSettings):
    code = ProviderCode.NOAH
    credentials_path = "noah"
    # data_cadastro of each row travels in the import.
    needs_row_extra = True

    def parse_credentials(self, raw: Mapping[str, Any]) -> NoahCredentials:
        url = str(raw.get("url") or "").strip()
        token = str(raw.get("token") or "").strip()
        require_credentials("NOAH", {"url": url, "token": token})
        return NoahCredentials(url=url.rstrip("/"), token=token)

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
