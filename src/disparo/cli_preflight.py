"""`disparo preflight KEY [--json]`: what a dispatch of an agendamento would do, sending and
recording nothing. Runs the API's own preflight through the Runtime (cli_controls.py says
why the operator commands do), so it needs the service's settings, not an API key."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from disparo.campaigns.preflight import run_preflight
from disparo.campaigns.preflight_report import PreflightReport, ReasonCount
from disparo.cli_controls import _run

console = Console()
SHOWN_EXAMPLES = 5


def preflight(
    agendamento_id: Annotated[str, typer.Argument(help="the agendamento_id WordPress would send")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw report (JSON).")] = False,
) -> None:
    """Check an agendamento as a dispatch would: rows by reason, batches, requests, timing,
    credentials. Nothing is sent or recorded."""
    report = _run(lambda rt: run_preflight(rt, agendamento_id.strip()))
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    print_report(report)


def print_report(report: PreflightReport) -> None:
    env = f", ambiente {report.env_id}" if report.env_id else ""
    console.print(f"[bold]Preflight {report.agendamento_id}[/] ({report.provider}{env})")
    console.print(f"linhas {report.rows} · válidas {report.valid} · ignoradas {report.skipped}")
    _reasons("ignoradas por motivo", report.skipped_by_reason)
    _reasons("enviadas, mas a conferir", report.warnings_by_reason)
    console.print(
        f"lotes {report.batches} (até {report.batch_size} por lote) · "
        f"requisições ao fornecedor {report.requests}"
    )
    console.print(
        f"limites: {report.requests_per_second or 'sem limite'} req/s, "
        f"{report.recipients_per_second or 'sem limite'} destinatários/s"
    )
    if report.earliest_start and report.estimated_finish:
        console.print(
            f"início {report.earliest_start:%Y-%m-%d %H:%M:%S %Z} · fim estimado "
            f"{report.estimated_finish:%Y-%m-%d %H:%M:%S %Z} ({report.send_seconds} s)"
        )
    if report.second_step:
        console.print(
            f"segunda etapa {report.second_step.step} ({report.second_step.runs}×): "
            f"{report.second_step.at:%Y-%m-%d %H:%M:%S %Z}"
        )
    console.print("credenciais: " + ("[green]ok[/]" if report.credentials_ok else "[red]falha[/]"))
    for problem in report.problems:
        style = "red" if problem.blocking else "yellow"
        console.print(f"[{style}]{problem.phase}: {problem.message}[/]", highlight=False)
    if report.would_dispatch:
        console.print(f"[green bold]um disparo agora enviaria para {report.valid} destinatários[/]")
    else:
        console.print("[red bold]um disparo agora não enviaria nada[/]")


def _reasons(title: str, reasons: list[ReasonCount]) -> None:
    if not reasons:
        return
    table = Table(title=title, title_justify="left")
    table.add_column("motivo")
    table.add_column("linhas", justify="right")
    table.add_column("exemplos (linha: telefone)")
    for entry in reasons:
        shown = entry.examples[:SHOWN_EXAMPLES]
        examples = ", ".join(f"{e.row}: {e.phone}" for e in shown)
        if entry.count > len(shown):
            examples += ", …"
        table.add_row(entry.reason, str(entry.count), examples)
    console.print(table)
