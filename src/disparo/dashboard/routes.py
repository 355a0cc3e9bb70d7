"""The campaign list, a campaign, the queues (server-rendered), and the JSON their script
polls for live updates."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from disparo.apikeys import Scope
from disparo.audit import list_events
from disparo.campaigns import deadletters, provider_controls, repository
from disparo.campaigns.batch_queries import attempt_histories
from disparo.campaigns.models import TERMINAL_CAMPAIGN, Campaign, CampaignStatus, MessageStatus
from disparo.campaigns.windows import WindowHold, campaign_hold
from disparo.dashboard import actions, auth, queries
from disparo.dashboard.pages import (
    ReaderDep,
    campaign_row_html,
    find_campaign,
    render,
    runtime_of,
)
from disparo.dashboard.views import batch_view, campaign_view, duration, when
from disparo.db.base import utcnow
from disparo.observe.state import queue_counts
from disparo.wordpress.webhooks import outbox_backlog

router = APIRouter(prefix="/dashboard", include_in_schema=False)
# Page links carry the last id / batch number seen; bounded so the database never overflows.
RowCursor = Annotated[int, Query(ge=0, le=2**63 - 1)]
BatchCursor = Annotated[int, Query(ge=-1, le=2**31 - 1)]
PROVIDER_CODE = re.compile(r"^[A-Z0-9_]{1,32}$")


def _enum(kind: type[CampaignStatus] | type[MessageStatus], raw: str | None) -> Any:
    """A filter from the query string; None for 'all' or a value we do not know."""
    if not raw:
        return None
    try:
        return kind(raw.upper())
    except ValueError:
        return None


def _provider(raw: str | None) -> str | None:
    """A provider code from the query string; None for 'all' or something no code looks
    like (a NUL byte would not even reach the database)."""
    code = (raw or "").strip().upper()
    return code if PROVIDER_CODE.match(code) else None


# --- campaigns -------------------------------------------------------------------------


async def _campaign_list(
    request: Request, status: str | None, provider: str | None, before: str | None
) -> dict[str, Any]:
    where = queries.CampaignFilter(_enum(CampaignStatus, status), _provider(provider))
    notice = None
    cursor = None
    if before:
        try:
            cursor = queries.CampaignCursor.decode(before)
        except ValueError:
            notice = "That page link is not valid any more: showing the newest campaigns."
    now = utcnow()
    async with runtime_of(request).sessions() as session:
        rows, next_cursor = await queries.campaign_page(session, where, cursor)
        counts = await queries.status_counts(session, where.provider)
        known_providers = await queries.providers(session)
        recent = await queries.sent_last_minute(session, [c.id for c in rows], now)
    return {
        "items": [_view(request, campaign, now, recent) for campaign in rows],
        "next": next_cursor.encode() if next_cursor else None,
        "counts": counts,
        "total": sum(counts.values()),
        "providers": known_providers,
        "status": where.status.value if where.status else "",
        "provider": where.provider or "",
        "first_page": cursor is None,
        "notice": notice,
    }


@router.get("")
async def campaigns_page(
    request: Request,
    session: ReaderDep,
    status: str | None = None,
    provider: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    data = await _campaign_list(request, status, provider, before)
    return render(
        request, "campaigns.html", session, statuses=[s.value for s in CampaignStatus], **data
    )


@router.get("/api/campaigns")
async def campaigns_json(
    request: Request,
    _: ReaderDep,
    status: str | None = None,
    provider: str | None = None,
    before: str | None = None,
) -> JSONResponse:
    data = await _campaign_list(request, status, provider, before)
    # The row as the page renders it: the script adds a new campaign without a copy of the
    # markup of its own that could drift from the page's.
    for item in data["items"]:
        item["html"] = campaign_row_html(item)
    return JSONResponse(data)


def _view(
    request: Request, campaign: Campaign, now: datetime, recent: dict[uuid.UUID, int]
) -> dict[str, Any]:
    hold = _hold(request, campaign, now)
    return campaign_view(campaign, now, hold, recent.get(campaign.id, 0))


def _hold(request: Request, campaign: Campaign, now: datetime) -> WindowHold | None:
    rt = runtime_of(request)
    return campaign_hold(rt.settings, rt.providers, campaign, now)


async def _campaign_live(
    request: Request, campaign: Campaign, batches_after: int
) -> dict[str, Any]:
    now = utcnow()
    async with runtime_of(request).sessions() as session:
        batches, next_batch = await queries.send_batches(session, campaign.id, batches_after)
        batch_counts = await queries.batch_status_counts(session, campaign.id)
        recent = await queries.sent_last_minute(session, [campaign.id], now)
    return {
        "campaign": _view(request, campaign, now, recent),
        "batches": [batch_view(batch) for batch in batches],
        "next_batch": next_batch,
        "batch_counts": batch_counts,
    }


@router.get("/campaigns/{key}")
async def campaign_page(
    request: Request,
    key: str,
    session: ReaderDep,
    recipients: str | None = None,
    after: RowCursor = 0,
    batches_after: BatchCursor = -1,
) -> HTMLResponse:
    campaign = await find_campaign(request, key)
    live = await _campaign_live(request, campaign, batches_after)
    status = _enum(MessageStatus, recipients)
    async with runtime_of(request).sessions() as db:
        people = await repository.list_messages(
            db, campaign.id, status=status, after=after, limit=queries.PAGE
        )
        errors = await queries.error_groups(db, campaign.id)
        attempts = await attempt_histories(db, [b["id"] for b in live["batches"]])
        steps = await queries.second_steps(db, campaign.id)
        hooks = await queries.webhooks(db, campaign.id)
        deliveries = await repository.delivery_counts(db, campaign.id)
        waiting = await provider_controls.waiting_for(db, campaign.id)
    preview = await actions.preview(runtime_of(request), campaign)
    response = render(
        request,
        "campaign.html",
        session,
        **live,
        paused=campaign.paused_at is not None,
        actions=_offered(session, preview),
        flash=auth.take_flash(request),
        waiting_for=waiting if campaign.status not in TERMINAL_CAMPAIGN else None,
        attempts=attempts,
        recipients=people,
        recipients_status=status.value if status else "",
        recipients_after=after,
        recipients_next=people[-1].id if len(people) == queries.PAGE else None,
        message_statuses=[s.value for s in MessageStatus],
        errors=errors,
        steps=[batch_view(step) for step in steps],
        webhooks=hooks,
        deliveries=deliveries,
        dead_letters=preview.dead_letters.batches,
        batches_after=batches_after,
        when=when,
    )
    auth.clear_flash(response)
    return response


def _offered(session: auth.Session, preview: actions.Preview) -> list[actions.Action]:
    """The actions this campaign allows, none for a key without `operate` (they would 403)."""
    if not session.allows(Scope.OPERATE):
        return []
    return [a for a in actions.ACTIONS.values() if a.available(preview)]


@router.get("/api/campaigns/{key}")
async def campaign_json(
    request: Request, key: str, _: ReaderDep, batches_after: BatchCursor = -1
) -> JSONResponse:
    campaign = await find_campaign(request, key)
    return JSONResponse(await _campaign_live(request, campaign, batches_after))


# --- queues ----------------------------------------------------------------------------


async def _queues(request: Request) -> dict[str, Any]:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        pending, oldest = await outbox_backlog(session)
    age = duration((utcnow() - oldest).total_seconds()) if oldest else "–"
    return {
        "queues": await queue_counts(rt.queues),
        "outbox_pending": pending,
        "outbox_age": age,
        "dead_letters": await deadletters.count_dead_letters(rt),
    }


@router.get("/queues")
async def queues_page(request: Request, session: ReaderDep) -> HTMLResponse:
    return render(request, "queues.html", session, **await _queues(request))


@router.get("/api/queues")
async def queues_json(request: Request, _: ReaderDep) -> JSONResponse:
    return JSONResponse(await _queues(request))


# --- audit -----------------------------------------------------------------------------


@router.get("/audit")
async def audit_page(
    request: Request,
    session: ReaderDep,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> HTMLResponse:
    """Operator actions and sign-ins, newest first (the same rows as GET /audit)."""
    rows, total = await list_events(
        runtime_of(request), action=None, actor=None, before=before, limit=queries.PAGE
    )
    next_before = rows[-1].id if len(rows) == queries.PAGE else None
    return render(
        request, "audit.html", session, events=rows, total=total, next_before=next_before, when=when
    )
