"""A real HTTP fake of Ótima's RCS bulk API (CONTRACTS.md 5.5).

Answers are the ASSUMED shapes of 5.5, plus the two lists of wire.OtimaAnswer. A handset in
`not_rcs_capable` gets the message's own SMS fallback when it has one (reported in
`fallback_sent`), otherwise nothing (reported in `not_rcs_capable`); `deliveries` records
how every phone was reached, which is how tests prove nobody got both an RCS and an SMS.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response

from disparo.sim import json_response
from disparo.sim.otima import OtimaBulkSimulator, messages_problem, variables_problem
from disparo.sim.otima_callbacks import CallbackFirer, CallbackPlan

__all__ = ["API_PREFIX", "OtimaSimulator"]

API_PREFIX = "/v1/rcs"
# CONTRACTS 5.5, written here rather than imported from wire.py so that a wrong value cannot
# pass on both sides.
TEMPLATE_PATH = "/bulk/message/template"
TEXT_PATH = "/bulk/message/text"
DOCUMENT_PATH = "/bulk/message/document"
FALLBACK_MAX_CHARS = 160
FILE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "application/pdf", "video/mp4"})
_PHONE = re.compile(r"55\d{10,11}")
_DIGITS = re.compile(r"\d*")
_MESSAGE_FIELDS = {
    TEMPLATE_PATH: {"phone", "document", "variables", "extra_fields", "date", "fallback"}
    | {"url_callback_mo", "url_callback_status"},
    TEXT_PATH: {"phone", "document", "message", "date"},
    DOCUMENT_PATH: {"phone", "document", "message", "file_url", "file_type", "file_name", "date"},
}


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https")


def _template_problem(message: dict[str, Any]) -> str | None:
    if (problem := variables_problem(message)) is not None:
        return problem
    fallback = message.get("fallback")
    if fallback is not None and not (
        isinstance(fallback, dict)
        and fallback.get("type") == "SMS"
        and isinstance(fallback.get("message"), str)
        and 0 < len(fallback["message"]) <= FALLBACK_MAX_CHARS
    ):
        return f'fallback deve ser {{"type": "SMS", "message": <1-{FALLBACK_MAX_CHARS} chars>}}'
    for name in ("url_callback_status", "url_callback_mo"):
        if name in message and not _is_url(message[name]):
            return f"{name} deve ser uma URL http(s)"
    return None


def _message_problem(path: str, message: Any) -> str | None:
    if not isinstance(message, dict):
        return "mensagem não é um objeto"
    unknown = set(message) - _MESSAGE_FIELDS[path]
    if unknown:
        return f"campos desconhecidos: {sorted(unknown)}"
    if not (isinstance(message.get("phone"), str) and _PHONE.fullmatch(message["phone"])):
        return "phone deve ser 55 + DDD + número"
    if not (isinstance(message.get("document"), str) and _DIGITS.fullmatch(message["document"])):
        return "document deve conter só dígitos"
    if path == TEMPLATE_PATH:
        return _template_problem(message)
    if not (isinstance(message.get("message"), str) and message["message"].strip()):
        return "message vazia"
    if path == DOCUMENT_PATH:
        if not _is_url(message.get("file_url")):
            return "file_url deve ser uma URL http(s)"
        if message.get("file_type") not in FILE_TYPES:
            return "file_type não suportado"
        if not (isinstance(message.get("file_name"), str) and message["file_name"]):
            return "file_name vazio"
    return None


def _body_problem(path: str, body: dict[str, Any]) -> str | None:
    for name in ("broker_code", "customer_code"):
        if not isinstance(body.get(name), str):
            return f"{name} deve ser texto"
    if not body["customer_code"].strip():
        return "customer_code vazio"
    if path == TEMPLATE_PATH:
        if not (isinstance(body.get("template_code"), str) and body["template_code"].strip()):
            return "template_code obrigatório"
    elif "template_code" in body:
        return "template_code só no endpoint de template"
    return messages_problem(body.get("messages"), partial(_message_problem, path))


class OtimaSimulator(OtimaBulkSimulator):
    """In-memory Ótima RCS bulk endpoints with fault injection (routes: their paths)."""

    def __init__(
        self, token: str = "tok_exemplo_otima", callbacks: CallbackPlan | None = None
    ) -> None:
        super().__init__(token)
        #: Calls back the url_callback_status / url_callback_mo of accepted messages.
        self.callbacks = CallbackFirer(callbacks)
        #: Phones whose handsets cannot receive RCS.
        self.not_rcs_capable: set[str] = set()
        #: phone -> how each message reached it: "RCS", or "SMS" (the provider's fallback).
        self.deliveries: dict[str, list[str]] = {}
        self.app = self._build_app()

    def body_problem(self, route: str, body: dict[str, Any]) -> str | None:
        return _body_problem(route, body)

    def accept(self, route: str, body: dict[str, Any]) -> Response:
        not_rcs, by_sms = [], []
        for message in body["messages"]:
            phone = message["phone"]
            if phone not in self.not_rcs_capable:
                self.deliveries.setdefault(phone, []).append("RCS")
                self.callbacks.message_accepted(message, phone, "DELIVERED")
            elif "fallback" in message:
                self.deliveries.setdefault(phone, []).append("SMS")
                self.callbacks.message_accepted(message, phone, "FALLBACK")
                by_sms.append(phone)
            else:
                not_rcs.append(phone)
        answer = {
            "success": True,
            "message": "Mensagens recebidas",
            "total": len(body["messages"]),
            "not_rcs_capable": not_rcs,
            "fallback_sent": by_sms,
        }
        return json_response(200, answer)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Ótima RCS simulator", openapi_url=None, docs_url=None)
        for path in (TEMPLATE_PATH, TEXT_PATH, DOCUMENT_PATH):
            app.add_api_route(API_PREFIX + path, self._endpoint(path), methods=["POST"])
        return app

    def _endpoint(self, path: str) -> Any:
        async def endpoint(request: Request) -> Response:
            return await self.handle(path, request)

        return endpoint
