"""A real HTTP fake of Ótima's RCS bulk API (CONTRACTS.md 5.5).

Answers are the ASSUMED shapes of 5.5, plus the two lists of wire.OtimaAnswer. A handset in
`not_rcs_capable` gets the message's own SMS fallback when it has one (reported in
`fallback_sent`), otherwise nothing (reported in `not_rcs_capable`); `deliveries` records
how every phone was reached, which is how tests prove nobody got both an RCS and an SMS.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response

from disparo.providers.rcs_otima.wire import (
    DOCUMENT_PATH,
    FALLBACK_MAX_CHARS,
    FILE_TYPES,
    MAX_MESSAGES,
    TEMPLATE_PATH,
    TEXT_PATH,
)
from disparo.providers.simfaults import SimulatorBase, json_response

__all__ = ["API_PREFIX", "OtimaSimulator"]

API_PREFIX = "/v1/rcs"
_PHONE = re.compile(r"55\d{10,11}")
_DIGITS = re.compile(r"\d*")
_MESSAGE_FIELDS = {
    TEMPLATE_PATH: {"phone", "document", "variables", "extra_fields", "date", "fallback"}
    | {"url_callback_mo", "url_callback_status"},
    TEXT_PATH: {"phone", "document", "message", "date"},
    DOCUMENT_PATH: {"phone", "document", "message", "file_url", "file_type", "file_name", "date"},
}


def _failure(message: str) -> dict[str, Any]:
    return {"success": False, "message": message}


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https")


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _template_problem(message: dict[str, Any]) -> str | None:
    variables = message.get("variables")
    if not _string_map(variables) or not variables:
        return "variables deve ser um objeto de textos não vazio"
    if any(not value.strip() for value in variables.values()):
        return "variables com valor vazio"
    if not _string_map(message.get("extra_fields")):
        return "extra_fields deve ser um objeto de textos"
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
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages deve ser lista não vazia"
    for number, message in enumerate(messages, start=1):
        if (problem := _message_problem(path, message)) is not None:
            return f"mensagem {number}: {problem}"
    return None


class OtimaSimulator(SimulatorBase):
    """In-memory Ótima RCS bulk endpoints with fault injection."""

    def __init__(self, token: str = "tok_exemplo_otima") -> None:
        super().__init__()
        self.token = token
        #: Phones whose handsets cannot receive RCS.
        self.not_rcs_capable: set[str] = set()
        #: phone -> how each message reached it: "RCS", or "SMS" (the provider's fallback).
        self.deliveries: dict[str, list[str]] = {}
        self.app = self._build_app()

    def fault_body(self, status: int) -> dict[str, Any]:
        return _failure("Falha simulada")

    async def _handle(self, request: Request, path: str) -> Response:
        recorded = await self.record(path, request)
        fault = self.injected(path)
        response = fault or self._answer(path, request.headers.get("authorization"), recorded.json)
        return self.finish(recorded, response)

    def _answer(self, path: str, token: str | None, body: Any) -> Response:
        if token != self.token:  # the raw token, no scheme
            return json_response(401, _failure("Unauthorized"))
        if not isinstance(body, dict):
            return json_response(400, _failure("JSON inválido"))
        messages = body.get("messages")
        if isinstance(messages, list) and len(messages) > MAX_MESSAGES:
            return json_response(400, _failure("Maximum of 1000 messages per request"))
        if (problem := _body_problem(path, body)) is not None:
            return json_response(400, _failure(problem))
        not_rcs, by_sms = [], []
        for message in body["messages"]:
            phone = message["phone"]
            if phone not in self.not_rcs_capable:
                self.deliveries.setdefault(phone, []).append("RCS")
            elif "fallback" in message:
                self.deliveries.setdefault(phone, []).append("SMS")
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
            return await self._handle(request, path)

        return endpoint
