"""Pure checks on WordPress rows: phone normalisation, env id, skip reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Re-exported: the checks below and older callers know it from here.
from disparo.phones import normalize_phone as normalize_phone

# Fields the rest of the row may carry that some provider needs later (Gen C).
EXTRA_FIELDS = (
    "id",
    "carteira_nome",
    "nome_campanha",
    "midia_campanha",
    "broker_code",
    "variables",
    # NOAH's import carries each row's registration date (5.3).
    "data_cadastro",
)


def text(row: Mapping[str, Any], name: str) -> str:
    """A row field as text the database and the providers accept."""
    value = row.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    if value.isascii():
        return value.replace("\x00", "") if "\x00" in value else value
    # PostgreSQL refuses NUL; a lone surrogate (a broken \ud800 escape) cannot be UTF-8.
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


# WordPress row ids are BIGINT UNSIGNED; disparo keeps those a signed BIGINT holds.
MAX_ROW_ID = 2**63 - 1


def row_id_of(row: Mapping[str, Any]) -> int | None:
    """The WordPress row's `id` (Gen C rows send it), or None (Gen B rows, or not a number):
    WordPress then finds the row by its place in the data (row_index)."""
    value = text(row, "id").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ROW_ID else None


def env_id_of(row: Mapping[str, Any]) -> str:
    """CONTRACTS.md 3.2: idgis_ambiente unless empty or "0", else id_carteira."""
    env = text(row, "idgis_ambiente").strip()
    if env and env != "0":
        return env
    return text(row, "id_carteira").strip()


@dataclass(frozen=True, slots=True)
class CheckedRow:
    phone: str
    skip_reason: str | None


def check_phone(row: Mapping[str, Any]) -> CheckedRow:
    """Whether a row's phone can be sent to, normalised. Repeats are told later, among the
    rows every check keeps (campaigns/repeats.py)."""
    raw_phone = text(row, "telefone").strip()
    if not raw_phone:
        return CheckedRow("", "telefone ausente")
    phone = normalize_phone(raw_phone)
    if phone is None:
        return CheckedRow(raw_phone[:32], f"telefone inválido: {raw_phone[:40]!r}")
    return CheckedRow(phone, None)


def reason_kind(reason: str) -> str:
    """A skip reason without its detail: "telefone inválido: '123'" -> "telefone inválido".
    Reasons are counted by kind (the preflight, the final webhook's summary), so a reason a
    new check adds gets its own line."""
    return reason.split(":", 1)[0].strip()


def extra_of(row: Mapping[str, Any]) -> dict[str, Any] | None:
    extra = {name: row[name] for name in EXTRA_FIELDS if row.get(name) not in (None, "", {})}
    return extra or None
