"""`disparo campaign ...`, `disparo retry-unknown` and `disparo dlq ...`: operator commands.

They open the Runtime and call campaigns/controls.py and campaigns/deadletters.py directly,
like `disparo worker` does, instead of going through the HTTP API: they work on a host
with the service's settings even when the API is down or being redeployed, need no API
key, and run exactly the code the API and the dashboard run.
"""

from __future__ import annotations

import asyncio
import getpass
import socket
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from disparo.audit import Actor, audited, describe_filter
from disparo.campaigns import controls, deadletters
from disparo.config import get_settings
from disparo.errors import DisparoError
from disparo.logs import configure_logging
from disparo.runtime import Runtime, open_runtime

console = Console()
T = TypeVar("T")

campaign_app = typer.Typer(help="Operator controls of one campaign (uuid or agendamento_id).")
dlq_app = typer.Typer(help="Dead letters: batches that spent their attempts.")

Key = Annotated[str, typer.Argument(help="campaign uuid or agendamento_id")]
Batches = Annotated[
    list[int] | None, typer.Option("--batch", "-b", help="batch sequence (repeatable); all if none")
]


def _run(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Open the runtime, do the work, close it; failures become one clear line and exit 1."""
    settings = get_settings()
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}))

    async def main() -> T:
        runtime = await open_runtime(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except DisparoError as exc:
        console.print(f"[red bold]{exc.message}[/]")
        raise typer.Exit(1) from None
    except (OSError, DBAPIError) as exc:
        where = f"{settings.safe_database_url} / Redis"
        console.print(f"[red bold]banco de dados ou Redis indisponível[/] ({where}): {exc}")
        raise typer.Exit(1) from None


def cli_actor() -> Actor:
    """Who runs the CLI: the operating-system user (the CLI needs no API key)."""
    return Actor(f"cli:{getpass.getuser()}"[:64], "cli", socket.gethostname()[:64])


def _control(
    action: str, key: str, work: Callable[[Runtime], Awaitable[controls.ControlResult]]
) -> controls.ControlResult:
    """Run a control and record it in the audit log."""

    async def run(rt: Runtime) -> controls.ControlResult:
        async with audited(rt, cli_actor(), action, key) as audit:
            result = await work(rt)
            audit.done(
                result.batches, result.recipients, result.message, target=str(result.campaign_id)
            )
        return result

    return _run(run)


def _show(result: controls.ControlResult) -> None:
    colour = "green" if result.changed else "yellow"
    console.print(
        f"[{colour}]{result.message}[/] — {result.agendamento_id}: {result.status}"
        f"{' (pausada)' if result.paused else ''}; lotes {result.batches}, "
        f"destinatários {result.recipients}"
    )


@campaign_app.command("pause")
def pause(key: Key) -> None:
    """Stop claiming batches (the ones in flight finish)."""
    _show(_control("pause", key, lambda rt: controls.pause_campaign(rt, key)))


@campaign_app.command("resume")
def resume(key: Key) -> None:
    """Continue a paused campaign from what the database says is pending."""
    _show(_control("resume", key, lambda rt: controls.resume_campaign(rt, key)))


@campaign_app.command("cancel")
def cancel(key: Key) -> None:
    """Cancel: nothing more is sent; unsent recipients end FAILED; WordPress hears erro_envio."""
    _show(_control("cancel", key, lambda rt: controls.cancel_campaign(rt, key)))


@campaign_app.command("retry-failed")
def retry_failed(key: Key, batch: Batches = None) -> None:
    """Resend FAILED batches with fresh attempts."""
    _show(_control("retry-failed", key, lambda rt: controls.retry_failed(rt, key, batch or [])))


@campaign_app.command("retry-unknown")
def retry_unknown(key: Key, batch: Batches = None) -> None:
    """Resend UNKNOWN batches. The provider may already have them: check first."""
    work = lambda rt: controls.retry_unknown(rt, key, batch or [])  # noqa: E731
    _show(_control("retry-unknown", key, work))


def _where(
    campaign: str | None, provider: str | None, error: str | None
) -> deadletters.DeadLetterFilter:
    return deadletters.DeadLetterFilter(campaign=campaign, provider=provider, error=error)


CampaignOpt = Annotated[str | None, typer.Option(help="campaign uuid or agendamento_id")]
ProviderOpt = Annotated[str | None, typer.Option(help="provider code, e.g. CDA")]
ErrorOpt = Annotated[str | None, typer.Option(help="substring of the last error")]


@dlq_app.command("list")
def dlq_list(
    campaign: CampaignOpt = None,
    provider: ProviderOpt = None,
    error: ErrorOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    history: Annotated[bool, typer.Option(help="show every attempt")] = False,
) -> None:
    """List dead letters with their last error (and attempt history)."""
    where = _where(campaign, provider, error)
    rows = _run(lambda rt: deadletters.list_dead_letters(rt, where, limit=limit))
    table = Table(title=f"dead letters ({len(rows)})")
    for column in (
        "id", "campaign", "provider", "step", "batch", "recipients", "attempts", "last error"
    ):  # fmt: skip
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id), row.agendamento_id, row.provider, str(row.step), str(row.sequence),
            str(row.recipients), str(row.attempts), (row.last_error or "")[:120],
        )  # fmt: skip
        if history:
            for attempt in row.history:
                code = f"HTTP {attempt.status_code} " if attempt.status_code else ""
                when = attempt.at.isoformat(timespec="seconds")
                detail = f"{attempt.outcome} {code}{(attempt.error or '')[:100]}"
                table.add_row("", "", "", "", "", "", f"#{attempt.attempt}", f"{when} {detail}")
    console.print(table)


@dlq_app.command("redrive")
def dlq_redrive(
    batch_id: Annotated[int | None, typer.Argument(help="one dead letter's id")] = None,
    campaign: CampaignOpt = None,
    provider: ProviderOpt = None,
    error: ErrorOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Redrive one dead letter by id, or those matching the filters (count shown first)."""
    if batch_id is not None:
        result = _run(
            lambda rt: _redrive(
                rt, f"batch {batch_id}", deadletters.redrive_dead_letter(rt, batch_id)
            )
        )
        console.print(f"[green]redriven[/]: batch {batch_id}, {result.recipients} recipients")
        return
    if not (campaign or provider or error or all_):
        raise typer.BadParameter("give a dead letter id, --campaign/--provider/--error, or --all")
    where = _where(campaign, provider, error)
    matched = _run(lambda rt: deadletters.count_dead_letters(rt, where))
    console.print(f"{matched} dead letter(s) match")
    if not matched:
        return
    if not yes and not typer.confirm(f"Redrive {matched} dead letter(s) with fresh attempts?"):
        raise typer.Exit(1)
    target = describe_filter(where)
    result = _run(lambda rt: _redrive(rt, target, deadletters.redrive_dead_letters(rt, where)))
    console.print(
        f"[green]redriven[/]: {result.batches} batch(es), {result.recipients} recipients, "
        f"{result.campaigns} campaign(s)"
    )


async def _redrive(
    rt: Runtime, target: str, work: Awaitable[deadletters.RedriveResult]
) -> deadletters.RedriveResult:
    async with audited(rt, cli_actor(), "redrive", target) as audit:
        result = await work
        audit.done(result.batches, result.recipients, "")
    return result
