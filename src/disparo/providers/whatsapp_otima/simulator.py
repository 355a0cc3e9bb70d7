"""A real HTTP fake of Ótima's WhatsApp HSM bulk API (CONTRACTS.md 5.7).

The vendor's answers are not publicly known: a refusal is 5.5's ASSUMED `{"success": false,
"message": ...}`, an accepted request 5.7's ASSUMED array of one entry per message.
Numbers in `without_whatsapp` are answered `FAILED`; `delivered` records every message
accepted for delivery, which is how tests prove who got what. Validation is strict so a
malformed request from disparo fails loudly; its rules are written here from the contract,
never imported from the adapter's side.
"""

from __future__ import annotations

import re
from itertools import count
from typing import Any

from fastapi import FastAPI, Request, Response

from disparo.sim import json_response
from disparo.sim.otima import OtimaBulkSimulator, messages_problem, variables_problem
from disparo.sim.otima_callbacks import CallbackFirer, CallbackPlan

__all__ = ["API_PREFIX", "HSM_PATH", "WhatsappOtimaSimulator"]

API_PREFIX = "/v1/whatsapp"
HSM_PATH = "/bulk/message/hsm"
_NATIONAL = re.compile(r"\d{10,11}")  # DDD + number, no country code
_BROKER = re.compile(r"\d{10,}")  # the sender's number
_DIGITS = re.compile(r"\d*")
_DATE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_MESSAGE_FIELDS = {"whatsapp", "phone", "document", "variables", "extra_fields", "date"} | {
    "fallback",
    "url_callback_status",
    "url_callback_mo",
}


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "mensagem não é um objeto"
    if unknown := set(message) - _MESSAGE_FIELDS:
        return f"campos desconhecidos: {sorted(unknown)}"
    number = message.get("whatsapp")
    if not (isinstance(number, str) and _NATIONAL.fullmatch(number)):
        return "whatsapp deve ser DDD + número, sem 55"
    if "phone" in message and message["phone"] != number:
        return "phone difere de whatsapp"
    if not (isinstance(message.get("document"), str) and _DIGITS.fullmatch(message["document"])):
        return "document deve conter só dígitos"
    if (problem := variables_problem(message)) is not None:
        return problem
    if "date" in message and not (
        isinstance(message["date"], str) and _DATE.fullmatch(message["date"])
    ):
        return "date deve ser AAAA-MM-DD HH:MM:SS"
    return None


def _body_problem(body: dict[str, Any]) -> str | None:
    if not (isinstance(body.get("broker_code"), str) and _BROKER.fullmatch(body["broker_code"])):
        return "broker_code deve ser o número do remetente (10+ dígitos)"
    for name in ("customer_code", "template_code"):
        if not (isinstance(body.get(name), str) and body[name].strip()):
            return f"{name} obrigatório"
    return messages_problem(body.get("messages"), _message_problem)


class WhatsappOtimaSimulator(OtimaBulkSimulator):
    """In-memory Ótima WhatsApp HSM endpoint with fault injection (route "hsm")."""

    def __init__(
        self, token: str = "tok_exemplo_otima_wpp", callbacks: CallbackPlan | None = None
    ) -> None:
        super().__init__(token)
        #: Calls back the url_callback_status / url_callback_mo of accepted messages.
        self.callbacks = CallbackFirer(callbacks)
        #: National numbers that have no WhatsApp: answered FAILED, nothing delivered.
        self.without_whatsapp: set[str] = set()
        #: Every message accepted for delivery, in arrival order.
        self.delivered: list[dict[str, Any]] = []
        self._ids = count(1)
        self.app = self._build_app()

    def body_problem(self, route: str, body: dict[str, Any]) -> str | None:
        return _body_problem(body)

    def accept(self, route: str, body: dict[str, Any]) -> Response:
        return json_response(200, [self._entry(message) for message in body["messages"]])

    def _entry(self, message: dict[str, Any]) -> dict[str, Any]:
        number = message["whatsapp"]
        entry = {"message_id": f"wamid-{next(self._ids)}", "phone": number}
        if number in self.without_whatsapp:
            return entry | {"status": "FAILED", "status_description": "Número sem WhatsApp"}
        self.delivered.append(message)
        self.callbacks.message_accepted(message, number, "DELIVERED")
        return entry | {"status": "SENT", "status_description": "Mensagem enviada"}

    async def _hsm(self, request: Request) -> Response:
        return await self.handle("hsm", request)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Ótima WhatsApp simulator", openapi_url=None, docs_url=None)
        app.add_api_route(API_PREFIX + HSM_PATH, self._hsm, methods=["POST"])
        return app
