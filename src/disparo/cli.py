"""`disparo` command: a thin Typer layer over the service's entry points."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from disparo.config import Settings, get_settings
from disparo.logs import configure_logging
from disparo.providers.base import PREFIXES, ProviderCode
from disparo.queues.names import QueueName

if TYPE_CHECKING:
    from disparo.devstack import DevStack
    from disparo.http_server import RunningServer
    from disparo.runtime import Runtime

app = typer.Typer(help="disparo: campaign dispatch for the WordPress campaign panel.")
console = Console()

FINAL = {"COMPLETED", "FAILED", "CANCELLED"}


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Run the HTTP API."""
    import uvicorn

    from disparo.app import create_app

    settings = get_settings()
    configure_logging(settings)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


@app.command()
def worker(
    queue: Annotated[
        list[str] | None, typer.Option("--queue", "-q", help="Queue to serve (repeatable).")
    ] = None,
) -> None:
    """Run the job workers (all queues, or the ones named) until SIGTERM/SIGINT."""
    from disparo.queues.worker import served_queues

    settings = get_settings()
    configure_logging(settings)
    try:
        queues = served_queues(queue)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    asyncio.run(_run_worker(settings, queues))


async def _run_worker(settings: Settings, queues: list[QueueName]) -> None:
    from disparo.health import problems
    from disparo.queues.worker import run_workers
    from disparo.runtime import open_runtime

    runtime = await open_runtime(settings)
    try:
        found = await problems(runtime)
        if found:
            _fail("o worker não pode começar", found)
        metrics = await _worker_metrics_port(runtime)
        await run_workers(runtime, queues, _stop_on_signals())
        if metrics is not None:
            await metrics.stop()
    finally:
        await runtime.close()


async def _worker_metrics_port(runtime: Runtime) -> RunningServer | None:
    """DISPARO_METRICS_PORT: this worker's own counters (the state comes from the API)."""
    from disparo.metrics.endpoint import start_metrics_server

    if not runtime.settings.metrics_port:
        return None
    return await start_metrics_server(runtime, with_state=False)


def _fail(what: str, problems: list[str]) -> None:
    console.print(f"[red bold]{what}:[/]")
    for problem in problems:
        console.print(f"  - {problem}")
    raise typer.Exit(1)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from disparo.db.migrate import upgrade_sync

    settings = get_settings()
    try:
        upgrade_sync(settings.sqlalchemy_url)
    except (OSError, DBAPIError) as exc:
        _fail("migrate falhou", [f"{settings.safe_database_url}: {exc}".splitlines()[0]])
    console.print(f"[green]schema up to date[/] ({settings.safe_database_url})")


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="API port.")] = 8000,
    wordpress_port: Annotated[int, typer.Option(help="WordPress simulator port.")] = 8081,
    cda_port: Annotated[int, typer.Option(help="CDA simulator port.")] = 8082,
) -> None:
    """API + workers + WordPress and CDA simulators, on the embedded default, until Ctrl-C."""
    settings = _dev_settings()
    asyncio.run(_dev(settings, port, wordpress_port, cda_port))


def _dev_settings() -> Settings:
    settings = get_settings()
    if settings.log_format == "json" and "DISPARO_LOG_FORMAT" not in _env():
        settings = settings.model_copy(update={"log_format": "console"})
    configure_logging(settings)
    return settings


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


async def _dev(settings: Settings, port: int, wordpress_port: int, cda_port: int) -> None:
    from disparo.devstack import Ports, start_dev_stack

    ports = Ports(api=port, wordpress=wordpress_port, providers={ProviderCode.CDA: cda_port})
    stack = await start_dev_stack(settings, ports)
    table = Table(title="disparo dev", show_header=True)
    table.add_column("what")
    table.add_column("where")
    table.add_row("API (docs at /docs)", stack.api.url)
    table.add_row("dashboard (sign in with the key)", stack.api.url + "/dashboard")
    table.add_row("X-API-KEY", stack.api_key)
    table.add_row("WordPress simulator", stack.wordpress_server.url)
    for code, running in stack.simulators.items():
        table.add_row(f"{code} simulator", running.server.url)
    table.add_row("database", stack.settings.safe_database_url)
    table.add_row("redis", stack.runtime.redis_url)
    console.print(table)
    console.print(
        "Seed a campaign: curl -X POST "
        f"{stack.wordpress_server.url}/_sim/campaigns -H 'Content-Type: application/json' "
        '-d \'{"agendamento_id": "C20250115093000", "count": 1000}\''
    )
    stop = _stop_on_signals()
    await stop.wait()
    await stack.stop()


@app.command()
def demo(
    recipients: Annotated[int, typer.Option(help="Recipients in the sample campaign.")] = 5000,
    provider: Annotated[
        ProviderCode, typer.Option(case_sensitive=False, help="Provider of the sample campaign.")
    ] = ProviderCode.CDA,
) -> None:
    """Dispatch a sample campaign through the whole pipeline and follow it to the end."""
    from disparo.providers.devsims import DEV_SIMULATORS

    if provider not in DEV_SIMULATORS:
        known = ", ".join(DEV_SIMULATORS)
        console.print(f"[red]no simulator for {provider}[/]: the demo knows {known}")
        raise typer.Exit(2)
    settings = _dev_settings()
    settings = settings.model_copy(update={"log_level": "WARNING"})
    configure_logging(settings)
    settings = _with_demo_step_delays(settings, provider)
    ok = asyncio.run(_demo(settings, recipients, provider))
    raise typer.Exit(0 if ok else 1)


async def _demo(settings: Settings, recipients: int, provider: ProviderCode) -> bool:
    from disparo.devstack import start_dev_stack
    from disparo.providers.devsims import DEV_SIMULATORS

    stack = await start_dev_stack(settings)
    try:
        prefix = next(p for p, code in PREFIXES.items() if code == provider)
        agendamento_id = prefix + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:20]
        DEV_SIMULATORS[provider].seed_sample(stack.wordpress, agendamento_id, recipients)
        console.print(
            f"WordPress simulator has [bold]{recipients}[/] recipients for {agendamento_id}"
        )
        async with httpx.AsyncClient(
            base_url=stack.api.url, headers={"X-API-KEY": stack.api_key}, timeout=30
        ) as client:
            answer = await client.post(
                "/campaigns/dispatch", json={"agendamento_id": agendamento_id}
            )
            console.print(f"POST /campaigns/dispatch → {answer.status_code} {answer.json()}")
            final = await _follow(client, answer.json()["campaign_id"])
        await _show_second_steps(stack, agendamento_id)
        hooks = await _final_webhooks(stack, agendamento_id)
        _print_summary(final, provider, len(stack.simulators[provider].requests), hooks)
        return bool(final["status"] == "COMPLETED")
    finally:
        await stack.stop()


def _with_demo_step_delays(settings: Settings, provider: ProviderCode) -> Settings:
    """Second steps after seconds, not minutes, and the demo says so (issue 3) when the
    provider has one (GOSAC's start, Salesforce's Marketing Cloud run)."""
    from disparo.demo_steps import with_short_second_steps

    settings, note = with_short_second_steps(settings)
    if provider in (ProviderCode.GOSAC, ProviderCode.SALESFORCE):
        console.print(f"[dim]{note}[/]")
    return settings


async def _show_second_steps(stack: DevStack, agendamento_id: str) -> None:
    from disparo.demo_steps import wait_second_steps

    for outcome in await wait_second_steps(stack, agendamento_id):
        console.print(f"second step {outcome.step}: {outcome.status} — {outcome.detail[:120]}")


async def _follow(client: httpx.AsyncClient, campaign_id: str) -> dict[str, object]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("QUEUED", total=None)
        while True:
            status = (await client.get(f"/campaigns/{campaign_id}/status")).json()
            done = status["sent_messages"] + status["failed_messages"] + status["unknown_messages"]
            total = max(1, status["total_messages"] - status["skipped_messages"])
            progress.update(task, description=status["status"], completed=done, total=total)
            if status["status"] in FINAL:
                return dict(status)
            await asyncio.sleep(0.2)


async def _final_webhooks(stack: DevStack, agendamento_id: str) -> list[dict[str, Any]]:
    """The final status webhook leaves just after the campaign closes: give it a moment."""
    for _ in range(50):
        hooks = stack.wordpress.webhooks_for(agendamento_id)
        if hooks and hooks[-1]["status"] != "processando":
            break
        await asyncio.sleep(0.1)
    return hooks


def _print_summary(
    status: dict[str, object], provider: ProviderCode, requests: int, webhooks: list[dict[str, Any]]
) -> None:
    table = Table(title=f"campaign {status['agendamento_id']}")
    table.add_column("field")
    table.add_column("value")
    for key in ("status", "provider", "total_messages", "sent_messages", "failed_messages",
                "skipped_messages", "unknown_messages", "started_at", "completed_at"):  # fmt: skip
        table.add_row(key, str(status.get(key, "")))
    table.add_row(f"requests received by the {provider} simulator", str(requests))
    table.add_row("webhooks received by WordPress", ", ".join(str(w["status"]) for w in webhooks))
    console.print(table)


# Operator commands (issue 4): campaign controls, retry-unknown, dead letters.
def _add_operator_commands() -> None:
    from disparo.cli_controls import campaign_app, dlq_app, retry_unknown

    app.add_typer(campaign_app, name="campaign")
    app.add_typer(dlq_app, name="dlq")
    app.command("retry-unknown", help="Resend a campaign's UNKNOWN batches (operator's word).")(
        retry_unknown
    )


_add_operator_commands()


# ---------------------------------------------------------------- webhooks (dead letters)

webhooks_app = typer.Typer(help="Webhooks WordPress never took: list and replay them.")
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("list")
def webhooks_list(
    agendamento_id: Annotated[
        str | None, typer.Option("--agendamento", help="Only this agendamento.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
) -> None:
    """List undeliverable webhooks, oldest first."""
    settings = get_settings()
    configure_logging(settings)
    items, total = asyncio.run(_undeliverable(settings, agendamento_id, limit))
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


async def _undeliverable(settings: Settings, agendamento_id: str | None, limit: int) -> Any:
    from disparo.runtime import open_runtime
    from disparo.wordpress.undeliverable import list_undeliverable

    runtime = await open_runtime(settings)
    try:
        async with runtime.sessions() as session:
            return await list_undeliverable(
                session, agendamento_id=agendamento_id, limit=limit, offset=0
            )
    finally:
        await runtime.close()


@webhooks_app.command("replay")
def webhooks_replay(
    ids: Annotated[list[int], typer.Argument(help="Outbox ids, as `webhooks list` shows.")],
    force: Annotated[
        bool, typer.Option(help="Replay even when a later status already reached WordPress.")
    ] = False,
) -> None:
    """Deliver undeliverable webhooks again, with a fresh retry window."""
    settings = get_settings()
    configure_logging(settings)
    failures = asyncio.run(_replay(settings, ids, force))
    raise typer.Exit(1 if failures else 0)


async def _replay(settings: Settings, ids: list[int], force: bool) -> int:
    from disparo.errors import DisparoError
    from disparo.queues.jobs import enqueue_all
    from disparo.runtime import open_runtime
    from disparo.wordpress.undeliverable import replay

    runtime = await open_runtime(settings)
    failures = 0
    try:
        for outbox_id in ids:
            try:
                async with runtime.sessions() as session, session.begin():
                    job = await replay(session, settings, outbox_id, force=force)
            except DisparoError as exc:
                console.print(f"[red]{outbox_id}: {exc.message}[/]")
                failures += 1
                continue
            await enqueue_all(runtime.queues, [job])
            console.print(f"[green]{outbox_id}: reenfileirado[/]")
    finally:
        await runtime.close()
    return failures


# Watching campaigns (issue 6): status [--follow], campaigns.
def _add_observe_commands() -> None:
    from disparo.cli_observe import campaigns, status

    app.command("status")(status)
    app.command("campaigns")(campaigns)


_add_observe_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
