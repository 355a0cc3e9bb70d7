"""Delivery receipts and replies as Ótima calls them back (CONTRACTS 5.5, 5.7, ASSUMED
bodies), and how they are written: many at once, one transaction (callback_writer.py).

Replies are stored by replies.py.

Precedence (a repeat, or an older status arriving late, never downgrades a newer one):

    rank 1  SENT        the provider handed it on
    rank 2  DELIVERED   outcomes of the attempt: between two of them the later `date` wins
            FAILED      (a FALLBACK the SMS then delivers, a DELIVERED the vendor later
            FALLBACK     corrects to FAILED)
    rank 3  READ        the person read it: proof of delivery, nothing after overrides it

A status replaces the stored one when its rank is higher, or equal with a strictly later
time; the same status at the same time again changes nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.models import CampaignMessage
from disparo.campaigns.rows import normalize_phone
from disparo.db.base import UTCDateTime, utcnow

RANK = {"SENT": 1, "DELIVERED": 2, "FAILED": 2, "FALLBACK": 2, "READ": 3}
DELIVERY_STATES = tuple(RANK)
# Ótima's `date` carries no zone (ASSUMED: Brasília time, UTC-3 all year since 2019).
VENDOR_ZONE = timezone(timedelta(hours=-3))
MAX_REASON = 255
MAX_REPLY = 4_000


class CallbackProblem(ValueError):
    """A callback body disparo cannot use (answered 400 with this text)."""


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    campaign_id: uuid.UUID
    phone: str  # as stored: 55 + DDD + number
    status: str
    at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class Reply:
    campaign_id: uuid.UUID
    phone: str
    text: str
    received_at: datetime

    @property
    def key(self) -> str:
        """Same campaign, phone, time and text: the same reply (a vendor's repeat)."""
        parts = (str(self.campaign_id), self.phone, self.received_at.isoformat(), self.text)
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()


# One callback, as the writer takes it.
Item = StatusUpdate | Reply


def vendor_time(value: object, received: datetime) -> datetime:
    """`YYYY-MM-DD HH:MM:SS` in Brasília time, or ISO-8601 with its zone; else when received."""
    if not isinstance(value, str) or not value.strip():
        return received
    try:
        parsed = datetime.fromisoformat(value.strip())
        zoned = parsed if parsed.tzinfo else parsed.replace(tzinfo=VENDOR_ZONE)
        return zoned.astimezone(UTC)
    except (ValueError, OverflowError):  # "9999-12-31 23:00:00" overflows once in UTC
        return received


def _storable(text: str) -> str:
    """Without NUL, which PostgreSQL refuses in text (the whole flush would fail)."""
    return text.replace("\x00", "").strip()


def _phone_of(body: Mapping[str, Any]) -> str:
    raw = body.get("phone") or body.get("whatsapp")
    phone = normalize_phone(raw)  # None for anything but a usable phone (a number, a text)
    if phone is None:
        raise CallbackProblem("phone ausente ou inválido")
    return phone


def _reason_of(body: Mapping[str, Any], status: str) -> str | None:
    if status not in ("FAILED", "FALLBACK"):
        return None
    for name in ("reason", "status_description", "error", "message"):
        value = body.get(name)
        if isinstance(value, str) and value.strip():
            return _storable(value)[:MAX_REASON]
    return "Falha informada pela Ótima" if status == "FAILED" else None


def parse_status(campaign_id: uuid.UUID, body: object, received: datetime) -> StatusUpdate:
    if not isinstance(body, Mapping):
        raise CallbackProblem("corpo deve ser um objeto JSON")
    status = str(body.get("status") or "").strip().upper()
    if status not in RANK:
        raise CallbackProblem(f"status deve ser um de {', '.join(DELIVERY_STATES)}")
    at = vendor_time(body.get("date"), received)
    return StatusUpdate(campaign_id, _phone_of(body), status, at, _reason_of(body, status))


def parse_reply(campaign_id: uuid.UUID, body: object, received: datetime) -> Reply:
    if not isinstance(body, Mapping):
        raise CallbackProblem("corpo deve ser um objeto JSON")
    text = body.get("message", body.get("text"))
    if not isinstance(text, str):
        raise CallbackProblem("message ausente")
    return Reply(
        campaign_id,
        _phone_of(body),
        _storable(text)[:MAX_REPLY],
        vendor_time(body.get("date"), received),
    )


def _stored_rank() -> Any:
    return case(
        *((CampaignMessage.delivery_status == name, rank) for name, rank in RANK.items()),
        else_=0,
    )


_table = cast(Table, CampaignMessage.__table__)
# One statement for every receipt of a flush (executemany): the WHERE is the precedence.
_APPLY = (
    update(_table)
    .where(
        _table.c.campaign_id == bindparam("cid"),
        _table.c.phone == bindparam("p"),
        or_(
            _table.c.delivery_status.is_(None),
            _stored_rank() < bindparam("rank"),
            and_(
                _stored_rank() == bindparam("rank"),
                _table.c.delivery_at < bindparam("at", type_=UTCDateTime),
            ),
        ),
    )
    .values(
        delivery_status=bindparam("st"),
        delivery_at=bindparam("at", type_=UTCDateTime),
        delivery_reason=bindparam("why"),
        delivery_recorded_at=bindparam("rec", type_=UTCDateTime),
    )
)


async def apply_statuses(session: AsyncSession, updates: Sequence[StatusUpdate]) -> None:
    """The result is the maximum of (rank, time) whatever the order, so the receipts go in
    the order of their rows (then rank and time): concurrent flushes lock rows in the same
    order and cannot deadlock."""
    if not updates:
        return
    ordered = sorted(updates, key=lambda u: (str(u.campaign_id), u.phone, RANK[u.status], u.at))
    recorded = utcnow()
    params = [
        {"cid": u.campaign_id, "p": u.phone, "rank": RANK[u.status], "st": u.status}
        | {"at": u.at, "why": u.reason, "rec": recorded}
        for u in ordered
    ]
    await session.execute(_APPLY, params)
