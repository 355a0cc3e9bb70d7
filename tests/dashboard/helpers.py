"""Signing in to the dashboard the way a browser does: the form's token, then the cookie."""

from __future__ import annotations

import re

import httpx

from disparo.devstack import DevStack

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def browser(stack: DevStack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.api.url, timeout=30, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    form = await client.get("/dashboard/login")
    return await client.post(
        "/dashboard/login",
        data={"api_key": key, "csrf_token": csrf_of(form.text), "next": "/dashboard"},
    )
