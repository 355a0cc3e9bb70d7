"""What every dashboard page shares: the templates, the signed-in session, the campaign."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from disparo.apikeys import Scope
from disparo.campaigns import repository
from disparo.campaigns.models import Campaign
from disparo.dashboard import auth
from disparo.dashboard.views import counted, shown, when
from disparo.runtime import Runtime

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Every template words counts, empty fields and times the same way.
templates.env.globals.update(counted=counted, when=when)
templates.env.filters["shown"] = shown
# Signed in, whatever the key may do: sign-out only.
SessionDep = Annotated[auth.Session, Depends(auth.current_session)]
# Pages and their JSON show what the API's `read` shows; actions do what `operate` does.
ReaderDep = Annotated[auth.Session, Depends(auth.SessionWith(Scope.READ))]
ConfirmDep = Annotated[auth.Session, Depends(auth.SessionWith(Scope.READ, Scope.OPERATE))]
OperatorDep = Annotated[auth.Session, Depends(auth.SessionWith(Scope.OPERATE))]


class CampaignNotFound(Exception):
    """No campaign with that uuid or agendamento_id: a 404 page (or JSON)."""


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def render(
    request: Request,
    name: str,
    session: auth.Session | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    context |= {"session": session, "nav": name.split(".")[0]}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


async def find_campaign(request: Request, key: str) -> Campaign:
    async with runtime_of(request).sessions() as session:
        campaign = await repository.find_campaign(session, key)
    if campaign is None:
        raise CampaignNotFound(key)
    return campaign


def campaign_row_html(item: dict[str, Any]) -> str:
    """A campaign list row, from the macro the page itself uses (for the live list)."""
    row = templates.env.get_template("_campaign_row.html").module.row  # type: ignore[attr-defined]
    return str(row(item))
