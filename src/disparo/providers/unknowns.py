"""What an adapter declares when its provider can say what became of a batch whose outcome
disparo does not know (UNKNOWN: a read timeout after the body left, a gateway's 502/504, a
worker that died mid-request). Asking is only worth it where the provider keeps records one
can look up by what disparo sent; the README says, per provider, why it can or cannot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import httpx


@dataclass(frozen=True, slots=True)
class UnknownBatch:
    """The batch asked about: its recipients' phones and when it was claimed (its request
    left after that, so nothing it created is older)."""

    phones: Sequence[str]
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class ReceivedPhones:
    """The provider's answer: which of the batch's phones it has, and the question in words
    (recorded in the batch's history)."""

    found: frozenset[str]
    asked: str


@runtime_checkable
class ResolvesUnknown(Protocol):
    async def received_phones(
        self, client: httpx.AsyncClient, credentials: Any, batch: UnknownBatch
    ) -> ReceivedPhones:
        """Which phones of `batch` the provider received. Raises the provider errors of
        base.py when it cannot tell (any error means: unanswerable, ask an operator)."""
        ...
