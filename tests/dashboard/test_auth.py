"""Every dashboard page and action is behind a sign-in with an API key, kept in a signed,
HttpOnly, SameSite cookie; every POST needs the session's CSRF token."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeTimedSerializer
from pydantic import SecretStr

from disparo.dashboard.auth import SESSION_COOKIE
from tests.conftest import API_KEY, StackFactory
from tests.dashboard.helpers import browser, csrf_of, sign_in

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

PAGES = ["/dashboard", "/dashboard/queues", "/dashboard/campaigns/C1"]
JSON = ["/dashboard/api/campaigns", "/dashboard/api/queues", "/dashboard/api/campaigns/C1"]


async def test_pages_send_strangers_to_sign_in_and_json_answers_401(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False)
    async with browser(stack) as client:
        for page in PAGES:
            answer = await client.get(page)
            assert answer.status_code == 303, page
            assert answer.headers["location"].startswith("/dashboard/login?next=/dashboard")
        for url in JSON:
            assert (await client.get(url)).status_code == 401, url
        # An API key header is not a dashboard session.
        answer = await client.get("/dashboard", headers={"X-API-KEY": API_KEY})
        assert answer.status_code == 303


async def test_sign_in_sets_a_signed_httponly_samesite_cookie(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False)
    async with browser(stack) as client:
        answer = await sign_in(client, "rotated-key")  # any configured key
        assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
        cookie = next(
            value
            for name, value in answer.headers.multi_items()
            if name == "set-cookie" and value.startswith(SESSION_COOKIE)
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
        assert "rotated-key" not in cookie
        for page in PAGES[:2]:
            assert (await client.get(page)).status_code == 200, page
        answer = await client.get("/dashboard")
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"


async def test_a_wrong_key_or_a_form_without_its_token_signs_nobody_in(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False)
    async with browser(stack) as client:
        wrong = await sign_in(client, "not-a-key")
        assert wrong.status_code == 401 and "not accepted" in wrong.text
        assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
        forged = await client.post(
            "/dashboard/login", data={"api_key": API_KEY, "csrf_token": "x" * 64}
        )
        assert forged.status_code == 400 and "expired" in forged.text
        assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")
        assert (await client.get("/dashboard")).status_code == 303


async def test_a_cookie_signed_elsewhere_or_for_a_removed_key_is_refused(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False)
    # The old cookie format (a signed key fingerprint) and made-up session ids mean nothing.
    other = URLSafeTimedSerializer(b"someone else's secret", salt="disparo.dashboard.session")
    async with browser(stack) as client:
        for value in (other.dumps({"k": "x", "n": "x"}), "garbage", "A" * 43, "x" * 5000):
            client.cookies.set(SESSION_COOKIE, value, path="/dashboard")
            assert (await client.get("/dashboard")).status_code == 303
    # Signed in with a key that is then taken out of DISPARO_API_KEYS: signed out. A fixed
    # signing secret, so the cookie stays validly signed and only the key check can refuse it.
    stack = await stack_factory(with_worker=False, dashboard_secret=SecretStr("fixed-secret"))
    async with browser(stack) as client:
        await sign_in(client, "rotated-key")
        assert (await client.get("/dashboard")).status_code == 200
        stack.runtime.settings.api_keys.pop()  # "rotated-key"
        assert (await client.get("/dashboard")).status_code == 303


async def test_sign_out_needs_the_csrf_token(stack_factory: StackFactory) -> None:
    stack = await stack_factory(with_worker=False)
    async with browser(stack) as client:
        await sign_in(client, API_KEY)
        page = await client.get("/dashboard")
        refused = await client.post("/dashboard/logout", data={"csrf_token": "nope"})
        assert refused.status_code == 403 and "Nothing was changed" in refused.text
        assert (await client.get("/dashboard")).status_code == 200
        done = await client.post("/dashboard/logout", data={"csrf_token": csrf_of(page.text)})
        assert done.status_code == 303
        assert (await client.get("/dashboard")).status_code == 303


async def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(
    stack_factory: StackFactory,
) -> None:
    stack = await stack_factory(with_worker=False)
    async with browser(stack) as client:
        for target, expected in (
            ("/dashboard/queues", "/dashboard/queues"),
            ("https://evil.example/", "/dashboard"),
            ("//evil.example/dashboard", "/dashboard"),
        ):
            form = await client.get("/dashboard/login")
            answer = await client.post(
                "/dashboard/login",
                data={"api_key": API_KEY, "csrf_token": csrf_of(form.text), "next": target},
            )
            assert answer.headers["location"] == expected


async def test_a_non_ascii_token_is_refused_like_any_wrong_one(
    stack_factory: StackFactory,
) -> None:
    # hmac.compare_digest raises TypeError for a str that is not ASCII: it was a 500.
    stack = await stack_factory(with_worker=False)
    async with browser(stack) as client:
        await client.get("/dashboard/login")
        login = await client.post("/dashboard/login", data={"api_key": "x", "csrf_token": "é"})
        assert login.status_code == 400 and "expired" in login.text
        await sign_in(client, API_KEY)
        out = await client.post("/dashboard/logout", data={"csrf_token": "é"})
        assert out.status_code == 403 and "Nothing was changed" in out.text
        action = await client.post("/dashboard/campaigns/C1/cancel", data={"csrf_token": "é"})
        assert action.status_code == 403
        assert (await client.get("/dashboard")).status_code == 200
