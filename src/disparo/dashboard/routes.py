"""Dashboard pages (server-rendered) and the JSON their script polls for live updates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from disparo.campaigns import deadletters, repository
from disparo.campaigns.models import Campaign, CampaignStatus, MessageStatus
from disparo.dashboard import actions, auth, queries
from disparo.dashboard.views import batch_view, campaign_view, duration, when
from disparo.db.base import utcnow
from disparo.errors import DisparoError
from disparo.metrics.state import queue_counts
from disparo.runtime import Runtime

log = structlog.get_logger(__name__)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(prefix="/dashboard", include_in_schema=False)
SessionDep = Annotated[auth.Session, Depends(auth.current_session)]
# Page links carry the last id / batch number seen; bounded so the database never overflows.
RowCursor = Annotated[int, Query(ge=0, le=2**63 - 1)]
BatchCursor = Annotated[int, Query(ge=-1, le=2**31 - 1)]


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _page(
    request: Request,
    name: str,
    session: auth.Session | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    context |= {"session": session, "nav": name.split(".")[0]}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _enum(kind: type[CampaignStatus] | type[MessageStatus], raw: str | None) -> Any:
    """A filter from the query string; None for 'all' or a value we do not know."""
    if not raw:
        return None
    try:
        return kind(raw.upper())
    except ValueError:
        return None


# --- sign-in ---------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    # Only our own pages: never an open redirect to somewhere else.
    if target and target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return "/dashboard"


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, next, error=None, status=200)


def _login_page(
    request: Request, target: str | None, error: str | None, status: int
) -> HTMLResponse:
    token, cookie = auth.new_login_token(request)
    response = _page(
        request, "login.html", None, status, next=_safe_next(target), error=error, csrf=token
    )
    auth.set_login_cookie(request, response, cookie)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await auth.read_form(request)
    try:
        auth.check_login_token(request, form.get("csrf_token", ""))
    except auth.CsrfRejected:
        error = "The sign-in form expired. Please try again."
        return _login_page(request, form.get("next"), error, 400)
    if not auth.key_accepted(request, form.get("api_key", "")):
        return _login_page(request, form.get("next"), "That API key is not accepted.", 401)
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    auth.start_session(request, response, form["api_key"].strip())
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    form = await auth.read_form(request)
    auth.check_csrf(session, form.get("csrf_token", ""))
    response = RedirectResponse("/dashboard/login", status_code=303)
    auth.end_session(response)
    return response


# --- campaigns -------------------------------------------------------------------------


async def _campaign_list(
    request: Request, status: str | None, provider: str | None, before: str | None
) -> dict[str, Any]:
    where = queries.CampaignFilter(_enum(CampaignStatus, status), (provider or "").upper() or None)
    notice = None
    cursor = None
    if before:
        try:
            cursor = queries.CampaignCursor.decode(before)
        except ValueError:
            notice = "That page link is not valid any more: showing the newest campaigns."
    now = utcnow()
    async with _rt(request).sessions() as session:
        rows, next_cursor = await queries.campaign_page(session, where, cursor)
        counts = await queries.status_counts(session, where.provider)
        known_providers = await queries.providers(session)
    return {
        "items": [campaign_view(campaign, now) for campaign in rows],
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
    session: SessionDep,
    status: str | None = None,
    provider: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    data = await _campaign_list(request, status, provider, before)
    return _page(
        request, "campaigns.html", session, statuses=[s.value for s in CampaignStatus], **data
    )


@router.get("/api/campaigns")
async def campaigns_json(
    request: Request,
    _: SessionDep,
    status: str | None = None,
    provider: str | None = None,
    before: str | None = None,
) -> JSONResponse:
    return JSONResponse(await _campaign_list(request, status, provider, before))


async def _find(request: Request, key: str) -> Campaign:
    async with _rt(request).sessions() as session:
        campaign = await repository.find_campaign(session, key)
    if campaign is None:
        raise CampaignNotFound(key)
    return campaign


class CampaignNotFound(Exception):
    pass


async def _campaign_live(
    request: Request, campaign: Campaign, batches_after: int
) -> dict[str, Any]:
    async with _rt(request).sessions() as session:
        batches, next_batch = await queries.send_batches(session, campaign.id, batches_after)
        batch_counts = await queries.batch_status_counts(session, campaign.id)
    return {
        "campaign": campaign_view(campaign, utcnow()),
        "batches": [batch_view(batch) for batch in batches],
        "next_batch": next_batch,
        "batch_counts": batch_counts,
    }


@router.get("/campaigns/{key}")
async def campaign_page(
    request: Request,
    key: str,
    session: SessionDep,
    recipients: str | None = None,
    after: RowCursor = 0,
    batches_after: BatchCursor = -1,
) -> HTMLResponse:
    campaign = await _find(request, key)
    live = await _campaign_live(request, campaign, batches_after)
    status = _enum(MessageStatus, recipients)
    async with _rt(request).sessions() as db:
        people = await repository.list_messages(
            db, campaign.id, status=status, after=after, limit=queries.PAGE
        )
        errors = await queries.error_groups(db, campaign.id)
        attempts = await queries.attempt_histories(db, [b["id"] for b in live["batches"]])
        steps = await queries.second_steps(db, campaign.id)
        hooks = await queries.webhooks(db, campaign.id)
    preview = await actions.preview(_rt(request), campaign)
    response = _page(
        request,
        "campaign.html",
        session,
        **live,
        paused=campaign.paused_at is not None,
        actions=[a for a in actions.ACTIONS.values() if a.available(preview)],
        flash=auth.take_flash(request),
        attempts=attempts,
        recipients=people,
        recipients_status=status.value if status else "",
        recipients_after=after,
        recipients_next=people[-1].id if len(people) == queries.PAGE else None,
        message_statuses=[s.value for s in MessageStatus],
        errors=errors,
        steps=[batch_view(step) for step in steps],
        webhooks=hooks,
        batches_after=batches_after,
        when=when,
    )
    auth.clear_flash(response)
    return response


@router.get("/campaigns/{key}/confirm/{name}")
async def confirm_page(request: Request, key: str, name: str, session: SessionDep) -> Response:
    campaign = await _find(request, key)
    action = _action(name)
    preview = await actions.preview(_rt(request), campaign)
    return _page(
        request,
        "confirm.html",
        session,
        campaign=campaign_view(campaign, utcnow()),
        action=action,
        possible=action.available(preview),
        text=action.describe(preview),
    )


@router.post("/campaigns/{key}/{name}")
async def run_action(request: Request, key: str, name: str, session: SessionDep) -> Response:
    form = await auth.read_form(request)
    auth.check_csrf(session, form.get("csrf_token", ""))
    campaign = await _find(request, key)
    action = _action(name)
    try:
        outcome = await action.run(_rt(request), str(campaign.id))
    except DisparoError as exc:  # e.g. the campaign finished meanwhile (Conflict)
        outcome = f"{action.label}: not done. {exc.message}"
    else:
        log.info("dashboard.action", action=name, campaign_id=str(campaign.id), outcome=outcome)
    response = RedirectResponse(f"/dashboard/campaigns/{campaign.id}", status_code=303)
    auth.set_flash(request, response, outcome)
    return response


def _action(name: str) -> actions.Action:
    action = actions.ACTIONS.get(name)
    if action is None:
        raise UnknownAction(name)
    return action


class UnknownAction(Exception):
    pass


@router.get("/api/campaigns/{key}")
async def campaign_json(
    request: Request, key: str, _: SessionDep, batches_after: BatchCursor = -1
) -> JSONResponse:
    campaign = await _find(request, key)
    return JSONResponse(await _campaign_live(request, campaign, batches_after))


# --- queues ----------------------------------------------------------------------------


async def _queues(request: Request) -> dict[str, Any]:
    rt = _rt(request)
    async with rt.sessions() as session:
        pending, oldest = await queries.outbox_summary(session)
    age = duration((utcnow() - oldest).total_seconds()) if oldest else "–"
    return {
        "queues": await queue_counts(rt.queues),
        "outbox_pending": pending,
        "outbox_age": age,
        "dead_letters": await deadletters.count_dead_letters(rt),
    }


@router.get("/queues")
async def queues_page(request: Request, session: SessionDep) -> HTMLResponse:
    return _page(request, "queues.html", session, **await _queues(request))


@router.get("/api/queues")
async def queues_json(request: Request, _: SessionDep) -> JSONResponse:
    return JSONResponse(await _queues(request))
