"""CromosApp RCS (prefix R): one POST per batch, the key in the body (CONTRACTS.md 5.4)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
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
from disparo.providers.http import body_text, post_json
from disparo.providers.rcs.mapper import build_import
from disparo.providers.rcs.wire import CREDENTIAL_OPTIONS, DEFAULT_URL

NOT_RCS = "o aparelho não recebe RCS (CromosApp)"


@dataclass(frozen=True, slots=True)
class RcsCredentials:
    url: str
    api_key: str
    options: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print the key
        return f"RcsCredentials(url={self.url!r}, api_key='***', options={self.options!r})"


class RcsProvider(BatchSettings):
    code = "RCS"
    credentials_path = "rcs"
    needs_row_extra = True  # midia_campanha

    def parse_credentials(self, raw: Mapping[str, Any]) -> RcsCredentials:
        # Gen C falls back to `api_key` when no RCS key is set.
        api_key = str(raw.get("chave_api") or raw.get("api_key") or "").strip()
        require_credentials("RCS", {"chave_api": api_key})
        url = str(raw.get("base_url") or "").strip() or DEFAULT_URL
        options = {
            name: str(raw[name]).strip()
            for name in ("midia_campanha", *CREDENTIAL_OPTIONS)
            if raw.get(name) not in (None, "")
        }
        return RcsCredentials(url=url, api_key=api_key, options=options)

    async def send(
        self, client: httpx.AsyncClient, credentials: RcsCredentials, batch: BatchRequest
    ) -> SendResult:
        body = build_import(
            credentials.api_key,
            batch.env_id,
            batch.recipients,
            now_ms=int(time.time() * 1000),
            campaign_text=batch.campaign_text or batch.recipients[0].message,
            options=credentials.options,
        )
        response = await post_json(
            client, credentials.url, orjson.dumps(body), timeout=self._timeout
        )
        answer = _answer(response)
        not_rcs = _phones(answer.get("sem_rcs"))
        return SendResult(
            response_text=body_text(response) or "Campanha RCS importada pela CromosApp",
            reference=str(answer["id_campanha"]) if "id_campanha" in answer else None,
            unreachable_ids={r.id: NOT_RCS for r in batch.recipients if r.phone in not_rcs},
        )


def _answer(response: httpx.Response) -> dict[str, Any]:
    """The body when it is a JSON object; the contract promises nothing about it."""
    data = json_or_none(response.content)
    return data if isinstance(data, dict) else {}


def _phones(value: object) -> set[str]:
    return {str(phone) for phone in value} if isinstance(value, list) else set()
