"""Dashboard sign-in: an API key exchanged for a signed, HttpOnly, SameSite cookie, and a
CSRF token (an HMAC of the session's nonce) required by every POST."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from disparo.config import Settings
from disparo.runtime import Runtime
from disparo.security import is_api_key

SESSION_COOKIE = "disparo_session"
LOGIN_COOKIE = "disparo_login"
FLASH_COOKIE = "disparo_flash"  # what an action did, shown once on the next page
FLASH_SECONDS = 120
LOGIN_FORM_SECONDS = 3600
MAX_FORM_BYTES = 16_384


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, JSON answers 401."""


class CsrfRejected(Exception):
    """A POST without the token of the signed-in session (or of the sign-in form)."""


@dataclass(frozen=True, slots=True)
class Session:
    key_fingerprint: str
    nonce: str
    csrf_token: str


def _secret(settings: Settings) -> bytes:
    if settings.dashboard_secret is not None and settings.dashboard_secret.get_secret_value():
        return settings.dashboard_secret.get_secret_value().encode()
    # Derived from the keys: every API process agrees without configuration, and a key
    # rotation signs everyone out.
    keys = sorted(key.get_secret_value() for key in settings.api_keys)
    return hashlib.sha256("\0".join(["disparo-dashboard", *keys]).encode()).digest()


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(settings), salt=f"disparo.dashboard.{purpose}")


def _token(settings: Settings, purpose: str, nonce: str) -> str:
    return hmac.new(_secret(settings), f"{purpose}:{nonce}".encode(), "sha256").hexdigest()


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _settings(request: Request) -> Settings:
    rt: Runtime = request.app.state.runtime
    return rt.settings


def current_session(request: Request) -> Session:
    """The signed-in session, or SignInRequired. A session dies with its key: removing a key
    from DISPARO_API_KEYS signs out whoever used it."""
    settings = _settings(request)
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or not settings.api_keys:
        raise SignInRequired
    try:
        data = _serializer(settings, "session").loads(
            raw, max_age=int(settings.dashboard_session_hours * 3600)
        )
    except BadSignature:
        raise SignInRequired from None
    if not isinstance(data, dict):
        raise SignInRequired
    known = {fingerprint(key.get_secret_value()) for key in settings.api_keys}
    if data.get("k") not in known:
        raise SignInRequired
    nonce = str(data.get("n"))
    return Session(str(data["k"]), nonce, _token(settings, "csrf", nonce))


def start_session(request: Request, response: Response, api_key: str) -> None:
    settings = _settings(request)
    value = _serializer(settings, "session").dumps(
        {"k": fingerprint(api_key), "n": secrets.token_urlsafe(16)}
    )
    _set_cookie(response, settings, SESSION_COOKIE, value, settings.dashboard_session_hours)
    response.delete_cookie(LOGIN_COOKIE, path="/dashboard")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/dashboard")


def new_login_token(request: Request) -> tuple[str, str]:
    """The sign-in form is CSRF-protected too (no one signs a visitor in with their key):
    (token for the form, value of the cookie that proves it)."""
    settings = _settings(request)
    nonce = secrets.token_urlsafe(16)
    return _token(settings, "login", nonce), _serializer(settings, "login").dumps(nonce)


def set_login_cookie(request: Request, response: Response, value: str) -> None:
    _set_cookie(response, _settings(request), LOGIN_COOKIE, value, LOGIN_FORM_SECONDS / 3600)


def check_login_token(request: Request, given: str) -> None:
    settings = _settings(request)
    try:
        nonce = _serializer(settings, "login").loads(
            request.cookies.get(LOGIN_COOKIE, ""), max_age=LOGIN_FORM_SECONDS
        )
    except BadSignature:
        raise CsrfRejected from None
    if not hmac.compare_digest(given, _token(settings, "login", str(nonce))):
        raise CsrfRejected


def check_csrf(session: Session, given: str) -> None:
    if not given or not hmac.compare_digest(given, session.csrf_token):
        raise CsrfRejected


def key_accepted(request: Request, given: str) -> bool:
    return is_api_key(_settings(request).api_keys, given)


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (all our forms), first value of each field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


def _set_cookie(
    response: Response, settings: Settings, name: str, value: str, hours: float
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(hours * 3600),
        path="/dashboard",
        httponly=True,
        samesite="lax",
        secure=settings.dashboard_secure_cookie,
    )


def set_flash(request: Request, response: Response, text: str) -> None:
    settings = _settings(request)
    value = _serializer(settings, "flash").dumps(text)
    _set_cookie(response, settings, FLASH_COOKIE, value, FLASH_SECONDS / 3600)


def take_flash(request: Request) -> str | None:
    """The message an action left for this page, if any (the caller clears the cookie)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        return str(_serializer(_settings(request), "flash").loads(raw, max_age=FLASH_SECONDS))
    except BadSignature:
        return None


def clear_flash(response: Response) -> None:
    response.delete_cookie(FLASH_COOKIE, path="/dashboard")
