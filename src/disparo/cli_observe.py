"""`disparo status KEY [--follow]` and `disparo campaigns`: watching campaigns from a shell.

Like the operator commands (cli_controls.py) they read the database through the Runtime
with the service's settings, so they work while the API is down and need no API key. The
figures come from the dashboard's own views, so the shell and the browser agree.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from disparo.campaigns.batch_queries import UnknownAnswer, unknown_answers
from disparo.campaigns.models import TERMINAL_CAMPAIGN, Campaign, CampaignStatus
from disparo.campaigns.repository import find_campaign
from disparo.cli_controls import _run
from disparo.dashboard import queries
from disparo.dashboard.views import campaign_view
from disparo.db.base import utcnow
from disparo.errors import NotFound
from disparo.runtime import Runtime

console = Console()
STYLE = {"COMPLETED": "green", "FAILED": "red", "CANCELLED": "red", "PROCESSING": "cyan"}


def status(
    key: Annotated[str, typer.Argument(help="campaign uuid or agendamento_id")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Show a live progress bar until it ends.")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 0.5,
) -> None:
    """Show one campaign; with --follow, a live progress bar until it ends (exit 1 unless it
    ends COMPLETED)."""
    campaign = _run(lambda rt: _follow(rt, key, interval) if follow else _load(rt, key))
    _print_campaign(campaign)
    _print_answers(_run(lambda rt: _answers(rt, campaign)))
    if follow and campaign.status != CampaignStatus.COMPLETED:
        raise typer.Exit(1)


async def _load(rt: Runtime, key: str) -> Campaign:
    async with rt.sessions() as session:
        campaign = await find_campaign(session, key)
    if campaign is None:
        raise NotFound(f"Campanha não encontrada: {key}")
    return campaign


async def _answers(rt: Runtime, campaign: Campaign) -> list[UnknownAnswer]:
    async with rt.sessions() as session:
        return await unknown_answers(session, campaign.id)


def _print_answers(answers: list[UnknownAnswer]) -> None:
    """What the provider said about the campaign's UNKNOWN batches (where it can answer)."""
    if not answers:
        return
    table = Table(title="UNKNOWN batches asked about")
    for column in ("batch", "at", "answer", "detail"):
        table.add_column(column)
    for answer in answers:
        when = answer.at.isoformat(timespec="seconds")
        table.add_row(str(answer.sequence), when, answer.outcome, answer.text[:200])
    console.print(table)


async def _follow(rt: Runtime, key: str, interval: float) -> Campaign:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("", total=None, detail="")
        while True:
            campaign = await _load(rt, key)
            now = utcnow()
            async with rt.sessions() as session:
                recent = await queries.sent_last_minute(session, [campaign.id], now)
            view = campaign_view(campaign, now, sent_last_minute=recent.get(campaign.id, 0))
            progress.update(
                task,
                description=f"{campaign.agendamento_id} {view['status']}"
                + (" (paused)" if view["paused"] else ""),
                completed=view["done"],
                total=campaign.total_messages or None,
                detail=f"sent {view['sent']} · failed {view['failed']} · {view['rate']}",
            )
            if campaign.status in TERMINAL_CAMPAIGN:
                return campaign
            await asyncio.sleep(interval)


def _print_campaign(campaign: Campaign) -> None:
    view = campaign_view(campaign, utcnow())
    table = Table(title=f"campaign {campaign.agendamento_id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    state = f"[{STYLE.get(view['status'], 'white')}]{view['status']}[/]"
    table.add_row("status", state + (" (paused)" if view["paused"] else ""))
    for label in ("provider", "total", "sent", "failed", "skipped", "unknown", "percent", "rate"):
        table.add_row(label, str(view[label]))
    for label in ("created_at", "started_at", "completed_at"):
        table.add_row(label, view[label] or "–")
    if view["error_message"]:
        table.add_row("error", view["error_message"])
    table.add_row("id", view["id"])
    console.print(table)


def campaigns(
    status: Annotated[str | None, typer.Option(help="Only this status (e.g. PROCESSING).")] = None,
    provider: Annotated[str | None, typer.Option(help="Only this provider (e.g. CDA).")] = None,
) -> None:
    """List campaigns, newest first (the first 50; narrow down with --status/--provider)."""
    chosen = None
    if status:
        try:
            chosen = CampaignStatus(status.upper())
        except ValueError:
            known = ", ".join(s.value for s in CampaignStatus)
            message = f"status desconhecido {status!r}; use um de: {known}"
            raise typer.BadParameter(message) from None
    where = queries.CampaignFilter(chosen, provider.upper() if provider else None)
    rows, total, recent = _run(lambda rt: _campaign_page(rt, where))
    table = Table(title=f"campaigns ({len(rows)} of {total:,}, newest first)")
    for column in ("agendamento_id", "status", "provider", "progress", "sent", "failed",
                   "skipped", "unknown", "rate", "age"):  # fmt: skip
        left = column in ("agendamento_id", "status")
        table.add_column(column, justify="left" if left else "right")
    for campaign in rows:
        view = campaign_view(campaign, utcnow(), sent_last_minute=recent.get(campaign.id, 0))
        state = f"[{STYLE.get(view['status'], 'white')}]{view['status']}[/]"
        table.add_row(
            view["agendamento_id"],
            state + (" (paused)" if view["paused"] else ""),
            view["provider"],
            view["percent"],
            view["sent"],
            view["failed"],
            view["skipped"],
            view["unknown"],
            view["rate"],
            view["age"],
        )
    console.print(table)


async def _campaign_page(
    rt: Runtime, where: queries.CampaignFilter
) -> tuple[list[Campaign], int, dict[uuid.UUID, int]]:
    async with rt.sessions() as session:
        rows, _ = await queries.campaign_page(session, where, None)
        counts = await queries.status_counts(session, where.provider)
        recent = await queries.sent_last_minute(session, [c.id for c in rows], utcnow())
    total = counts.get(where.status.value, 0) if where.status else sum(counts.values())
    return list(rows), total, recent
