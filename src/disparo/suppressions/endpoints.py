"""GET/POST/DELETE /suppressions, the CSV import and the export. Thin: the work is in
service.py, csvimport.py and export.py (the CLI and the dashboard call the same), and every
change is audited with the caller's key name."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.convertors import StringConvertor, register_url_convertor

from disparo.api.deps import MAX_BIGINT, RuntimeDep
from disparo.apikeys import Scope
from disparo.apischema import AUTH_ERRORS, body_schema, errors, parse_body
from disparo.audit.endpoints import record_action
from disparo.security import RequireScope, actor_of
from disparo.suppressions import service
from disparo.suppressions.csvimport import import_csv, non_empty
from disparo.suppressions.export import export_csv
from disparo.suppressions.models import SuppressionSource
from disparo.suppressions.schemas import (
    PHONE_FILTER_PATTERN,
    PHONE_PATTERN,
    PHONE_REGEX,
    AddedOut,
    ImportOut,
    SuppressionIn,
    SuppressionOut,
    SuppressionPage,
)

router = APIRouter(tags=["suppressions"], responses=errors(*AUTH_ERRORS))


class PhoneConvertor(StringConvertor):
    """`{phone:phone}` matches only what could be a phone: /suppressions/export is never
    taken for one, so DELETE on it is a 405, not a 400 about its phone."""

    regex = PHONE_REGEX


register_url_convertor("phone", PhoneConvertor())

READ = [Depends(RequireScope(Scope.READ))]
OPERATE = [Depends(RequireScope(Scope.OPERATE))]
IMPORT_PATH = "/suppressions/import"
PhoneFilter = Annotated[
    str | None, Query(min_length=1, max_length=40, pattern=PHONE_FILTER_PATTERN)
]


@router.get("/suppressions", response_model=SuppressionPage, dependencies=READ)
async def list_suppressions(
    rt: RuntimeDep,
    phone: PhoneFilter = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SuppressionPage:
    """Newest first. `phone`: a phone (any format) or its first digits. Page with `before` =
    `next_before` of the previous page."""
    async with rt.sessions() as session:
        rows, total = await service.page(session, phone=phone, before=before, limit=limit)
    return SuppressionPage(
        items=[SuppressionOut.model_validate(row) for row in rows],
        total=total,
        next_before=rows[-1].id if len(rows) == limit else None,
    )


@router.post(
    "/suppressions",
    response_model=AddedOut,
    status_code=201,
    dependencies=OPERATE,
    responses={200: {"model": AddedOut, "description": "Already on the list"}},
    openapi_extra=body_schema(SuppressionIn.model_json_schema(), required=True),
)
async def add_suppression(request: Request, rt: RuntimeDep, response: Response) -> AddedOut:
    """Add one phone (source `operator`). 201 when added, 200 when it already was listed."""
    body = await parse_body(request, SuppressionIn)
    assert body is not None
    async with record_action(request, "suppress", body.phone) as audit:
        phone = service.phone_or_error(body.phone)
        entry = service.NewSuppression(
            phone, SuppressionSource.OPERATOR, actor_of(request), body.reason, body.cpf_cnpj
        )
        async with rt.sessions() as session, session.begin():
            added = await service.add(session, entry)
            row = await service.find(session, phone)
        audit.done(0, 1 if added else 0, "added" if added else "already listed", target=phone)
    assert row is not None
    response.status_code = 201 if added else 200
    return AddedOut(added=added, suppression=SuppressionOut.model_validate(row))


@router.delete(
    "/suppressions/{phone:phone}", status_code=204, dependencies=OPERATE, responses=errors(404)
)
async def remove_suppression(
    phone: Annotated[str, Path(min_length=10, max_length=40, pattern=PHONE_PATTERN)],
    request: Request,
    rt: RuntimeDep,
) -> Response:
    """Take a phone off the list: it may be contacted again by campaigns ingested from now."""
    async with record_action(request, "unsuppress", phone) as audit:
        async with rt.sessions() as session, session.begin():
            await service.remove(session, phone)
        audit.done(0, 1, "removed", target=service.phone_or_error(phone))
    return Response(status_code=204)


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        # No "type": the body is read as bytes, whatever it holds; a line that is not a
        # phone is reported, not a type error. Empty is refused.
        "content": {"text/csv": {"schema": {"minLength": 1}}},
        "description": "phone[,cpf_cnpj[,reason]] per line, an optional header line",
    }
}


@router.post(IMPORT_PATH, response_model=ImportOut, dependencies=OPERATE, openapi_extra=IMPORT_BODY)
async def import_suppressions(request: Request, rt: RuntimeDep) -> ImportOut:
    """A CSV streamed into the list (up to DISPARO_SUPPRESSIONS_IMPORT_MAX_BYTES). Phones
    already listed keep their entry; invalid lines are counted and the first 100 returned
    with their line numbers."""
    async with record_action(request, "suppress-import", "csv") as audit:
        body = await non_empty(request.stream())
        async with rt.sessions() as session, session.begin():
            report = await import_csv(session, body, actor_of(request))
        audit.done(0, report.added, report.summary)
    return ImportOut.model_validate(dataclasses.asdict(report))


@router.get(
    "/suppressions/export",
    dependencies=READ,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "the whole list as CSV"}},
)
async def export_suppressions(rt: RuntimeDep) -> StreamingResponse:
    """phone,cpf_cnpj,reason,source,created_at,actor, oldest first (it re-imports as it is)."""
    return StreamingResponse(
        export_csv(rt.sessions),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="suppressions.csv"'},
    )
