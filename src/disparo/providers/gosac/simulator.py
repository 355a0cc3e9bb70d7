"""A real HTTP fake of GOSAC's campaign API (CONTRACTS 5.2).

The vendor's answers are not publicly known; the shapes are the ASSUMED ones of 5.2.
Validation is strict so a malformed payload from disparo fails loudly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request, Response

from disparo.sim import SimulatorBase, json_response

__all__ = ["CREATE_PATH", "CreatedCampaign", "GosacSimulator"]

CREATE_PATH = "/api/campaigns"
FIRST_CAMPAIGN_ID = 4321
IdShape = Literal["id", "data.id", "campaignId", "none"]

_NAME = re.compile(r"campanha_\d{13}_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_FIXED: dict[str, Any] = {
    "kind": "whats",
    "connectionId": None,
    "defaultQueueId": 1,
    "initialMinutes": 480,
    "endMinutes": 1140,
    "customProps": [],
    "scheduled": False,
    "speed": "low",
    "tagId": 0,
    "templateId": None,
}


@dataclass
class CreatedCampaign:
    id: int
    name: str
    message: str
    contacts: list[dict[str, Any]]
    starts: int = 0
    status: str = "created"
    history: list[str] = field(default_factory=list)


def _problem(body: Any) -> str | None:
    """Why a create body is invalid, or None."""
    if not isinstance(body, dict):
        return "JSON inválido"
    for name, value in _FIXED.items():
        if name not in body or body[name] != value or type(body[name]) is not type(value):
            return f"campo {name} deve ser {value!r}"
    if not isinstance(body.get("name"), str) or not _NAME.fullmatch(body["name"]):
        return "campo name fora do formato campanha_<ms>_<iso>"
    if not isinstance(body.get("message"), str) or not body["message"]:
        return "campo message vazio"
    if not isinstance(body.get("scheduledAt"), str) or not _ISO.fullmatch(body["scheduledAt"]):
        return "campo scheduledAt deve ser ISO-8601 UTC"
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not contacts:
        return "contacts deve ser uma lista não vazia"
    for contact in contacts:
        if not isinstance(contact, dict) or set(contact) != {"name", "number", "hasWhatsapp"}:
            return "contato deve ter name, number, hasWhatsapp"
        number = contact["number"]
        if not (isinstance(number, str) and number.isdigit() and number.startswith("55")):
            return f"número inválido: {number!r}"
        if not (isinstance(contact["name"], str) and contact["name"]):
            return "contato sem nome"
        if contact["hasWhatsapp"] is not True:
            return "hasWhatsapp deve ser true"
    return None


class GosacSimulator(SimulatorBase):
    """In-memory GOSAC with fault injection on the routes "create" and "start"."""

    def __init__(self, token: str = "tok_exemplo_gosac") -> None:
        super().__init__()
        self.token = token
        self.campaigns: dict[int, CreatedCampaign] = {}
        # Answer shape of the created id, to exercise the client's fallbacks.
        self.id_shape: IdShape = "id"
        # Gen C behaviour: creation already starts the campaign.
        self.started_on_create = False
        self._next_id = FIRST_CAMPAIGN_ID
        self.app = self._build_app()

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != self.token:
            return json_response(401, {"message": "Unauthorized"})
        return None

    async def _create(self, request: Request) -> Response:
        record = await self.record("create", request)
        answer = self.injected("create") or self._unauthorized(request)
        if answer is None:
            answer = self._created(record.json)
        return self.finish(record, answer)

    def _created(self, body: Any) -> Response:
        if (problem := _problem(body)) is not None:
            return json_response(400, {"message": problem})
        campaign = CreatedCampaign(
            self._next_id, body["name"], body["message"], list(body["contacts"])
        )
        if self.started_on_create:
            campaign.status = "started"
        self._next_id += 1
        self.campaigns[campaign.id] = campaign
        summary: dict[str, Any] = {
            "name": campaign.name,
            "status": campaign.status,
            "contacts": len(campaign.contacts),
        }
        shapes: dict[str, dict[str, Any]] = {
            "id": {"id": campaign.id, **summary},
            "data.id": {"data": {"id": campaign.id, **summary}},
            "campaignId": {"campaignId": campaign.id, **summary},
            "none": summary,
        }
        return json_response(201, shapes[self.id_shape])

    async def _start(self, request: Request, campaign_id: str) -> Response:
        record = await self.record("start", request)
        answer = self.injected("start") or self._unauthorized(request)
        if answer is None:
            answer = self._started(campaign_id, record.json)
        return self.finish(record, answer)

    def _started(self, campaign_id: str, body: Any) -> Response:
        if body != {}:
            return json_response(400, {"message": "body deve ser {}"})
        campaign = self.campaigns.get(int(campaign_id)) if campaign_id.isdigit() else None
        if campaign is None:
            return json_response(404, {"message": "Campaign not found"})
        campaign.starts += 1
        if campaign.status == "started":
            return json_response(400, {"message": "Campaign already started", "status": "started"})
        campaign.status = "started"
        return json_response(200, {"id": campaign.id, "status": "started"})

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="GOSAC simulator", openapi_url=None, docs_url=None, redoc_url=None)

        async def create(request: Request) -> Response:
            return await self._create(request)

        async def start(request: Request, campaign_id: str) -> Response:
            return await self._start(request, campaign_id)

        app.add_api_route(CREATE_PATH, create, methods=["POST"])
        app.add_api_route(CREATE_PATH + "/{campaign_id}/status/started", start, methods=["PUT"])
        return app
