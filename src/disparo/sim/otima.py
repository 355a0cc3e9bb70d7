"""What Ótima's bulk endpoints (RCS 5.5, WhatsApp 5.7) share in a simulator: the raw token
in `Authorization`, the ASSUMED refusal `{"success": false, "message": ...}`, the cap of
1,000 messages a request, and the checks of the message list and of a template's variables.
Written here from the contract, never imported from the adapters' side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from disparo.sim.faults import SimulatorBase, json_response

MAX_MESSAGES = 1000


def failure(message: str) -> dict[str, Any]:
    return {"success": False, "message": message}


def string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def variables_problem(message: dict[str, Any]) -> str | None:
    """A template message's `variables` (texts, none blank) and `extra_fields` (texts)."""
    variables = message.get("variables")
    if not string_map(variables) or not variables:
        return "variables deve ser um objeto de textos não vazio"
    if any(not value.strip() for value in variables.values()):
        return "variables com valor vazio"
    if not string_map(message.get("extra_fields")):
        return "extra_fields deve ser um objeto de textos"
    return None


def messages_problem(messages: Any, message_problem: Callable[[Any], str | None]) -> str | None:
    """A non-empty list whose every message passes `message_problem`; else the first problem,
    naming its message (counted from 1)."""
    if not isinstance(messages, list) or not messages:
        return "messages deve ser lista não vazia"
    for number, message in enumerate(messages, start=1):
        if (problem := message_problem(message)) is not None:
            return f"mensagem {number}: {problem}"
    return None


class OtimaBulkSimulator(SimulatorBase):
    """An Ótima bulk endpoint: an injected fault, else the refusals in the vendor's order
    (token, JSON, the cap, then the subclass's `body_problem`), else its `accept`."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def fault_body(self, status: int) -> dict[str, Any]:
        return failure("Falha simulada")

    def body_problem(self, route: str, body: dict[str, Any]) -> str | None:
        raise NotImplementedError

    def accept(self, route: str, body: dict[str, Any]) -> Response:
        raise NotImplementedError

    async def handle(self, route: str, request: Request) -> Response:
        recorded = await self.record(route, request)
        fault = self.injected(route)
        response = fault or self._answer(route, request.headers.get("authorization"), recorded.json)
        return self.finish(recorded, response)

    def _answer(self, route: str, token: str | None, body: Any) -> Response:
        if token != self.token:  # the raw token, no scheme
            return json_response(401, failure("Unauthorized"))
        if not isinstance(body, dict):
            return json_response(400, failure("JSON inválido"))
        messages = body.get("messages")
        if isinstance(messages, list) and len(messages) > MAX_MESSAGES:
            return json_response(400, failure(f"Maximum of {MAX_MESSAGES} messages per request"))
        if (problem := self.body_problem(route, body)) is not None:
            return json_response(400, failure(problem))
        return self.accept(route, body)
