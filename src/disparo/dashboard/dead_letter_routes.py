"""The Dead letters page (FAILED and UNKNOWN batches across campaigns, filtered, paged),
the confirmation of a bulk redrive, and the POST that runs it (CSRF, `operate`, audited:
the checks of a campaign page's actions)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from disparo.apikeys import Scope
from disparo.audit import Actor, audited
from disparo.campaigns import repository
from disparo.campaigns.models import BatchStatus
from disparo.dashboard import auth, bulk_redrive
from disparo.dashboard import dead_letter_queries as q
from disparo.dashboard.notices import refused
from disparo.dashboard.pages import ConfirmDep, OperatorDep, ReaderDep, render, runtime_of
from disparo.dashboard.routes import PROVIDER_CODE
from disparo.db.base import utcnow
from disparo.errors import DisparoError
from disparo.security import client_address

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/dashboard", include_in_schema=False)
PAGE_URL = "/dashboard/dead-letters"
FIELDS = ("provider", "campaign", "status", "error", "age")
Ids = Annotated[list[int], Query(max_length=bulk_redrive.MAX_BULK)]


@dataclass(frozen=True, slots=True)
class Filters:
    """The page's filters as typed (for the form and the links) and as a query."""

    given: dict[str, str]
    where: q.ProblemFilter | None  # None: the campaign named matches none
    notice: str | None = None

    @property
    def query(self) -> str:
        return urlencode({k: v for k, v in self.given.items() if v})


async def _filters(request: Request, raw: dict[str, str]) -> Filters:
    given = {name: (raw.get(name) or "").strip()[:100] for name in FIELDS}
    provider = given["provider"].upper()
    status = given["status"].upper()
    where = q.ProblemFilter(
        provider=provider if PROVIDER_CODE.match(provider) else None,
        status=BatchStatus(status) if status in {s.value for s in q.STATUSES} else None,
        error=given["error"] or None,
        age=given["age"] if given["age"] in q.AGES else None,
    )
    if not given["campaign"]:
        return Filters(given, where)
    async with runtime_of(request).sessions() as session:
        campaign = await repository.find_campaign(session, given["campaign"])
    if campaign is None:
        return Filters(
            given, None, f"No campaign has the id or agendamento_id {given['campaign']}."
        )
    return Filters(given, dataclasses.replace(where, campaign_id=campaign.id))


@router.get("/dead-letters")
async def dead_letters_page(
    request: Request,
    session: ReaderDep,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> HTMLResponse:
    filters = await _filters(request, dict(request.query_params))
    now = utcnow()
    rows: list[q.Problem] = []
    next_before, counts = None, {}
    if filters.where is not None:
        async with runtime_of(request).sessions() as db:
            rows, next_before = await q.problem_page(db, filters.where, now, before)
            counts = await q.tally(db, filters.where, now)
    response = render(
        request,
        "dead_letters.html",
        session,
        rows=rows,
        counts=counts,
        total=sum(t.batches for t in counts.values()),
        filters=filters,
        statuses=[s.value for s in q.STATUSES],
        ages={key: label for key, (label, _, _) in q.AGES.items()},
        next_before=next_before,
        first_page=before is None,
        can_operate=session.allows(Scope.OPERATE),
        most=bulk_redrive.MAX_BULK,
        flash=auth.take_flash(request) or filters.notice,
    )
    auth.clear_flash(response)
    return response


@router.get("/dead-letters/confirm")
async def confirm_bulk(
    request: Request,
    session: ConfirmDep,
    ids: Ids = [],  # noqa: B006 (FastAPI copies a default, never shares it)
    picked: str = "",
) -> Response:
    """What the submission will act on, in numbers, before it does. `picked`: the "Redrive
    ticked" button, which with nothing ticked must not mean "all"."""
    filters = await _filters(request, dict(request.query_params))
    chosen = None
    if filters.where is not None and (ids or not picked):
        chosen = await bulk_redrive.preview(runtime_of(request), filters.where, ids, utcnow())
    return render(
        request,
        "dead_letters_confirm.html",
        session,
        filters=filters,
        preview=chosen,
        text=bulk_redrive.describe(chosen) if chosen and chosen.batches else "",
        ids=",".join(str(p.batch.id) for p in chosen.chosen) if chosen and ids else "",
        most=bulk_redrive.MAX_BULK,
    )


@router.post("/dead-letters/redrive")
async def run_bulk(request: Request, session: OperatorDep) -> Response:
    form = await auth.read_form(request)
    auth.check_csrf(session, form.get("csrf_token", ""))
    filters = await _filters(request, form)
    ids = _ids(form.get("ids", ""))
    rt = runtime_of(request)
    actor = Actor(session.key_name, "dashboard", client_address(request))
    outcome = "Nothing was sent again: no batch matches."
    try:
        async with audited(rt, actor, "redrive-bulk", _target(filters, ids)) as audit:
            if filters.where is not None:
                chosen = await bulk_redrive.chosen(rt, filters.where, ids, utcnow())
                done = await bulk_redrive.run(rt, chosen)
                outcome = done.message
                audit.done(done.batches, done.recipients, done.message)
    except DisparoError as exc:
        outcome = refused("Redrive", exc)
    log.info("dashboard.bulk_redrive", filters=filters.query, ids=len(ids), outcome=outcome)
    response = RedirectResponse(f"{PAGE_URL}?{filters.query}", status_code=303)
    auth.set_flash(request, response, outcome)
    return response


def _ids(raw: str) -> list[int]:
    """The ticked batch ids the confirmation page carried ("12,15,19"), at most MAX_BULK."""
    found = [int(part) for part in raw.split(",") if part.strip().isdigit()]
    return [i for i in found if i < 2**63][: bulk_redrive.MAX_BULK]


def _target(filters: Filters, ids: list[int]) -> str:
    """The audit log's target: the filter, and how many batches were ticked."""
    picked = f"{len(ids)} ticked" if ids else "all matching"
    return f"dead letters ({picked}; {filters.query or 'no filter'})"[:200]
