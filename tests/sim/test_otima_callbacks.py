"""The simulated vendor's callbacks: the same fate for each message whatever order messages
come in, every planned callback actually posted (repeats and newest-first included), and
nothing posted to a host that is not loopback."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import FastAPI, Request

from disparo.http_server import start_server
from disparo.sim.otima_callbacks import CallbackFirer, CallbackPlan

PLAN = CallbackPlan(seed=3, duplicate_rate=0.5, out_of_order_rate=0.5, never_rate=0.2)
PHONES = [f"55119000000{n:02d}" for n in range(40)]


def receiver() -> tuple[FastAPI, list[tuple[str, dict[str, Any]]]]:
    app = FastAPI()
    posts: list[tuple[str, dict[str, Any]]] = []

    @app.post("/cb/{kind}")
    async def record(kind: str, request: Request) -> dict[str, bool]:
        posts.append((kind, await request.json()))
        return {"ok": True}

    return app, posts


async def fire(phones: list[str], base: str) -> CallbackFirer:
    firer = CallbackFirer(PLAN)
    for phone in phones:
        message = {"url_callback_status": f"{base}/cb/status", "url_callback_mo": f"{base}/cb/mo"}
        firer.message_accepted(message, phone, "DELIVERED")
    await firer.drain()
    return firer


async def test_fates_do_not_depend_on_arrival_order_and_all_are_posted() -> None:
    app, posts = receiver()
    async with await start_server(app) as server:
        forward = await fire(PHONES, server.url)
        sent_forward = list(posts)
        posts.clear()
        backward = await fire(PHONES[::-1], server.url)

    assert forward.fired.final == backward.fired.final
    assert sorted(forward.fired.replies) == sorted(backward.fired.replies)
    statuses = [body for kind, body in sent_forward if kind == "status"]
    assert len(statuses) == forward.fired.posts - len(forward.fired.replies)
    assert forward.fired.undelivered == 0
    per_phone = Counter(body["phone"] for body in statuses)
    assert len(forward.fired.final) < len(PHONES)  # some never called back
    assert set(per_phone) == set(forward.fired.final)
    assert max(per_phone.values()) == 4  # repeats happen (SENT, DELIVERED, READ + one)
    newest_first = [
        phone
        for phone in per_phone
        if next(b["status"] for b in statuses if b["phone"] == phone) != "SENT"
    ]
    assert newest_first  # some arrive out of order


async def test_only_loopback_is_called() -> None:
    firer = CallbackFirer(PLAN)
    message = {"url_callback_status": "https://disparo.example.com/callbacks/otima/t/status"}
    firer.message_accepted(message, PHONES[0], "DELIVERED")
    await firer.drain()
    assert firer.fired.posts == 0 and firer.fired.final == {}
