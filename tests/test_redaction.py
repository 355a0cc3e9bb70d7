"""Masking of what leaves the process: by value, at any depth, in tracebacks, in stored
columns, and in the readiness checks' text."""

from __future__ import annotations

import json
import logging
import re
import sys
from types import SimpleNamespace
from typing import cast

import pytest
import structlog
from sqlalchemy import select

from disparo import redaction
from disparo.campaigns.models import Campaign
from disparo.config import Settings
from disparo.db.engine import create_engine, create_session_factory
from disparo.health import check_redis, problems
from disparo.logs import MASK, configure_logging
from disparo.migrations import upgrade
from disparo.queues.connection import RedisTarget
from disparo.runtime import Runtime
from disparo.wordpress.outbox_model import WebhookOutbox


def test_remembered_values_are_masked_in_free_text_and_url_encoded() -> None:
    redaction.remember_secrets_in({"cda": {"api_key": "k3y+with/slash"}, "nome": "campanha"})
    text = "recusado k3y+with/slash; form k3y%2Bwith%2Fslash; ok campanha"
    assert redaction.mask_text(text) == "recusado ***; form ***; ok campanha"


def test_short_values_are_not_masked_by_value() -> None:
    redaction.remember("1001")
    assert redaction.mask_text("ambiente 1001") == "ambiente 1001"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("redis://:s3nha-redis@10.0.0.1:6379/0", "redis://:***@10.0.0.1:6379/0"),
        ("Authorization: INTEGRATION tok-abc123", "Authorization: *** ***"),
        ("{'token': 'tok-abc'}", "{'token': '***'}"),
        ("Invalid integration token", "Invalid integration token"),
        ("Token inválido, token expired", "Token inválido, token expired"),
        # re.IGNORECASE takes these for ASCII letters; the word look-up before each pattern
        # must too, or the name would keep its value.
        ('{"credentıals": "s3cr3t-value"}', '{"credentıals": "***"}'),
        ("AUTHORİZATİON=s3cr3t-value", "AUTHORİZATİON=***"),
        ("ſenha: s3cr3t-value", "ſenha: ***"),
        ("sent BASİC dXNlcjpwYXNz1=", "sent BASİC ***"),
        ("sent \u212aEY-less tO\u212aEN abc123456789", "sent \u212aEY-less tO\u212aEN ***"),
    ],
)
def test_patterns(text: str, kept: str) -> None:
    assert redaction.mask_text(text) == kept


def test_the_word_look_up_folds_every_character_the_patterns_fold() -> None:
    """Every code point beyond ASCII that re.IGNORECASE matches to an ASCII letter is in
    REGEX_CASE_FOLDS (a new Python's case tables would show up here first)."""
    letter = re.compile("[a-z]", re.I)
    taken = {c for c in range(128, sys.maxunicode + 1) if letter.fullmatch(chr(c))}
    assert taken == {ord(char) for char in redaction.REGEX_CASE_FOLDS}
    for code in taken:
        folded = redaction.folded_as_regex(chr(code))
        assert re.fullmatch(folded, chr(code), re.I), hex(code)


def test_log_fields_are_masked_at_any_depth_and_in_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(Settings(log_format="json"))
    redaction.remember("valor-secreto-1")
    log = structlog.get_logger("t")
    log.info("deep", body={"a": [{"b": {"client_secret": "x1"}}, "fala valor-secreto-1"]})
    try:
        raise ValueError("falhou com valor-secreto-1")
    except ValueError:
        log.exception("crash")
    lines = [json.loads(raw) for raw in capsys.readouterr().out.strip().splitlines()[-2:]]
    assert lines[0]["body"] == {"a": [{"b": {"client_secret": MASK}}, "fala ***"]}
    assert "falhou com ***" in lines[1]["exception"]
    assert "valor-secreto-1" not in json.dumps(lines)


def test_stdlib_log_records_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_format="json"))
    redaction.remember("valor-secreto-2")
    logging.getLogger("uvicorn.error").error("conexão com %s falhou", "valor-secreto-2")
    assert "valor-secreto-2" not in capsys.readouterr().err


async def test_stored_errors_and_webhook_payloads_are_masked(sqlite_url: str) -> None:
    await upgrade(sqlite_url.replace("sqlite://", "sqlite+aiosqlite://"))
    engine = create_engine(sqlite_url.replace("sqlite://", "sqlite+aiosqlite://"))
    sessions = create_session_factory(engine)
    redaction.remember("chave-guardada-9")
    try:
        async with sessions() as session, session.begin():
            campaign = Campaign(
                agendamento_id="C1", provider="CDA", error_message="HTTP 400: chave-guardada-9"
            )
            session.add(campaign)
            await session.flush()
            session.add(
                WebhookOutbox(
                    campaign_id=campaign.id,
                    agendamento_id="C1",
                    payload={"resposta_api": '{"chave_api": "outra"} chave-guardada-9'},
                )
            )
        async with engine.connect() as connection:
            raw = (await connection.exec_driver_sql("SELECT error_message FROM campaigns")).all()
            payload = (await connection.exec_driver_sql("SELECT payload FROM webhook_outbox")).all()
        async with sessions() as session:
            entry = await session.scalar(select(WebhookOutbox))
    finally:
        await engine.dispose()
    assert raw == [("HTTP 400: ***",)]
    assert "chave-guardada-9" not in payload[0][0] and "outra" not in payload[0][0]
    assert entry is not None and entry.payload["resposta_api"] == '{"chave_api": "***"} ***'


async def test_readiness_text_hides_the_redis_password() -> None:
    url = "redis://:senha-do-redis@127.0.0.1:1/0"  # nothing listens on port 1
    settings = Settings(database_url="sqlite:///:memory:")
    engine = create_engine(settings.sqlalchemy_url)
    target = RedisTarget.from_settings(settings, url)
    rt = cast(
        Runtime,
        SimpleNamespace(redis_url=url, redis_target=target, settings=settings, engine=engine),
    )
    try:
        assert (await check_redis(rt)).startswith("error:")
        found = await problems(rt)
    finally:
        await engine.dispose()
    assert found and "senha-do-redis" not in " ".join(found) and "redis://:***@" in found[0]


def test_thousands_of_remembered_secrets_are_still_all_masked() -> None:
    values = [f"segredo-{n:05d}-x" for n in range(1_500)]
    redaction.remember(*values)
    assert redaction._by_prefix is not None  # the indexed path, not the alternation
    text = f"a {values[7]} b {values[1_499]}c {values[0][:-1]}"
    assert redaction.mask_text(text) == f"a *** b ***c {values[0][:-1]}"
