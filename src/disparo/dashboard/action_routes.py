"""The confirmation page of an action and the POST that runs it."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from disparo.audit import Actor, audited
from disparo.dashboard import actions, auth
from disparo.dashboard.notices import refused
from disparo.dashboard.pages import ConfirmDep, OperatorDep, find_campaign, render, runtime_of
from disparo.dashboard.views import campaign_view
from disparo.db.base import utcnow
from disparo.errors import DisparoError
from disparo.security import client_address

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/dashboard", include_in_schema=False)


class UnknownAction(Exception):
    pass


@router.get("/campaigns/{key}/confirm/{name}")
async def confirm_page(request: Request, key: str, name: str, session: ConfirmDep) -> Response:
    campaign = await find_campaign(request, key)
    action = _action(name)
    preview = await actions.preview(runtime_of(request), campaign)
    return render(
        request,
        "confirm.html",
        session,
        campaign=campaign_view(campaign, utcnow()),
        action=action,
        possible=action.available(preview),
        text=action.describe(preview),
    )


@router.post("/campaigns/{key}/{name}")
async def run_action(request: Request, key: str, name: str, session: OperatorDep) -> Response:
    form = await auth.read_form(request)
    auth.check_csrf(session, form.get("csrf_token", ""))
    campaign = await find_campaign(request, key)
    action = _action(name)
    rt = runtime_of(request)
    actor = Actor(session.key_name, "dashboard", client_address(request))
    try:
        async with audited(rt, actor, name, str(campaign.id)) as audit:
            done = await action.run(rt, str(campaign.id))
            audit.done(done.batches, done.recipients, done.message)
    except DisparoError as exc:  # e.g. the campaign finished meanwhile (Conflict)
        outcome = refused(action.label, exc)
    else:
        outcome = done.message
        log.info("dashboard.action", action=name, campaign_id=str(campaign.id), outcome=outcome)
    response = RedirectResponse(f"/dashboard/campaigns/{campaign.id}", status_code=303)
    auth.set_flash(request, response, outcome)
    return response


def _action(name: str) -> actions.Action:
    action = actions.ACTIONS.get(name)
    if action is None:
        raise UnknownAction(name)
    return action
