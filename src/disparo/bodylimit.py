"""Request bodies bounded on the stream, before anything parses them: a Content-Length over
the cap is refused before a byte is read, a body that streams past it (chunked, or lying
about its length) is cut off when it crosses the cap, and a body that trickles in slower
than the deadline is refused too (408). Both answers have the JSON error shape."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from disparo.errors import DisparoError, error_body

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyTooLarge(DisparoError):
    status_code = 413


class BodyTooSlow(DisparoError):
    status_code = 408


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"Corpo da requisição maior que o limite de {limit} bytes")


class BodyLimit:
    """ASGI middleware. `limits` gives (max bytes, seconds for the whole body) per request,
    read from the settings of the running app."""

    def __init__(self, app: Any, limits: Callable[[Scope], tuple[int, float]]) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, seconds = self.limits(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(send, _too_large(limit))
            return
        state = _Stream(receive, limit, seconds)
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if state.refused is not None:
                return  # the app's answer to a cut-off body is replaced by ours
            started = True
            await send(message)

        try:
            await self.app(scope, state.receive, guarded_send)
        except (BodyTooLarge, BodyTooSlow):
            if started:
                raise
        if state.refused is not None and not started:
            await _answer(send, state.refused)


class _Stream:
    def __init__(self, receive: Any, limit: int, seconds: float) -> None:
        self._receive = receive
        self._limit = limit
        self._deadline = asyncio.get_running_loop().time() + seconds
        self._seconds = seconds
        self._received = 0
        self._complete = False
        self.refused: DisparoError | None = None

    async def receive(self) -> Message:
        if self._complete:  # after the body: waiting for a disconnect, no deadline
            message: Message = await self._receive()
            return message
        remaining = self._deadline - asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                message = await self._receive()
        except TimeoutError:
            self.refused = BodyTooSlow(f"O corpo da requisição não chegou em {self._seconds:g} s")
            raise self.refused from None
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._limit:
                self.refused = _too_large(self._limit)
                raise self.refused
            self._complete = not message.get("more_body", False)
        return message


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Any, error: DisparoError) -> None:
    body = json.dumps(
        error_body(error.status_code, error.message), ensure_ascii=False, separators=(",", ":")
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
