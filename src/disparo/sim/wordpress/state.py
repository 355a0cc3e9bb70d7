"""The WordPress simulator's rows: each agendamento's recipients and the columns its status
webhooks overwrite, as the Gen C plugin keeps them (CONTRACTS 2.1, 2.4)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from disparo.sim.samples import DEFAULT_MESSAGE, make_rows

#: Row statuses selected by the data route (2.1).
PENDING_STATUSES = frozenset({"pendente_aprovacao", "pendente"})
INITIAL_STATUS = "pendente_aprovacao"

# 2.4, Gen C column; any other service status becomes "erro".
_GEN_C_STATUS_MAP: Mapping[str, str] = {
    "processando": "pendente",
    "enviado": "enviado",
    "iniciado": "enviado",
    "mkc_executado": "enviado",
}


def wp_row_status(service_status: str) -> str:
    """The row status Gen C WordPress writes for a service ``status`` (2.4)."""
    return _GEN_C_STATUS_MAP.get(service_status, "erro")


def php_text(value: Any) -> str:
    """``sanitize_text_field`` of a JSON value, roughly: trimmed string, scalars cast."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, str | int | float):
        return str(value).strip()
    return ""


def php_empty(text: str) -> bool:
    return text in ("", "0")


def int_or_zero(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return 0


def mysql_utc(value: Any, now: datetime) -> str:
    """``date('Y-m-d H:i:s', strtotime($v))`` with WordPress pinning PHP to UTC."""
    if value is None or value == "":
        return now.strftime("%Y-%m-%d %H:%M:%S")
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return "1970-01-01 00:00:00"  # strtotime() === false
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


class Campaign:
    """Rows of one agendamento plus the columns the webhook overwrites."""

    def __init__(self, rows: list[dict[str, Any]], *, wrapped: bool, empty_as_array: bool):
        self.rows = rows
        self.wrapped = wrapped
        self.empty_as_array = empty_as_array
        self.status = [INITIAL_STATUS] * len(rows)
        self.data_disparo: list[str | None] = [None] * len(rows)
        self.resposta_api: list[str | None] = [None] * len(rows)
        self._full_body: bytes | None = None

    def _wrap(self, rows: list[dict[str, Any]]) -> bytes:
        return orjson.dumps({"data": rows} if self.wrapped else rows)

    def body(self) -> bytes | None:
        """Serialised pending rows, or None when no row is pending."""
        if all(s in PENDING_STATUSES for s in self.status):
            if not self.rows:
                return None
            if self._full_body is None:
                self._full_body = self._wrap(self.rows)
            return self._full_body
        pending = [r for r, s in zip(self.rows, self.status, strict=True) if s in PENDING_STATUSES]
        return self._wrap(pending) if pending else None

    def empty_body(self) -> bytes:
        return self._wrap([])

    def apply(self, status: str, data_disparo: str, resposta_api: str) -> int:
        """Overwrite every row; return MySQL's affected-rows count (changed rows only)."""
        changed = 0
        for i in range(len(self.rows)):
            if (
                self.status[i] != status
                or self.data_disparo[i] != data_disparo
                or self.resposta_api[i] != resposta_api
            ):
                changed += 1
        self.status = [status] * len(self.rows)
        self.data_disparo = [data_disparo] * len(self.rows)
        self.resposta_api = [resposta_api] * len(self.rows)
        return changed


class CampaignStore:
    """The agendamentos WordPress holds, by id."""

    def __init__(self) -> None:
        self.campaigns: dict[str, Campaign] = {}

    def add_campaign(
        self,
        agendamento_id: str,
        rows: Iterable[dict[str, Any]],
        *,
        wrapped: bool = False,
        empty_as_array: bool = False,
        status: str = INITIAL_STATUS,
    ) -> None:
        """Store (replace) an agendamento's rows, all with row status ``status``.

        ``wrapped`` answers ``{"data": [...]}``; ``empty_as_array`` answers 200 ``[]``
        (instead of 404 ``no_data``) when no row is pending.
        """
        campaign = Campaign(list(rows), wrapped=wrapped, empty_as_array=empty_as_array)
        campaign.status = [status] * len(campaign.rows)
        self.campaigns[agendamento_id] = campaign

    def seed_campaign(
        self,
        agendamento_id: str,
        count: int,
        *,
        env_id: str = "1001",
        generation: Literal["B", "C"] = "C",
        message: str = DEFAULT_MESSAGE,
        wrapped: bool = False,
    ) -> list[dict[str, Any]]:
        """``add_campaign`` with ``samples.make_rows``; returns the rows."""
        rows = make_rows(
            agendamento_id, count, env_id=env_id, generation=generation, message=message
        )
        self.add_campaign(agendamento_id, rows, wrapped=wrapped)
        return rows

    def row_statuses(self, agendamento_id: str) -> set[str]:
        campaign = self.campaigns.get(agendamento_id)
        return set(campaign.status) if campaign else set()

    def row_columns(self, agendamento_id: str) -> list[dict[str, str | None]]:
        """``status``, ``data_disparo``, ``resposta_api`` of every row."""
        c = self.campaigns.get(agendamento_id)
        if c is None:
            return []
        return [
            {"status": s, "data_disparo": d, "resposta_api": r}
            for s, d, r in zip(c.status, c.data_disparo, c.resposta_api, strict=True)
        ]
