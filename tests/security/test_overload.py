"""Past capacity the API sheds load at once (503 + Retry-After) instead of queuing behind the
database pool; a client that goes away is a one-line debug event, not a traceback."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from disparo.devstack import DevStack
from tests.conftest import StackFactory

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

KEY = "k" * 40
CAMPAIGN = "C20250115093000"


async def _stack(stack_factory: StackFactory, **overrides: Any) -> DevStack:
    return await stack_factory(with_worker=False, api_keys=[SecretStr(KEY)], **overrides)


class HeldRequest:
    """A dispatch whose body never finishes arriving: it holds its place in the API."""

    def __init__(self, stack: DevStack) -> None:
        self._url = httpx.URL(stack.api.url)
        self._writer: asyncio.StreamWriter | None = None
        self._reader: asyncio.StreamReader | None = None

    async def start(self) -> None:
        assert self._url.host and self._url.port
        self._reader, self._writer = await asyncio.open_connection(self._url.host, self._url.port)
        head = [
            b"POST /campaigns/dispatch HTTP/1.1",
            b"Host: x",
            b"Content-Type: application/json",
            f"Content-Length: {len(self._body)}".encode(),
            f"X-API-KEY: {KEY}".encode(),
        ]
        self._writer.write(b"\r\n".join(head) + b"\r\n\r\n" + self._body[:10])
        await self._writer.drain()

    @property
    def _body(self) -> bytes:
        return f'{{"agendamento_id": "{CAMPAIGN}"}}'.encode()

    async def finish(self) -> bytes:
        assert self._writer is not None and self._reader is not None
        self._writer.write(self._body[10:])
        await self._writer.drain()
        answer = await asyncio.wait_for(self._reader.read(4096), timeout=20)
        self.close()
        return answer

    async def send_rest_and_leave(self) -> None:
        """The whole body, then gone without reading the answer (a client-side timeout)."""
        assert self._writer is not None
        self._writer.write(self._body[10:])
        await self._writer.drain()
        await asyncio.sleep(0.2)  # read by the server (uvicorn drops a body cut by EOF)
        self._writer.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


async def _held_in_app(stack: DevStack, held: HeldRequest) -> None:
    await held.start()
    # The request is admitted once its head is read; give the server a moment to get there.
    await asyncio.sleep(0.2)


async def test_past_capacity_the_api_answers_503_at_once_and_recovers(
    stack_factory: StackFactory,
) -> None:
    stack = await _stack(stack_factory, api_max_in_flight=1, api_max_queued=0)
    held = HeldRequest(stack)
    await _held_in_app(stack, held)
    try:
        async with httpx.AsyncClient(
            base_url=stack.api.url, headers={"X-API-KEY": KEY}, timeout=10
        ) as api:
            started = asyncio.get_running_loop().time()
            refused = await api.get(f"/campaigns/{CAMPAIGN}/status")
            elapsed = asyncio.get_running_loop().time() - started
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert refused.json() == {
                "statusCode": 503,
                "message": "disparo está sobrecarregado; tente novamente em instantes",
                "error": "Service Unavailable",
            }
            assert elapsed < 2.0  # refused, not queued behind the held request
            # Probes and scrapes still answer: they are how the overload is seen.
            assert (await api.get("/health")).status_code == 200
            answer = await held.finish()
            assert answer.startswith(b"HTTP/1.1 202"), answer[:200]
            status = await api.get(f"/campaigns/{CAMPAIGN}/status")
            assert status.status_code == 200
    finally:
        held.close()


async def test_a_short_wait_admits_the_request_when_a_place_frees(
    stack_factory: StackFactory,
) -> None:
    stack = await _stack(stack_factory, api_max_in_flight=1, api_max_queued=4, api_queue_wait=10)
    held = HeldRequest(stack)
    await _held_in_app(stack, held)
    try:
        async with httpx.AsyncClient(
            base_url=stack.api.url, headers={"X-API-KEY": KEY}, timeout=20
        ) as api:
            waiting = asyncio.create_task(api.get("/campaigns"))
            await asyncio.sleep(0.3)
            assert not waiting.done()  # waiting for the place, not refused
            answer = await held.finish()
            assert answer.startswith(b"HTTP/1.1 202"), answer[:200]
            listed = await waiting
            assert listed.status_code == 200 and listed.json()["total"] == 1
    finally:
        held.close()


async def test_a_client_that_leaves_mid_body_is_no_error(stack_factory: StackFactory) -> None:
    stack = await _stack(stack_factory)
    held = HeldRequest(stack)
    with capture_logs() as logs:
        await _held_in_app(stack, held)
        held.close()  # gone before the body is whole
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(
            base_url=stack.api.url, headers={"X-API-KEY": KEY}, timeout=10
        ) as api:
            # Nothing was created by the abandoned dispatch, and the API serves on.
            missing = await api.get(f"/campaigns/{CAMPAIGN}/status")
            assert missing.status_code == 404
    events = [entry["event"] for entry in logs]
    assert "api.unhandled_error" not in events
    assert not [entry for entry in logs if entry.get("exc_info")]


async def test_a_dispatch_whose_client_gave_up_is_created_once(
    stack_factory: StackFactory,
) -> None:
    """WordPress timed out and retries: the retry finds the campaign the first one made."""
    stack = await _stack(stack_factory)
    held = HeldRequest(stack)
    await held.start()
    await held.send_rest_and_leave()
    async with httpx.AsyncClient(
        base_url=stack.api.url, headers={"X-API-KEY": KEY}, timeout=10
    ) as api:
        for _ in range(100):  # the abandoned request is still being served: wait for it
            first = await api.get(f"/campaigns/{CAMPAIGN}/status")
            if first.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert first.status_code == 200
        retried = await api.post("/campaigns/dispatch", json={"agendamento_id": CAMPAIGN})
        listed = await api.get("/campaigns")
    assert retried.status_code == 202
    assert retried.json()["message"] == "Campanha já existe na fila"
    assert retried.json()["campaign_id"] == first.json()["campaign_id"]
    assert listed.json()["total"] == 1
