"""`disparo webhooks list|replay`: the webhooks WordPress never took, and their replay."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from disparo.audit import audited
from disparo.cli_controls import _run, cli_actor
from disparo.errors import DisparoError
from disparo.queues.jobs import enqueue_all
from disparo.runtime import Runtime
from disparo.wordpress.undeliverable import list_undeliverable, replay

console = Console()

webhooks_app = typer.Typer(help="Webhooks WordPress never took: list and replay them.")


@webhooks_app.command("list")
def webhooks_list(
    agendamento_id: Annotated[
        str | None, typer.Option("--agendamento", help="Only this agendamento.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
) -> None:
    """List undeliverable webhooks, oldest first."""
    items, total = _run(lambda rt: _undeliverable(rt, agendamento_id, limit))
    table = Table(title=f"webhooks não entregues: {total}")
    for column in ("id", "agendamento", "status", "tentativas", "criado em", "último erro"):
        table.add_column(column)
    for item in items:
        note = " (superado)" if item.superseded else ""
        table.add_row(
            str(item.id),
            item.agendamento_id,
            item.status + note,
            str(item.attempts),
            item.created_at.isoformat(timespec="seconds"),
            (item.last_error or "")[:120],
        )
    console.print(table)


async def _undeliverable(runtime: Runtime, agendamento_id: str | None, limit: int) -> Any:
    async with runtime.sessions() as session:
        return await list_undeliverable(
            session, agendamento_id=agendamento_id, limit=limit, offset=0
        )


@webhooks_app.command("replay")
def webhooks_replay(
    ids: Annotated[list[int], typer.Argument(help="Outbox ids, as `webhooks list` shows.")],
    force: Annotated[
        bool, typer.Option(help="Replay even when a later status already reached WordPress.")
    ] = False,
) -> None:
    """Deliver undeliverable webhooks again, with a fresh retry window."""
    failures = _run(lambda rt: _replay(rt, ids, force))
    raise typer.Exit(1 if failures else 0)


async def _replay(runtime: Runtime, ids: list[int], force: bool) -> int:
    failures = 0
    for outbox_id in ids:
        try:
            async with audited(runtime, cli_actor(), "replay", f"webhook {outbox_id}"):
                async with runtime.sessions() as session, session.begin():
                    job = await replay(session, runtime.settings, outbox_id, force=force)
                await enqueue_all(runtime.queues, [job])
        except DisparoError as exc:
            console.print(f"[red]{outbox_id}: {exc.message}[/]")
            failures += 1
            continue
        console.print(f"[green]{outbox_id}: reenfileirado[/]")
    return failures
