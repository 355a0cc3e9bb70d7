"""Adding, removing and listing suppressions. The caller owns the transaction (the request,
the CLI command, the MO callback); nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.audit.service import Actor, new_event
from disparo.db.base import utcnow
from disparo.errors import BadRequest, NotFound
from disparo.phones import normalize_phone
from disparo.suppressions.models import Suppression, SuppressionSource
from disparo.suppressions.replies import is_opt_out, opt_out_words

log = structlog.get_logger(__name__)
REASON_LIMIT = 500
REPLY_ACTOR = Actor("reply", "provider")


@dataclass(frozen=True, slots=True)
class NewSuppression:
    phone: str  # normalised
    source: SuppressionSource
    actor: str
    reason: str | None = None
    cpf_cnpj: str | None = None


def phone_or_error(raw: str) -> str:
    """The normalised phone, or a 400 that says what a valid one looks like."""
    phone = normalize_phone(raw.strip())
    if phone is None:
        raise BadRequest(
            f"Telefone inválido: {raw[:40]!r} (esperado DDD + número, com ou sem 55)",
            details=[{"field": "phone", "message": "telefone inválido"}],
        )
    return phone


def insert_ignoring_duplicates(session: AsyncSession) -> postgresql.Insert | sqlite.Insert:
    """INSERT INTO suppressions ... ON CONFLICT DO NOTHING, in the session's dialect: a phone
    already listed keeps its first entry (its source and reason say why it was added)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(Suppression).on_conflict_do_nothing(index_elements=["phone"])
    return sqlite.insert(Suppression).on_conflict_do_nothing(index_elements=["phone"])


async def add(session: AsyncSession, entry: NewSuppression) -> bool:
    """True when the phone was added, False when it already was on the list."""
    values = {
        "phone": entry.phone,
        "cpf_cnpj": (entry.cpf_cnpj or "").strip()[:32] or None,
        "source": entry.source.value,
        "reason": (entry.reason or "").strip()[:REASON_LIMIT] or None,
        "actor": entry.actor[:64],
        "created_at": utcnow(),
    }
    result = await session.execute(
        insert_ignoring_duplicates(session).values(values).returning(Suppression.id)
    )
    return result.scalar() is not None


async def remove(session: AsyncSession, raw_phone: str) -> None:
    """Take a phone off the list (NotFound when it is not on it)."""
    phone = phone_or_error(raw_phone)
    removed = await session.scalar(
        delete(Suppression).where(Suppression.phone == phone).returning(Suppression.id)
    )
    if removed is None:
        raise NotFound(f"O telefone {phone} não está na lista de supressão")


async def find(session: AsyncSession, raw_phone: str) -> Suppression | None:
    phone = phone_or_error(raw_phone)
    return await session.scalar(select(Suppression).where(Suppression.phone == phone))


async def page(
    session: AsyncSession, *, phone: str | None, before: int | None, limit: int
) -> tuple[list[Suppression], int]:
    """Newest first, keyset-paged by id (`before` = the last id of the previous page).
    `phone` is a normalised phone, or the first digits of one."""
    where = []
    if phone:
        normalised = normalize_phone(phone)
        digits = "".join(c for c in phone if c.isdigit())
        if normalised:
            where.append(Suppression.phone == normalised)
        elif digits:
            where.append(Suppression.phone.startswith(digits, autoescape=True))
        else:
            raise BadRequest("Filtro de telefone sem dígitos")
    query = select(Suppression).where(*where)
    if before:
        query = query.where(Suppression.id < before)
    rows = list(await session.scalars(query.order_by(Suppression.id.desc()).limit(limit)))
    total = await session.scalar(select(func.count()).select_from(Suppression).where(*where))
    return rows, int(total or 0)


async def opt_out_from_reply(
    session: AsyncSession,
    phone: str,
    text: str,
    *,
    words: Iterable[str],
    source: SuppressionSource = SuppressionSource.REPLY,
    actor: str = "reply",
) -> bool:
    """The seam for the providers' MO (reply) callbacks: when `text` is an opt-out word
    (`words`: the setting DISPARO_OPT_OUT_WORDS, i.e. `rt.settings.opt_out_words`), add the
    phone with the reply as its reason, audited in the same transaction. True when the phone
    was added now; False for any other reply, an unusable phone or one already listed."""
    normalised = normalize_phone(phone)
    if normalised is None or not is_opt_out(text, opt_out_words(words)):
        return False
    entry = NewSuppression(normalised, source, actor, reason=text.strip())
    added = await add(session, entry)
    if added:
        who = Actor(actor[:64], REPLY_ACTOR.via)
        session.add(new_event(who, "opt-out-reply", normalised, detail=text.strip()))
        log.info("suppression.opt_out_reply", source=source.value)
    return added
