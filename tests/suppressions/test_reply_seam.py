"""opt_out_from_reply, the seam the MO (reply) callbacks call: an opt-out word adds the
phone with the reply as the reason, audited in the same transaction."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from disparo.audit.models import AuditEvent
from disparo.config import to_async_url
from disparo.db.engine import create_engine, create_session_factory
from disparo.migrations import upgrade
from disparo.suppressions.models import Suppression
from disparo.suppressions.service import opt_out_from_reply
from tests.conftest import make_settings


async def test_opt_out_replies_add_the_phone(db_url: str, tmp_path: Path) -> None:
    url = to_async_url(db_url)
    await upgrade(url)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    words = make_settings(db_url, "t", tmp_path).opt_out_words
    try:
        async with sessions() as session, session.begin():
            parar = await opt_out_from_reply(session, "11 99999-0001", " Parar! ", words=words)
            again = await opt_out_from_reply(session, "5511999990001", "SAIR", words=words)
            chat = await opt_out_from_reply(session, "11999990002", "quero parar?", words=words)
            bad_phone = await opt_out_from_reply(session, "123", "STOP", words=words)
            custom = await opt_out_from_reply(session, "11999990003", "chega", words=["Chega"])
        async with sessions() as session:
            rows = list(await session.scalars(select(Suppression)))
            events = list(await session.scalars(select(AuditEvent)))
    finally:
        await engine.dispose()

    assert (parar, again, chat, bad_phone, custom) == (True, False, False, False, True)
    assert sorted((r.phone, r.source, r.reason, r.actor) for r in rows) == [
        ("5511999990001", "reply", "Parar!", "reply"),
        ("5511999990003", "reply", "chega", "reply"),
    ]
    assert [(e.action, e.target, e.via, e.detail) for e in events] == [
        ("opt-out-reply", "5511999990001", "provider", "Parar!"),
        ("opt-out-reply", "5511999990003", "provider", "chega"),
    ]
