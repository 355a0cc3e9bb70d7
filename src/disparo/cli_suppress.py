"""`disparo suppress import|list|add|remove|export`: the suppression list from the shell.

Like the other operator commands they open the Runtime and call the same functions as the
API and the dashboard (no API key; the operating-system user is the audited actor)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from disparo.audit import audited
from disparo.cli_controls import _run, cli_actor, console
from disparo.runtime import Runtime
from disparo.suppressions import service
from disparo.suppressions.csvimport import ImportReport, import_csv
from disparo.suppressions.export import export_csv
from disparo.suppressions.models import Suppression, SuppressionSource

suppress_app = typer.Typer(help="The suppression list: phones never contacted again.")
Phone = Annotated[str, typer.Argument(help="the phone, in any format WordPress uses")]
READ_CHUNK = 1 << 20


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(READ_CHUNK):
            yield chunk


@suppress_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Add every phone of a CSV (phone[,cpf_cnpj[,reason]] per line, optional header)."""

    async def run(rt: Runtime) -> ImportReport:
        actor = cli_actor()
        async with audited(rt, actor, "suppress-import", file.name) as audit:
            async with rt.sessions() as session, session.begin():
                report = await import_csv(session, _file_chunks(file), actor.name)
            audit.done(0, report.added, report.summary)
        return report

    report = _run(run)
    console.print(f"[green]{report.summary}[/] ({report.lines} linhas)")
    for error in report.errors:
        console.print(f"  linha {error.line}: {error.message}")
    if report.invalid > len(report.errors):
        console.print(f"  … e mais {report.invalid - len(report.errors)} linhas inválidas")


@suppress_app.command("add")
def add(
    phone: Phone,
    reason: Annotated[str | None, typer.Option(help="why (kept with the entry)")] = None,
    cpf_cnpj: Annotated[str | None, typer.Option("--cpf-cnpj")] = None,
) -> None:
    """Add one phone (source operator)."""

    async def run(rt: Runtime) -> bool:
        actor = cli_actor()
        async with audited(rt, actor, "suppress", phone) as audit:
            normalised = service.phone_or_error(phone)
            entry = service.NewSuppression(
                normalised, SuppressionSource.OPERATOR, actor.name, reason, cpf_cnpj
            )
            async with rt.sessions() as session, session.begin():
                added = await service.add(session, entry)
            audit.done(0, int(added), "added" if added else "already listed", target=normalised)
        return added

    console.print("[green]adicionado[/]" if _run(run) else "[yellow]já estava na lista[/]")


@suppress_app.command("remove")
def remove(phone: Phone) -> None:
    """Take a phone off the list."""

    async def run(rt: Runtime) -> None:
        async with audited(rt, cli_actor(), "unsuppress", phone) as audit:
            async with rt.sessions() as session, session.begin():
                await service.remove(session, phone)
            audit.done(0, 1, "removed", target=service.phone_or_error(phone))

    _run(run)
    console.print(f"[green]removido[/]: {phone}")


@suppress_app.command("list")
def list_(
    phone: Annotated[str | None, typer.Option(help="a phone or its first digits")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """The newest entries (use export for the whole list)."""

    async def run(rt: Runtime) -> tuple[list[Suppression], int]:
        async with rt.sessions() as session:
            return await service.page(session, phone=phone, before=None, limit=limit)

    rows, total = _run(run)
    table = Table(title=f"suppressions ({len(rows)} of {total})")
    for column in ("phone", "cpf/cnpj", "source", "reason", "created", "actor"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.phone, row.cpf_cnpj or "", row.source, (row.reason or "")[:80],
            row.created_at.isoformat(timespec="seconds"), row.actor,
        )  # fmt: skip
    console.print(table)


@suppress_app.command("export")
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file; stdout if none")
    ] = None,
) -> None:
    """The whole list as CSV (phone,cpf_cnpj,reason,source,created_at,actor)."""

    async def run(rt: Runtime) -> None:
        sink = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            async for chunk in export_csv(rt.sessions):
                sink.write(chunk)
        finally:
            if output:
                sink.close()

    _run(run)
