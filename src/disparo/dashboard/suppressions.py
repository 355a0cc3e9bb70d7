"""The suppression list page: newest entries, a phone filter, add and remove (CSRF-checked,
audited, through the same service functions as the API and the CLI)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from disparo.apikeys import Scope
from disparo.audit import Actor, Audited, audited
from disparo.dashboard import auth, queries
from disparo.dashboard.notices import refused
from disparo.dashboard.pages import OperatorDep, ReaderDep, render, runtime_of
from disparo.dashboard.views import when
from disparo.errors import BadRequest, DisparoError, NotFound
from disparo.security import client_address
from disparo.suppressions import service
from disparo.suppressions.models import SuppressionSource

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PAGE_URL = "/dashboard/suppressions"
# A change to make under the audit: it fills in the event and returns the sentence to show.
Work = Callable[[Audited], Awaitable[str]]
PhoneQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[0-9 ()+.\-]*$")]


@router.get("/suppressions")
async def suppressions_page(
    request: Request,
    session: ReaderDep,
    phone: PhoneQuery = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    rt = runtime_of(request)
    notice = None
    try:
        async with rt.sessions() as db:
            rows, total = await service.page(
                db, phone=phone or None, before=before, limit=queries.PAGE
            )
    except DisparoError:  # the only refusal of a page read: a filter with no digits
        rows, total, notice = [], 0, "A phone filter needs digits: nothing matched."
    response = render(
        request,
        "suppressions.html",
        session,
        entries=rows,
        total=total,
        phone=phone or "",
        next_before=rows[-1].id if len(rows) == queries.PAGE else None,
        flash=auth.take_flash(request) or notice,
        may_operate=session.allows(Scope.OPERATE),
        when=when,
    )
    auth.clear_flash(response)
    return response


@router.post("/suppressions")
async def add_suppression(request: Request, session: OperatorDep) -> Response:
    form = await auth.read_form(request)
    auth.check_csrf(session, form.get("csrf_token", ""))
    raw, reason = form.get("phone", "")[:40], form.get("reason", "")[:500]

    async def add(audit: Audited) -> str:
        phone = service.phone_or_error(raw)
        entry = service.NewSuppression(
            phone, SuppressionSource.OPERATOR, session.key_name, reason or None
        )
        async with runtime_of(request).sessions() as db, db.begin():
            added = await service.add(db, entry)
        audit.done(0, int(added), "added" if added else "already listed", target=phone)
        return f"{phone} added to the list." if added else f"{phone} was already on the list."

    return await _act(request, session, "suppress", raw, add)


@router.post("/suppressions/{phone}/remove")
async def remove_suppression(request: Request, phone: str, session: OperatorDep) -> Response:
    form = await auth.read_form(request)
    auth.check_csrf(session, form.get("csrf_token", ""))

    async def remove(audit: Audited) -> str:
        async with runtime_of(request).sessions() as db, db.begin():
            await service.remove(db, phone)
        audit.done(0, 1, "removed", target=service.phone_or_error(phone))
        return f"{service.phone_or_error(phone)} removed from the list."

    return await _act(request, session, "unsuppress", phone[:40], remove)


_LABELS = {"suppress": "Add", "unsuppress": "Remove"}
_REASONS: dict[type[DisparoError], str] = {
    BadRequest: "that is not a phone number we could send to",
    NotFound: "that phone is not on the list",
}


async def _act(
    request: Request, session: auth.Session, action: str, target: str, work: Work
) -> Response:
    """Run the change audited; the page shows what happened (or why not) after the redirect."""
    actor = Actor(session.key_name, "dashboard", client_address(request))
    try:
        async with audited(runtime_of(request), actor, action, target) as audit:
            outcome = await work(audit)
    except DisparoError as exc:
        outcome = refused(_LABELS.get(action, action), exc, _REASONS)
    response = RedirectResponse(PAGE_URL, status_code=303)
    auth.set_flash(request, response, outcome)
    return response
