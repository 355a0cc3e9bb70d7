"""Dashboard sign-in: an API key with the `dashboard` scope exchanged for a server-side
session (sessions.py) named by a random id in an HttpOnly, SameSite, Secure cookie; every POST
needs the session's CSRF token. Failed sign-ins are throttled per client and per key tried.

`dashboard` only opens the door: what a session may see or do is what its key may do on the
API (`read` for pages, `operate` for actions), checked on every request by `SessionWith`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import parse_qs

import structlog
from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from disparo.apikeys import ApiKey, Scope, find_key, same_secret
from disparo.config import Settings
from disparo.dashboard import sessions
from disparo.dashboard.sessions import Session
from disparo.runtime import Runtime
from disparo.security import redis_client
from disparo.throttle import Throttle

log = structlog.get_logger(__name__)

SESSION_COOKIE = "disparo_session"
LOGIN_COOKIE = "disparo_login"
FLASH_COOKIE = "disparo_flash"  # what an action did, shown once on the next page
FLASH_SECONDS = 120
LOGIN_FORM_SECONDS = 3600
MAX_FORM_BYTES = 16_384

__all__ = ["Session"]


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form, JSON answers 401."""


class CsrfRejected(Exception):
    """A POST without the token of the signed-in session (or of the sign-in form)."""


class ScopeRequired(Exception):
    """A signed-in session whose key lacks a scope the page or action needs: 403."""

    def __init__(self, session: Session, scope: Scope) -> None:
        super().__init__(f"{session.key_name} lacks {scope.value}")
        self.session = session
        self.scope = scope


def _secret(settings: Settings) -> bytes:
    if settings.dashboard_secret is not None and settings.dashboard_secret.get_secret_value():
        return settings.dashboard_secret.get_secret_value().encode()
    # Development only (production refuses to start without a secret): derived from the keys
    # so that every process of the dev stack agrees without configuration.
    keys = sorted(key.get_secret_value() for key in settings.api_keys)
    return hashlib.sha256("\0".join(["disparo-dashboard", *keys]).encode()).digest()


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(settings), salt=f"disparo.dashboard.{purpose}")


def _token(settings: Settings, purpose: str, nonce: str) -> str:
    return hmac.new(_secret(settings), f"{purpose}:{nonce}".encode(), "sha256").hexdigest()


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _settings(request: Request) -> Settings:
    return _runtime(request).settings


async def current_session(request: Request) -> Session:
    """The signed-in session, or SignInRequired. A session dies with its key: removing a key
    from DISPARO_API_KEYS (or its dashboard scope) signs out whoever used it. Only sign-out
    depends on this alone; pages and actions use SessionWith."""
    settings = _settings(request)
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or len(raw) > 100 or not settings.api_keys:
        raise SignInRequired
    client = redis_client(request)
    found = await sessions.load(client, settings, _secret(settings), raw, settings.inbound_keys)
    if found is None:
        raise SignInRequired
    return found


class SessionWith:
    """The dependency of every page and action: the signed-in session, its key allowed
    `scopes` (as configured now), else ScopeRequired."""

    def __init__(self, *scopes: Scope) -> None:
        self.scopes = scopes

    async def __call__(self, session: Annotated[Session, Depends(current_session)]) -> Session:
        for scope in self.scopes:
            if not session.allows(scope):
                log.warning("dashboard.scope_refused", key=session.key_name, scope=scope.value)
                raise ScopeRequired(session, scope)
        return session


async def start_session(request: Request, response: Response, key: ApiKey) -> None:
    settings = _settings(request)
    client = redis_client(request)
    session = await sessions.create(client, settings, _secret(settings), key)
    _set_cookie(response, settings, SESSION_COOKIE, session.id, settings.dashboard_session_hours)
    response.delete_cookie(LOGIN_COOKIE, path="/dashboard")


async def end_session(request: Request, response: Response, session: Session) -> None:
    await sessions.end(redis_client(request), _settings(request), session.id)
    response.delete_cookie(SESSION_COOKIE, path="/dashboard")


def signin_throttles(request: Request) -> tuple[Throttle, Throttle]:
    """(per client address, per key tried)."""
    settings = _settings(request)
    client = redis_client(request)
    limit, window = settings.signin_failure_limit, settings.auth_failure_window
    return (
        Throttle(client, settings.queue_prefix, "signin-client", limit, window),
        Throttle(client, settings.queue_prefix, "signin-key", limit, window),
    )


def tried_key_bucket(request: Request, given: str) -> str:
    """The per-key throttle's bucket: an HMAC, so Redis never holds what someone typed."""
    return hmac.new(_secret(_settings(request)), given.encode(), "sha256").hexdigest()


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
    if not same_secret(given, _token(settings, "login", str(nonce))):
        raise CsrfRejected


def check_csrf(session: Session, given: str) -> None:
    if not given or not same_secret(given, session.csrf_token):
        raise CsrfRejected


def accepted_key(request: Request, given: str) -> ApiKey | None:
    return find_key(_settings(request).inbound_keys, given)


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (all our forms), first value of each field.
    Read from the stream and dropped (empty form) once past 16 KB, without reading the rest."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return {}
        chunks.append(chunk)
    body = b"".join(chunks)
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
        secure=settings.secure_cookie,
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
