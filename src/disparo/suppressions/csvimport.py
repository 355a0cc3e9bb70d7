"""Bulk import of a CSV of phones: `phone[,cpf_cnpj[,reason]]` per line (more columns are
ignored, so an export re-imports as it is), an optional header.
The body streams through: lines are parsed as the bytes arrive and fed to COPY (PostgreSQL)
or to chunked INSERTs (SQLite), so a million lines never sit in memory. A line that is not a
usable phone is reported with its line number; it is never dropped silently."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.db.base import utcnow
from disparo.errors import BadRequest
from disparo.phones import normalize_phone
from disparo.suppressions.models import Suppression, SuppressionSource
from disparo.suppressions.service import REASON_LIMIT, insert_ignoring_duplicates

HEADER_NAMES = {"phone", "telefone", "celular", "numero", "número"}
ERRORS_KEPT = 100  # examples of bad lines in the report; all of them are counted
SQLITE_CHUNK = 2_000
DEFAULT_REASON = "importação CSV"
ImportRow = tuple[str, str | None, str | None]  # phone, cpf_cnpj, reason


@dataclass
class LineError:
    line: int
    message: str


@dataclass
class ImportReport:
    lines: int = 0  # data lines read (the header and blank lines not counted)
    added: int = 0
    already_listed: int = 0  # duplicates in the file or phones listed before
    invalid: int = 0
    errors: list[LineError] = field(default_factory=list)

    def bad_line(self, line: int, message: str) -> None:
        self.invalid += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append(LineError(line, message))

    @property
    def summary(self) -> str:
        return (
            f"{self.added} adicionados, {self.already_listed} já na lista, "
            f"{self.invalid} linhas inválidas"
        )


async def non_empty(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The chunks, after making sure there is at least one byte (400 otherwise): an empty
    body is a mistake (a wrong file, a client that sent nothing), not an empty list."""
    async for first in chunks:
        if first:
            break
    else:
        raise BadRequest("O corpo da importação está vazio: envie o CSV no corpo (text/csv)")
    return _prepend(first, chunks)


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


async def text_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[str]]:
    """Whole lines, a chunk's worth at a time, decoded as UTF-8 (a BOM ignored)."""
    rest = b""
    first = True
    async for chunk in chunks:
        data = rest + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1 :]
        lines = data[: cut + 1].decode("utf-8-sig" if first else "utf-8", "replace").splitlines()
        first = False
        yield lines
    if rest:
        yield rest.decode("utf-8-sig" if first else "utf-8", "replace").splitlines()


async def parse_rows(
    chunks: AsyncIterator[bytes], report: ImportReport
) -> AsyncIterator[list[ImportRow]]:
    """The usable rows, a chunk at a time; bad lines go to the report with their number."""
    number = 0
    async for lines in text_lines(chunks):
        rows: list[ImportRow] = []
        for fields in csv.reader(lines):
            number += 1
            row = _row(fields, number, report)
            if row is not None:
                rows.append(row)
        if rows:
            yield rows


def _row(fields: list[str], number: int, report: ImportReport) -> ImportRow | None:
    if not fields or not "".join(fields).strip():
        return None  # a blank line
    raw = fields[0].strip()
    if number == 1 and raw.lower() in HEADER_NAMES:
        return None
    report.lines += 1
    phone = normalize_phone(raw)
    if phone is None:
        report.bad_line(number, f"telefone inválido: {raw[:40]!r}")
        return None
    cpf = (fields[1].strip()[:32] or None) if len(fields) > 1 else None
    # Columns past the reason (an export's source, time and actor) are ignored.
    reason = (fields[2].strip()[:REASON_LIMIT] or None) if len(fields) > 2 else None
    return phone, cpf, reason


async def import_csv(
    session: AsyncSession, chunks: AsyncIterator[bytes], actor: str
) -> ImportReport:
    """Add every usable phone of the CSV; those already listed keep their entry."""
    report = ImportReport()
    before = await _count(session)
    rows = parse_rows(chunks, report)
    if session.get_bind().dialect.name == "postgresql":
        await _copy_then_insert(session, rows, actor)
    else:
        await _insert_chunks(session, rows, actor)
    report.added = await _count(session) - before
    report.already_listed = report.lines - report.invalid - report.added
    return report


async def _count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Suppression)) or 0)


async def _copy_then_insert(
    session: AsyncSession, rows: AsyncIterator[list[ImportRow]], actor: str
) -> None:
    """COPY into a temporary table (fast, no constraint), then one INSERT ... ON CONFLICT DO
    NOTHING into the list: duplicates in the file and phones already listed are left alone."""
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE suppression_import (phone text, cpf_cnpj text, reason text)"
            " ON COMMIT DROP"
        )
    )
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        "suppression_import", records=_flat(rows), columns=("phone", "cpf_cnpj", "reason")
    )
    await session.execute(
        text(
            "INSERT INTO suppressions (phone, cpf_cnpj, source, reason, created_at, actor) "
            "SELECT phone, cpf_cnpj, :source, coalesce(reason, :reason), :at, :actor "
            "FROM suppression_import ON CONFLICT (phone) DO NOTHING"
        ),
        {
            "source": SuppressionSource.IMPORT.value,
            "reason": DEFAULT_REASON,
            "at": utcnow(),
            "actor": actor[:64],
        },
    )


async def _flat(rows: AsyncIterator[list[ImportRow]]) -> AsyncIterator[ImportRow]:
    async for chunk in rows:
        for row in chunk:
            yield row


async def _insert_chunks(
    session: AsyncSession, rows: AsyncIterator[list[ImportRow]], actor: str
) -> None:
    now = utcnow()
    statement = insert_ignoring_duplicates(session)
    async for chunk in rows:
        for part in _split(chunk, SQLITE_CHUNK):
            await session.execute(statement, [_values(row, actor, now) for row in part])


def _split(rows: list[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _values(row: ImportRow, actor: str, now: Any) -> dict[str, Any]:
    phone, cpf, reason = row
    return {
        "phone": phone,
        "cpf_cnpj": cpf,
        "source": SuppressionSource.IMPORT.value,
        "reason": reason or DEFAULT_REASON,
        "created_at": now,
        "actor": actor[:64],
    }
