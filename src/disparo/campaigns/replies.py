"""Recipients' replies (Ótima's url_callback_mo): stored once each, tied to the recipient
of their phone, then read for opt-outs (`after_replies_stored`): a reply that is an opt-out
word ("Parar", "SAIR", …) puts its phone on the suppression list, in the same transaction
that stored it, so no later campaign reaches that phone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from disparo.campaigns.deliveries import Reply
from disparo.campaigns.models import Campaign, CampaignMessage, CampaignReply
from disparo.suppressions.service import opt_out_from_reply


async def after_replies_stored(
    session: AsyncSession, replies: Sequence[Reply], opt_out_words: Sequence[str] = ()
) -> None:
    """Called once per flush with the replies just inserted (not yet committed), repeats
    left out: each opt-out word suppresses its phone (audited, the reply as the reason)."""
    if not opt_out_words:
        return
    for reply in replies:
        await opt_out_from_reply(session, reply.phone, reply.text, words=opt_out_words)


async def store_replies(
    session: AsyncSession, replies: Sequence[Reply], *, opt_out_words: Sequence[str] = ()
) -> None:
    new = await _not_stored_yet(session, replies)
    if not new:
        return
    recipients = await _recipients_of(session, new)
    rows = [
        {
            "campaign_id": r.campaign_id,
            "message_id": recipients.get((r.campaign_id, r.phone)),
            "phone": r.phone,
            "text": r.text,
            "received_at": r.received_at,
            "dedupe_key": r.key,
        }
        for r in new
    ]
    await session.execute(insert(CampaignReply), rows)
    await after_replies_stored(session, new, opt_out_words)


async def _not_stored_yet(session: AsyncSession, replies: Sequence[Reply]) -> list[Reply]:
    """One of each, none already stored, none of a campaign that no longer exists (its
    token still checks out: answered 200, kept nowhere). Two flushes storing the same new
    reply at once: the unique key fails the later one, whose callbacks are resent."""
    unique = list({r.key: r for r in replies}.values())
    existing = set(
        await session.scalars(
            select(Campaign.id).where(Campaign.id.in_({r.campaign_id for r in unique}))
        )
    )
    unique = [r for r in unique if r.campaign_id in existing]
    if not unique:
        return []
    stored = set(
        await session.scalars(
            select(CampaignReply.dedupe_key).where(
                CampaignReply.dedupe_key.in_([r.key for r in unique])
            )
        )
    )
    return [r for r in unique if r.key not in stored]


async def _recipients_of(
    session: AsyncSession, replies: Sequence[Reply]
) -> dict[tuple[uuid.UUID, str], int]:
    found: dict[tuple[uuid.UUID, str], int] = {}
    for campaign_id in {r.campaign_id for r in replies}:
        phones = {r.phone for r in replies if r.campaign_id == campaign_id}
        rows = await session.execute(
            select(CampaignMessage.id, CampaignMessage.phone).where(
                CampaignMessage.campaign_id == campaign_id, CampaignMessage.phone.in_(phones)
            )
        )
        found.update({(campaign_id, phone): id_ for id_, phone in rows})
    return found
