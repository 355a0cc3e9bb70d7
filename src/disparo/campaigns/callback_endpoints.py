"""The receivers of Ótima's callbacks (CONTRACTS 5.5, 5.7): no X-API-KEY, the per-campaign
token in the path is the authentication (callback_tokens.py). A wrong token gets the same
404 as a path that does not exist. A body may hold one callback or a list of them; each is
committed (callback_writer.py) before the 200, so a provider that got 200 can forget it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from disparo.campaigns.callback_tokens import campaign_of_token
from disparo.campaigns.callback_writer import CallbackWriteFailed, CallbackWriter
from disparo.campaigns.deliveries import CallbackProblem, Item, parse_reply, parse_status
from disparo.errors import error_body

router = APIRouter(tags=["callbacks"], include_in_schema=False)
# Bodies the receivers accept (the BodyLimit middleware applies it before reading).
MAX_CALLBACK_BODY = 256 * 1024
MAX_CALLBACKS_PER_BODY = 1_000
# Moved by tests: the time a callback without a usable `date` is said to have happened.
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731

Parser = Callable[[uuid.UUID, object, datetime], Item]


def writer_of(request: Request) -> CallbackWriter:
    """The process's writer, made on first use inside the running loop."""
    state = request.app.state
    writer: CallbackWriter | None = getattr(state, "callback_writer", None)
    if writer is None:
        writer = state.callback_writer = CallbackWriter(state.runtime.sessions)
    return writer


async def close_callback_writer(state: Any) -> None:
    writer: CallbackWriter | None = getattr(state, "callback_writer", None)
    if writer is not None:
        await writer.close()


@router.post("/callbacks/otima/{token}/status")
async def otima_status(token: str, request: Request) -> JSONResponse:
    return await _receive(token, request, parse_status)


@router.post("/callbacks/otima/{token}/mo")
async def otima_reply(token: str, request: Request) -> JSONResponse:
    return await _receive(token, request, parse_reply)


async def _receive(token: str, request: Request, parse: Parser) -> JSONResponse:
    campaign_id = campaign_of_token(request.app.state.runtime.settings, token)
    if campaign_id is None:
        raise StarletteHTTPException(404)  # exactly what an unknown path answers
    try:
        items = _items(campaign_id, await request.body(), parse)
    except CallbackProblem as exc:
        return JSONResponse(error_body(400, str(exc)), 400)
    writer = writer_of(request)
    try:
        await asyncio.gather(*(writer.submit(item) for item in items))
    except CallbackWriteFailed:
        return JSONResponse(error_body(503, "Não gravado; reenvie"), 503)
    return JSONResponse({"success": True, "received": len(items)})


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
