"""Shared test scaffolding: a loopback server with a swappable app, and contract data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from disparo.config import Settings
from disparo.http_server import start_server
from disparo.providers.registry import split_overrides


def settings_with(**values: Any) -> Settings:
    """Settings from the defaults and these values, named like the variables without
    DISPARO_ (`cda_batch_size=10` is the CDA plugin's batch_size), read from nothing else."""
    base, providers = split_overrides(values)
    defaults = Settings(_env_file=None).model_dump()
    return Settings.model_construct(**(defaults | base | {"provider_overrides": providers}))


def clean_settings(**values: Any) -> Settings:
    """Settings from `values` and the defaults only (and any DISPARO_* variable a test sets
    itself): never the developer's `.env`, so a local file cannot change what a test sees."""
    base, providers = split_overrides(values)
    return Settings(_env_file=None, **base, provider_overrides=providers)


class HasApp(Protocol):
    @property
    def app(self) -> ASGIApp: ...


AppT = TypeVar("AppT", bound=HasApp)


class SwappableApp:
    """An ASGI app that forwards to whatever `.app` is now; `.url` is where it is served.

    Lets a module start one loopback server and give each test a fresh app behind it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.url = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def swap(self, holder: AppT) -> AppT:
        """Serve `holder.app` from now on (e.g. a fresh simulator) and return `holder`."""
        self.app = holder.app
        return holder


@asynccontextmanager
async def serve_swappable(app: ASGIApp) -> AsyncIterator[SwappableApp]:
    """Serve a `SwappableApp` (starting with `app`) on loopback until the block ends."""
    swappable = SwappableApp(app)
    async with await start_server(swappable) as server:
        swappable.url = server.url
        yield swappable


# The example import body of CONTRACTS 5.1 (CDA). Copy it before changing it.
CDA_EXAMPLE_BODY: dict[str, Any] = {
    "chave_api": "chave-exemplo-cda",
    "codigo_equipe": "1001",
    "codigo_usuario": "1",
    "nome": "campanha_1001_1736944200000",
    "ativo": True,
    "corpo_mensagem": "Olá, temos uma proposta para o seu contrato.",
    "mensagens": [
        "1001;5511900000001;CLIENTE EXEMPLO UM;11111111111;11",
        "1001;5521900000002;CLIENTE EXEMPLO DOIS;22222222222;22",
    ],
}

# The example body of CONTRACTS 5.2 (GOSAC), in the contract's key order. Copy it before
# changing it.
GOSAC_EXAMPLE_BODY: dict[str, Any] = {
    "name": "campanha_1736944200000_2025-01-15T12-30-00-000Z",
    "message": "Olá, temos uma proposta para o seu contrato.",
    "kind": "whats",
    "connectionId": None,
    "contacts": [{"name": "CLIENTE EXEMPLO UM", "number": "5511900000001", "hasWhatsapp": True}],
    "defaultQueueId": 1,
    "initialMinutes": 480,
    "endMinutes": 1140,
    "customProps": [],
    "scheduled": False,
    "scheduledAt": "2025-01-15T12:30:00.000Z",
    "speed": "low",
    "tagId": 0,
    "templateId": None,
}

# The example import body of CONTRACTS 5.3 (NOAH). Copy it before changing it.
NOAH_EXAMPLE_BODY: dict[str, Any] = {
    "name": "campanha_1736944200000",
    "data": [
        {
            "telefone": "5511900000001",
            "nome": "CLIENTE EXEMPLO UM",
            "idgis_ambiente": "1001",
            "idcob_contrato": "500001",
            "cpf_cnpj": "11111111111",
            "mensagem": "Olá, temos uma proposta para o seu contrato.",
            "data_cadastro": "2025-01-15 09:30:00",
        }
    ],
}


def busiest_second(arrivals: Iterable[float]) -> int:
    """The most requests inside any [t, t + 1 s) window, t running over the arrivals (as a
    provider counting its own seconds would see them)."""
    return len(busiest_window((at, "") for at in arrivals))


def busiest_window(arrivals: Iterable[tuple[float, str]]) -> list[str]:
    """Who sent each request of the busiest [t, t + 1 s) window: (arrival, sender) pairs in,
    the window's senders out, in order of arrival."""
    ordered = sorted(arrivals)
    best, end = (0, 0), 0
    for start, (at, _) in enumerate(ordered):
        while end < len(ordered) and ordered[end][0] < at + 1.0:
            end += 1
        if end - start > best[1] - best[0]:
            best = (start, end)
    return [sender for _, sender in ordered[best[0] : best[1]]]
