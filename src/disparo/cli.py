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

from disparo.cli_config import check_config, checked_settings
from disparo.cli_config import fail as _fail
from disparo.config import Settings, get_settings
from disparo.logs import configure_logging
from disparo.providers.registry import BY_CODE, PLUGINS

if TYPE_CHECKING:
    from disparo.devstack import DevStack
    from disparo.http_server import RunningServer
    from disparo.runtime import Runtime

app = typer.Typer(help="disparo: campaign dispatch for the WordPress campaign panel.")
console = Console()
app.command("check-config")(check_config)

FINAL = {"COMPLETED", "FAILED", "CANCELLED"}


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="API processes sharing the port (one per core).")
    ] = 1,
    graceful_timeout: Annotated[
        int, typer.Option(min=1, help="Seconds SIGTERM waits for the requests in flight.")
    ] = 30,
) -> None:
    """Run the HTTP API. SIGTERM stops accepting, finishes the requests in flight, exits."""
    import uvicorn

    settings = checked_settings()
    if workers > 1 and settings.metrics_port:
        raise typer.BadParameter(
            f"DISPARO_METRICS_PORT={settings.metrics_port} can be bound by one process only; "
            "with --workers, scrape /metrics on the API port (with an API key): every API "
            "process answers the same state",
            param_hint="--workers",
        )
    # An import string, so that with --workers uvicorn's supervisor starts N processes that
    # each build their own app (and runtime) from the same settings; it restarts one that dies.
    uvicorn.run(
        "disparo.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_graceful_shutdown=graceful_timeout,
        log_config=None,
        access_log=False,
        # Named, not "auto": a missing wheel must fail the start, not quietly cost 15% CPU.
        http="httptools",
        loop="uvloop",
    )


@app.command()
def worker(
    queue: Annotated[
        list[str] | None, typer.Option("--queue", "-q", help="Queue to serve (repeatable).")
    ] = None,
    processes: Annotated[
        int, typer.Option(min=1, help="Worker processes (one per core), each on its own.")
    ] = 1,
) -> None:
    """Run the job workers (all queues, or the ones named) until SIGTERM/SIGINT."""
    from disparo.worker import served_queues

    settings = checked_settings()
    try:
        queues = served_queues(queue)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if processes > 1:
        from disparo.queues.supervisor import run_pool

        raise typer.Exit(run_pool(processes, [f"--queue={name}" for name in queue or []]))
    asyncio.run(_run_worker(settings, queues))


async def _run_worker(settings: Settings, queues: list[str]) -> None:
    from disparo.health import problems
    from disparo.runtime import open_runtime
    from disparo.worker import run_worker

    runtime = await open_runtime(settings)
    try:
        found = await problems(runtime)
        if found:
            _fail("o worker não pode começar", found)
        metrics = await _worker_metrics_port(runtime)
        await run_worker(runtime, queues, _stop_on_signals())
        if metrics is not None:
            await metrics.stop()
    finally:
        await runtime.close()


async def _worker_metrics_port(runtime: Runtime) -> RunningServer | None:
    """DISPARO_METRICS_PORT: this worker's own counters (the state comes from the API)."""
    from disparo.observe.endpoint import start_metrics_server

    if not runtime.settings.metrics_port:
        return None
    return await start_metrics_server(runtime, with_state=False)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from disparo.migrations import upgrade_sync

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
    # `dev` and `demo` always run as development, whatever DISPARO_ENV says.
    settings = get_settings().model_copy(update={"env": "development"})
    if settings.log_format == "json" and "DISPARO_LOG_FORMAT" not in _env():
        settings = settings.model_copy(update={"log_format": "console"})
    configure_logging(settings)
    return settings


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


async def _dev(settings: Settings, port: int, wordpress_port: int, cda_port: int) -> None:
    from disparo.devstack import Ports, start_dev_stack

    ports = Ports(api=port, wordpress=wordpress_port, providers={"CDA": cda_port})
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


# Every provider whose plugin names a development simulator.
DEMO_PROVIDERS = [plugin.code for plugin in PLUGINS if plugin.simulator]


def _demo_provider(value: str) -> str:
    code = value.strip().upper()
    if code not in DEMO_PROVIDERS:
        known = ", ".join(DEMO_PROVIDERS)
        raise typer.BadParameter(f"no simulator for {code}: the demo knows {known}")
    return code


@app.command()
def demo(
    recipients: Annotated[int, typer.Option(help="Recipients in the sample campaign.")] = 5000,
    provider: Annotated[
        str,
        typer.Option(
            callback=_demo_provider,
            help=f"Provider of the sample campaign: {', '.join(DEMO_PROVIDERS)}.",
        ),
    ] = "CDA",
) -> None:
    """Dispatch a sample campaign through the whole pipeline and follow it to the end."""
    settings = _dev_settings()
    settings = settings.model_copy(update={"log_level": "WARNING"})
    configure_logging(settings)
    settings = _with_demo_step_delays(settings, provider)
    ok = asyncio.run(_demo(settings, recipients, provider))
    raise typer.Exit(0 if ok else 1)


async def _demo(settings: Settings, recipients: int, provider: str) -> bool:
    from disparo.dev_simulators import DEV_SIMULATORS
    from disparo.devstack import start_dev_stack

    stack = await start_dev_stack(settings)
    try:
        agendamento_id = (
            BY_CODE[provider].prefix + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:20]
        )
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


def _with_demo_step_delays(settings: Settings, provider: str) -> Settings:
    """Second steps after seconds, not minutes, and the demo says so (issue 3) when the
    provider has one (GOSAC's start, Salesforce's Marketing Cloud run)."""
    from disparo.demo_steps import with_short_second_steps

    settings, note = with_short_second_steps(settings, provider)
    if note:
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
    status: dict[str, object], provider: str, requests: int, webhooks: list[dict[str, Any]]
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


# Provider accounts (issue 14): health, circuit breaker, hold and resume.
def _add_provider_commands() -> None:
    from disparo.cli_providers import provider_app

    app.add_typer(provider_app, name="provider")


_add_provider_commands()


# Webhooks WordPress never took (dead letters): list, replay.
def _add_webhook_commands() -> None:
    from disparo.cli_webhooks import webhooks_app

    app.add_typer(webhooks_app, name="webhooks")


_add_webhook_commands()


# Watching campaigns (issue 6): status [--follow], campaigns.
def _add_observe_commands() -> None:
    from disparo.cli_observe import campaigns, status

    app.command("status")(status)
    app.command("campaigns")(campaigns)


_add_observe_commands()


# What a dispatch would do, doing none of it (issue 15).
def _add_preflight_command() -> None:
    from disparo.cli_preflight import preflight

    app.command("preflight")(preflight)


_add_preflight_command()


# The suppression list (issue 15): import, list, add, remove, export.
def _add_suppression_commands() -> None:
    from disparo.cli_suppress import suppress_app

    app.add_typer(suppress_app, name="suppress")


_add_suppression_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
