"""GOSAC's campaign-creation request (CONTRACTS.md 5.2)."""

from __future__ import annotations

from typing import Literal, TypedDict


class GosacContact(TypedDict):
    name: str
    number: str
    hasWhatsapp: bool


class GosacCreateBody(TypedDict):
    name: str
    message: str
    kind: Literal["whats"]
    connectionId: None
    contacts: list[GosacContact]
    defaultQueueId: int
    initialMinutes: int
    endMinutes: int
    customProps: list[object]
    scheduled: bool
    scheduledAt: str
    speed: Literal["low"]
    tagId: int
    templateId: None
