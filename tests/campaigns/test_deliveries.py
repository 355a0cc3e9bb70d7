"""Delivery receipts on the real databases: the precedence (a repeat or an older status never
downgrades a newer one), the group-commit writer under concurrency, replies stored."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError, OperationalError

from disparo.campaigns import replies as replies_module
from disparo.campaigns.callback_writer import CallbackWriteFailed, CallbackWriter
from disparo.campaigns.deliveries import (
    RANK,
    CallbackProblem,
    Reply,
    StatusUpdate,
    apply_statuses,
    parse_reply,
    parse_status,
    vendor_time,
)
from disparo.campaigns.models import Campaign, CampaignMessage, CampaignReply
from disparo.campaigns.replies import store_replies
from disparo.config import to_async_url
from disparo.db.engine import SessionFactory, create_engine, create_session_factory
from disparo.migrations import upgrade

T0 = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def phone(n: int) -> str:
    return f"55119{n:08d}"


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[SessionFactory]:
    url = to_async_url(db_url)
    await upgrade(url)
    engine = create_engine(url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def new_campaign(sessions: SessionFactory, recipients: int) -> uuid.UUID:
    campaign = Campaign(agendamento_id=f"O{uuid.uuid4().hex[:12]}", provider="RCS_OTIMA")
    async with sessions() as session, session.begin():
        session.add(campaign)
        await session.flush()
        session.add_all(
            CampaignMessage(campaign_id=campaign.id, row_index=n, phone=phone(n))
            for n in range(recipients)
        )
    return campaign.id


async def states(
    sessions: SessionFactory, campaign_id: uuid.UUID
) -> dict[str, tuple[str | None, datetime | None, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                CampaignMessage.phone,
                CampaignMessage.delivery_status,
                CampaignMessage.delivery_at,
                CampaignMessage.delivery_reason,
            ).where(CampaignMessage.campaign_id == campaign_id)
        )
        return {p: (s, a, r) for p, s, a, r in rows}


# (the receipts in arrival order as (status, minute), the state they must leave)
SEQUENCES = [
    ([("DELIVERED", 1)], ("DELIVERED", 1)),
    ([("SENT", 0), ("DELIVERED", 1), ("READ", 2)], ("READ", 2)),
    ([("READ", 2), ("DELIVERED", 1), ("SENT", 0)], ("READ", 2)),  # all out of order
    ([("DELIVERED", 1), ("DELIVERED", 1)], ("DELIVERED", 1)),  # a repeat
    ([("DELIVERED", 1), ("SENT", 5)], ("DELIVERED", 1)),  # SENT never downgrades
    ([("READ", 1), ("FAILED", 9)], ("READ", 1)),  # a read message was delivered
    ([("DELIVERED", 1), ("FAILED", 3)], ("FAILED", 3)),  # the later outcome wins
    ([("FAILED", 3), ("DELIVERED", 1)], ("FAILED", 3)),  # an older outcome arriving late
    ([("FALLBACK", 2), ("DELIVERED", 4)], ("DELIVERED", 4)),
    ([("FAILED", 2), ("SENT", 1), ("SENT", 3)], ("FAILED", 2)),
    ([("SENT", 0), ("FALLBACK", 1)], ("FALLBACK", 1)),
]


async def test_precedence_table(sessions: SessionFactory) -> None:
    campaign_id = await new_campaign(sessions, len(SEQUENCES))
    for n, (receipts, _) in enumerate(SEQUENCES):
        for status, minute in receipts:  # one transaction each: arrival order is real
            update = StatusUpdate(campaign_id, phone(n), status, at(minute), f"motivo {minute}")
            async with sessions() as session, session.begin():
                await apply_statuses(session, [update])
    found = await states(sessions, campaign_id)
    for n, (receipts, (status, minute)) in enumerate(SEQUENCES):
        assert found[phone(n)][:2] == (status, at(minute)), receipts


async def test_one_flush_judges_its_receipts_in_order(sessions: SessionFactory) -> None:
    campaign_id = await new_campaign(sessions, len(SEQUENCES))
    updates = [
        StatusUpdate(campaign_id, phone(n), status, at(minute), None)
        for n, (receipts, _) in enumerate(SEQUENCES)
        for status, minute in receipts
    ]
    async with sessions() as session, session.begin():
        await apply_statuses(session, updates)
    found = await states(sessions, campaign_id)
    assert [found[phone(n)][:2] for n in range(len(SEQUENCES))] == [
        (status, at(minute)) for _, (status, minute) in SEQUENCES
    ]


async def test_another_campaigns_recipient_is_untouched(sessions: SessionFactory) -> None:
    ours, theirs = await new_campaign(sessions, 2), await new_campaign(sessions, 2)
    async with sessions() as session, session.begin():
        await apply_statuses(session, [StatusUpdate(ours, phone(1), "READ", at(1), None)])
    assert (await states(sessions, theirs))[phone(1)][0] is None
    assert (await states(sessions, ours))[phone(1)][0] == "READ"


def expected_final(receipts: list[tuple[str, int]]) -> tuple[str, int]:
    """The precedence of the module docstring, computed without the database."""
    best = receipts[0]
    for status, minute in receipts[1:]:
        if RANK[status] > RANK[best[0]] or (RANK[status] == RANK[best[0]] and minute > best[1]):
            best = (status, minute)
    return best


async def test_writer_under_concurrency_loses_nothing(sessions: SessionFactory) -> None:
    recipients = 150
    campaign_id = await new_campaign(sessions, recipients)
    rng = random.Random(14)
    sent: dict[str, list[tuple[str, int]]] = {}
    items: list[StatusUpdate | Reply] = []
    for n in range(recipients):
        receipts = [
            (s, m) for s, m in (("SENT", 0), ("DELIVERED", 1), ("READ", 2)) if rng.random() < 0.8
        ]
        receipts += [receipts[0]] if receipts else [("FAILED", 3)]  # a duplicate, or a failure
        rng.shuffle(receipts)
        sent[phone(n)] = receipts
        items += [StatusUpdate(campaign_id, phone(n), s, at(m), None) for s, m in receipts]
    items += [Reply(campaign_id, phone(n), f"resposta {n}", at(5)) for n in range(0, recipients, 7)]
    rng.shuffle(items)
    writer = CallbackWriter(sessions)

    await asyncio.gather(*(writer.submit(item) for item in items))

    assert writer.flushes < len(items) / 10  # grouped, not a transaction per callback
    found = await states(sessions, campaign_id)
    for number, receipts in sent.items():
        status, minute = expected_final(receipts)
        assert found[number][:2] == (status, at(minute)), receipts
    async with sessions() as session:
        replies = (await session.scalars(select(CampaignReply))).all()
    assert sorted(r.text for r in replies) == sorted(
        f"resposta {n}" for n in range(0, recipients, 7)
    )
    assert all(r.message_id is not None for r in replies)


async def test_a_failed_flush_tells_every_waiting_caller(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = await new_campaign(sessions, 3)

    async def broken(*_: object) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr("disparo.campaigns.callback_writer.apply_statuses", broken)
    writer = CallbackWriter(sessions)
    results = await asyncio.gather(
        *(
            writer.submit(StatusUpdate(campaign_id, phone(n), "SENT", at(0), None))
            for n in range(3)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, CallbackWriteFailed) for r in results)


async def test_replies_stored_on_their_recipient_and_handed_to_the_hook(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = await new_campaign(sessions, 2)
    seen: list[Reply] = []

    async def hook(_: object, replies: list[Reply], *__: object) -> None:
        seen.extend(replies)

    monkeypatch.setattr(replies_module, "after_replies_stored", hook)
    replies = [
        Reply(campaign_id, phone(1), "SAIR", at(3)),
        Reply(campaign_id, "5511988887777", "quem é?", at(4)),  # not a recipient
    ]
    async with sessions() as session, session.begin():
        await store_replies(session, [*replies, replies[0]])  # a repeat in the same flush
    async with sessions() as session, session.begin():
        await store_replies(session, replies[1:])  # a repeat later
    async with sessions() as session:
        rows = (await session.scalars(select(CampaignReply).order_by(CampaignReply.id))).all()
        recipient = await session.scalar(
            select(CampaignMessage.id).where(CampaignMessage.phone == phone(1))
        )
    assert [(r.phone, r.text, r.message_id, r.received_at) for r in rows] == [
        (phone(1), "SAIR", recipient, at(3)),
        ("5511988887777", "quem é?", None, at(4)),
    ]
    assert seen == replies


def test_parsing_the_assumed_bodies() -> None:
    cid = uuid.uuid4()
    received = at(30)
    body = {"phone": "5511900000001", "status": "delivered", "date": "2025-01-15 12:31:40"}
    update = parse_status(cid, body, received)
    # Ótima's dates are Brasília time (UTC-3).
    assert update == StatusUpdate(
        cid, "5511900000001", "DELIVERED", at(31) + timedelta(seconds=40), None
    )
    failed = parse_status(cid, {"phone": "11900000001", "status": "FAILED"}, received)
    assert (failed.phone, failed.at, failed.reason) == (
        "5511900000001",
        received,
        "Falha informada pela Ótima",
    )
    reply = parse_reply(cid, {"phone": "5511900000001", "message": "SAIR"}, received)
    assert (reply.text, reply.received_at) == ("SAIR", received)
    bad: object
    for bad in ({"phone": "5511900000001", "status": "LOST"}, {"status": "SENT"}, [], "x"):
        with pytest.raises(CallbackProblem):
            parse_status(cid, bad, received)


async def test_a_callback_the_database_refuses_fails_alone(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id = await new_campaign(sessions, 5)
    poison = phone(3)

    async def refusing(session: object, updates: list[StatusUpdate]) -> None:
        if any(u.phone == poison for u in updates):
            raise DataError("UPDATE …", {}, ValueError("value too long"))
        await apply_statuses(session, updates)  # type: ignore[arg-type]

    monkeypatch.setattr("disparo.campaigns.callback_writer.apply_statuses", refusing)
    writer = CallbackWriter(sessions, max_concurrent=1)
    results = await asyncio.gather(
        *(
            writer.submit(StatusUpdate(campaign_id, phone(n), "READ", at(1), None))
            for n in range(5)
        ),
        return_exceptions=True,
    )
    assert [isinstance(r, CallbackWriteFailed) for r in results] == [False] * 3 + [True, False]
    found = await states(sessions, campaign_id)
    assert [found[phone(n)][0] for n in range(5)] == ["READ"] * 3 + [None, "READ"]


async def test_a_database_down_fails_the_whole_flush_at_once(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not one by one (each would wait out its own pool timeout): all answered 503 at once."""
    campaign_id = await new_campaign(sessions, 3)
    calls = 0

    async def down(session: object, updates: list[StatusUpdate]) -> None:
        nonlocal calls
        calls += 1
        raise OperationalError("UPDATE …", {}, ConnectionRefusedError("down"))

    monkeypatch.setattr("disparo.campaigns.callback_writer.apply_statuses", down)
    writer = CallbackWriter(sessions, max_concurrent=1)
    results = await asyncio.gather(
        *(
            writer.submit(StatusUpdate(campaign_id, phone(n), "READ", at(1), None))
            for n in range(3)
        ),
        return_exceptions=True,
    )
    assert [isinstance(r, CallbackWriteFailed) for r in results] == [True] * 3
    assert calls == 1


async def test_replies_of_a_deleted_campaign_are_dropped(sessions: SessionFactory) -> None:
    gone = uuid.uuid4()  # its token still checks out, but there is no such campaign
    async with sessions() as session, session.begin():
        await store_replies(session, [Reply(gone, phone(1), "SAIR", at(1))])
    async with sessions() as session:
        assert (await session.scalars(select(CampaignReply))).all() == []


@pytest.mark.parametrize("date", ["9999-12-31 23:00:00", "0001-01-01T00:00:00+14:00", "ontem"])
def test_a_date_out_of_range_is_taken_as_the_time_received(date: str) -> None:
    received = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert vendor_time(date, received) == received  # not a 500 the vendor resends forever
