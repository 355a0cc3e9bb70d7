"""The WordPress simulator's status webhook (CONTRACTS 2.4): single and bulk updates applied
to the rows the way the Gen C plugin does, every POST recorded whatever it was answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from disparo.parsing import json_or_none
from disparo.sim.wordpress.envelope import wp_error
from disparo.sim.wordpress.state import (
    CampaignStore,
    int_or_zero,
    mysql_utc,
    php_empty,
    php_text,
    wp_row_status,
)

_BULK_MAX_UPDATES = 250
Outcome = Literal["ok", "missing_fields", "agendamento_not_found"]


@dataclass
class ReceivedWebhook:
    """One POST that reached the webhook route, whatever it was answered."""

    received_at: datetime
    headers: dict[str, str]
    raw: bytes
    body: Any  # parsed JSON, or None when empty/invalid
    response_status: int = 0
    response_body: Any = None
    #: The single payloads that were applied to rows (one, or the good items of a bulk).
    applied: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "received_at": self.received_at.isoformat(),
            "headers": self.headers,
            "body": self.body,
            "raw": None if self.body is not None else self.raw.decode("utf-8", "replace"),
            "response_status": self.response_status,
            "response_body": self.response_body,
        }


def parse_webhook(raw: bytes, headers: dict[str, str]) -> ReceivedWebhook:
    content_type = headers.get("content-type", "").lower()
    is_json = "application/json" in content_type or "+json" in content_type
    body = json_or_none(raw.strip()) if is_json else None
    return ReceivedWebhook(datetime.now(UTC), headers, raw, body)


class WebhookReceiver:
    def __init__(self, store: CampaignStore) -> None:
        self.store = store
        self.webhooks: list[ReceivedWebhook] = []

    def webhooks_for(self, agendamento_id: str) -> list[dict[str, Any]]:
        """Payloads applied to this agendamento (single or bulk items), in arrival order."""
        return [
            p
            for w in self.webhooks
            for p in w.applied
            if php_text(p.get("agendamento_id")) == agendamento_id
        ]

    def apply(self, record: ReceivedWebhook) -> tuple[int, dict[str, Any]]:
        """Status and body of WordPress's answer to an authorised webhook."""
        params = record.body
        if not isinstance(params, dict | list) or not params:
            return 400, wp_error("invalid_request", "Body vazio", 400)
        if isinstance(params, dict) and params.get("bulk"):
            return self._apply_bulk(params, record)
        return self._apply_single(params if isinstance(params, dict) else {}, record)

    def _apply_one(self, params: dict[str, Any]) -> tuple[Outcome, str, str, int]:
        agendamento_id = php_text(params.get("agendamento_id"))
        status = php_text(params.get("status"))
        if php_empty(agendamento_id) or php_empty(status):
            return "missing_fields", agendamento_id, status, 0
        normalized = wp_row_status(status)
        campaign = self.store.campaigns.get(agendamento_id)
        if campaign is None or not campaign.rows:
            return "agendamento_not_found", agendamento_id, normalized, 0
        resposta = params.get("resposta_api")
        resposta_text = (
            resposta
            if isinstance(resposta, str)
            else ""
            if resposta is None
            else orjson.dumps(resposta).decode()
        )
        progresso = php_text(params.get("mensagem_progresso"))
        if progresso:
            # Gen C stores the progress line first, separated by a blank line.
            resposta_text = f"{progresso}\n\n{resposta_text}" if resposta_text else progresso
        data_disparo = mysql_utc(params.get("data_disparo"), datetime.now(UTC))
        updated = campaign.apply(normalized, data_disparo, resposta_text)
        return "ok", agendamento_id, normalized, updated

    def _apply_single(
        self, params: dict[str, Any], record: ReceivedWebhook
    ) -> tuple[int, dict[str, Any]]:
        outcome, agendamento_id, normalized, updated = self._apply_one(params)
        if outcome == "missing_fields":
            return 400, wp_error("invalid_request", "agendamento_id e status são obrigatórios", 400)
        if outcome == "agendamento_not_found":
            return 404, wp_error(
                "agendamento_not_found",
                f"Nenhum registro encontrado para o agendamento {agendamento_id}.",
                404,
                agendamento_id=agendamento_id,
                received_status=php_text(params.get("status")),
                normalized_status=normalized,
            )
        record.applied.append(params)
        return 200, {
            "success": True,
            "message": "Status atualizado com sucesso",
            "agendamento_id": agendamento_id,
            "status": normalized,
            "records_updated": updated,
            "total_enviados": int_or_zero(params.get("total_enviados")),
            "total_falhas": int_or_zero(params.get("total_falhas")),
        }

    def _apply_bulk(
        self, params: dict[str, Any], record: ReceivedWebhook
    ) -> tuple[int, dict[str, Any]]:
        updates = params.get("updates")
        if not isinstance(updates, list) or not updates:
            return 400, wp_error("invalid_request", "updates deve ser uma lista não vazia", 400)
        if len(updates) > _BULK_MAX_UPDATES:  # ASSUMED answer; the cap itself is in 2.4
            return 400, wp_error(
                "invalid_request", f"Máximo de {_BULK_MAX_UPDATES} updates por requisição", 400
            )
        results: list[dict[str, Any]] = []
        total_records = 0
        for item in updates:
            item_params = item if isinstance(item, dict) else {}
            outcome, agendamento_id, _, updated = self._apply_one(item_params)
            if outcome == "ok":
                record.applied.append(item_params)
                total_records += updated
                results.append({"agendamento_id": agendamento_id, "ok": True, "records": updated})
            else:
                results.append({"agendamento_id": agendamento_id, "ok": False, "reason": outcome})
        errors = sum(1 for r in results if not r["ok"])
        return 200, {
            "success": errors == 0,
            "message": f"Bulk processado: {len(results) - errors} ok, {errors} com erro",
            "total_items": len(results),
            "total_records_updated": total_records,
            "total_errors": errors,
            "results": results,
        }
