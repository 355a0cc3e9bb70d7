"""`disparo provider health|hold|resume`: provider accounts' health and circuit breakers.
Like the campaign controls (cli_controls.py) they open the Runtime and call the functions
the API and the dashboard call (campaigns/provider_controls.py), audited as cli:USER."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from disparo.audit import audited
from disparo.campaigns import provider_controls
from disparo.campaigns.provider_controls import AccountView
from disparo.cli_controls import _run, cli_actor, console
from disparo.runtime import Runtime

provider_app = typer.Typer(help="Provider accounts: health, circuit breaker, hold and resume.")
Account = Annotated[str, typer.Argument(help="the account as `disparo provider health` lists it")]
COLOURS = {"closed": "green", "open": "red", "held": "yellow"}


@provider_app.command("health")
def health() -> None:
    """Each account over the last DISPARO_PROVIDER_HEALTH_MINUTES: requests, errors by kind,
    latency, rate-limit waits, and whether it is sending, paused or held."""
    views = _run(provider_controls.provider_health)
    if not views:
        console.print("nenhuma requisição a fornecedores nos últimos minutos")
        return
    table = Table("account", "state", "req/min", "errors", "p50/p95/p99 ms", "waits")
    for view in views:
        errors = ", ".join(f"{kind} {n}" for kind, n in view.errors.items() if n) or "–"
        latency = "/".join(str(int(view.latency_ms[q])) for q in ("p50", "p95", "p99"))
        state = f"[{COLOURS[view.state]}]{view.state}[/]"
        table.add_row(
            view.account, state, f"{view.requests_per_minute:g}", errors, latency,
            str(view.rate_limit_waits),
        )  # fmt: skip
    console.print(table)
    for view in views:
        if view.state != "closed":
            console.print(f"[{COLOURS[view.state]}]{view.summary}[/]")


@provider_app.command("hold")
def hold(account: Account) -> None:
    """Stop every send of the account (its batches wait, unspent) until `resume`."""

    async def work(rt: Runtime) -> AccountView:
        actor = cli_actor()
        async with audited(rt, actor, "provider-hold", account) as audit:
            view = await provider_controls.hold_account(rt, account, actor.name)
            audit.done(0, 0, view.summary)
        return view

    console.print(f"[yellow]{_run(work).summary}[/]")


@provider_app.command("resume")
def resume(account: Account) -> None:
    """End a hold or an open breaker now; the account's waiting batches are sent again."""

    async def work(rt: Runtime) -> tuple[AccountView, int]:
        async with audited(rt, cli_actor(), "provider-resume", account) as audit:
            view, woken = await provider_controls.resume_account(rt, account)
            audit.done(woken, 0, view.summary)
        return view, woken

    view, woken = _run(work)
    console.print(f"[green]{view.summary}[/]: {woken} lote(s) em espera enviados de novo")
