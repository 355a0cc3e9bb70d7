"""The receivers of Ótima's callbacks (CONTRACTS 5.5, 5.7):

    POST /callbacks/otima/{token}/status   a delivery receipt
    POST /callbacks/otima/{token}/mo       a recipient's reply

No X-API-KEY: the per-campaign token in the path is the authentication (callback_tokens.py).
A body holds one callback or a list of them; each is committed (callback_writer.py) before
the 200, so a provider that got 200 can forget it; 503 asks it to send again.

A plain ASGI middleware in front of the app rather than FastAPI routes: a callback is the
one request that comes thousands of times a second, and the framework's layers (routing,
dependency solving, the other middlewares' tasks) cost more CPU than the callback itself.
A wrong token, or any other path, goes on to the app, which answers its own 404: the same
as a path that does not exist, no hint which part was wrong.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from disparo.campaigns.callback_tokens import campaign_of_token
from disparo.campaigns.callback_writer import CallbackWriteFailed, CallbackWriter
from disparo.campaigns.deliveries import CallbackProblem, Item, parse_reply, parse_status
from disparo.errors import error_body

PREFIX = "/callbacks/otima/"
# Largest body a receiver reads (bytes): 413 beyond, before it is read whole.
MAX_CALLBACK_BODY = 256 * 1024
MAX_CALLBACKS_PER_BODY = 1_000
# Moved by tests: the time a callback without a usable `date` is said to have happened.
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731

Parser = Callable[[uuid.UUID, object, datetime], Item]
PARSERS: dict[str, Parser] = {"status": parse_status, "mo": parse_reply}
Scope = dict[str, Any]


class _BodyRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class CallbackReceiver:
    """`state`: the FastAPI app's state, where the lifespan puts the runtime."""

    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        found = _route(scope)
        campaign_id = None
        if found is not None:
            campaign_id = campaign_of_token(self.state.runtime.settings, found[0])
        if found is None or campaign_id is None:
            await self.app(scope, receive, send)
            return
        status, body = await self._receive(campaign_id, PARSERS[found[1]], receive)
        await _answer(send, status, body)

    async def _receive(
        self, campaign_id: uuid.UUID, parse: Parser, receive: Any
    ) -> tuple[int, dict[str, Any]]:
        settings = self.state.runtime.settings
        try:
            raw = await _read_body(receive, MAX_CALLBACK_BODY, settings.body_timeout)
            items = _items(campaign_id, raw, parse)
        except _BodyRefused as exc:
            return exc.status, error_body(exc.status, str(exc))
        except CallbackProblem as exc:
            return 400, error_body(400, str(exc))
        writer = writer_of(self.state)
        try:
            if len(items) == 1:  # the usual case: no gather task
                await writer.submit(items[0])
            else:
                await asyncio.gather(*(writer.submit(item) for item in items))
        except CallbackWriteFailed:
            return 503, error_body(503, "Não gravado; reenvie")
        return 200, {"success": True, "received": len(items)}


def _route(scope: Scope) -> tuple[str, str] | None:
    """(token, kind) of a POST to a receiver's path; None for any other request."""
    if scope["type"] != "http" or scope.get("method") != "POST":
        return None
    path = str(scope.get("path", ""))
    if not path.startswith(PREFIX):
        return None
    token, _, kind = path[len(PREFIX) :].partition("/")
    return (token, kind) if token and kind in PARSERS else None


async def _read_body(receive: Any, limit: int, seconds: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _BodyRefused(400, "conexão encerrada antes do corpo")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise _BodyRefused(413, f"Corpo da requisição maior que {limit} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise _BodyRefused(408, "Corpo da requisição não chegou a tempo") from None


def _items(campaign_id: uuid.UUID, raw: bytes, parse: Parser) -> list[Item]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise CallbackProblem("corpo não é JSON") from None
    bodies = body if isinstance(body, list) else [body]
    if not bodies or len(bodies) > MAX_CALLBACKS_PER_BODY:
        raise CallbackProblem(f"de 1 a {MAX_CALLBACKS_PER_BODY} callbacks por requisição")
    received = clock()
    return [parse(campaign_id, one, received) for one in bodies]


async def _answer(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def writer_of(state: Any) -> CallbackWriter:
    """The process's writer, made on first use inside the running loop."""
    writer: CallbackWriter | None = getattr(state, "callback_writer", None)
    if writer is None:
        writer = state.callback_writer = CallbackWriter(
            state.runtime.sessions, opt_out_words=state.runtime.settings.opt_out_words
        )
    return writer


async def close_callback_writer(state: Any) -> None:
    writer: CallbackWriter | None = getattr(state, "callback_writer", None)
    if writer is not None:
        await writer.close()
