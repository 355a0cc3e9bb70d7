"""What a provider with a delayed second step implements (GOSAC start, Marketing Cloud run)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx

# Fetches another credentials route of WordPress (2.2) for the campaign's environment:
# Salesforce falls back to `mkc/{env}` when its own block has no Marketing Cloud values.
FetchCredentials = Callable[[str], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class StepRequest:
    agendamento_id: str
    env_id: str
    # The provider's id from the send step (GOSAC's campaign id), and that step's answer.
    reference: str | None
    send_response: str | None


@runtime_checkable
class RunsSecondStep(Protocol):
    async def run_step(
        self,
        client: httpx.AsyncClient,
        credentials: Any,
        request: StepRequest,
        fetch_credentials: FetchCredentials,
    ) -> str:
        """Run the step; return the text recorded as its answer. Raises the provider errors
        of base.py like `send` does."""
        ...
