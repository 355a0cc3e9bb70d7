"""`disparo check-config`, and the check `serve` and `worker` run before starting: in
production (the default) unsafe settings stop them, one line per setting."""

from __future__ import annotations

import typer
from rich.console import Console

from disparo.config import Settings, get_settings
from disparo.logs import configure_logging
from disparo.production import config_problems
from disparo.providers.registry import check_provider_settings

console = Console()


def fail(what: str, problems: list[str]) -> None:
    """What went wrong, one line per problem, and exit 1."""
    console.print(f"[red bold]{what}:[/]")
    for problem in problems:
        console.print(f"  - {problem}", markup=False, soft_wrap=True)
    raise typer.Exit(1)


def checked_settings() -> Settings:
    """The settings of `serve`/`worker`, or exit 1 naming each unsafe one."""
    settings = get_settings()
    configure_logging(settings)
    try:
        # The provider maps the registry checks (the runtime would refuse them at start).
        check_provider_settings(settings)
    except ValueError as exc:
        fail("configuração inválida", [str(exc)])
    problems = config_problems(settings)
    if problems:
        fail(f"disparo não começa ({settings.env}): configuração insegura", problems)
    return settings


def check_config() -> None:
    """Say whether `serve`/`worker` would start with these settings, without starting."""
    settings = get_settings()
    problems = config_problems(settings)
    try:
        check_provider_settings(settings)
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        fail(f"DISPARO_ENV={settings.env}: disparo would refuse to start", problems)
    console.print(f"[green]DISPARO_ENV={settings.env}: configuration accepted[/]")
