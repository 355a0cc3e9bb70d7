"""One error base class, rendered by one handler, in the shape the WordPress plugin reads:
`message` is always a string (WordPress prints it), with field detail beside it. And the one
classifier that says what an exception means for the work it interrupted (`classify`)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import compile_path

log = structlog.get_logger(__name__)


class Outcome(StrEnum):
    """What an exception says happened on the other side (a provider, WordPress), and so
    what may be done next. The values are the metrics' `outcome` labels."""

    RETRY = "retryable"  # the other side did not act: trying again later is safe
    UNKNOWN = "unknown"  # it may have acted: never repeated blind
    DEADLINE = "deadline"  # no whole answer in time: it may have acted
    REJECTED = "rejected"  # it refused: final, trying again cannot help
    CREDENTIALS = "credentials"  # no usable key for it: final (WordPress hears erro_credenciais)
    INVALID = "invalid"  # the input cannot be used: final (erro_validacao)
    CRASHED = "crashed"  # our own failure mid-work: it may have acted

    @property
    def final(self) -> bool:
        """Refused for good: end the work as failed."""
        return self in (Outcome.REJECTED, Outcome.CREDENTIALS, Outcome.INVALID)

    @property
    def may_have_acted(self) -> bool:
        return self in (Outcome.UNKNOWN, Outcome.DEADLINE, Outcome.CRASHED)


def classify(error: BaseException) -> Outcome:
    """The outcome an exception stands for. Error types of the layers above declare theirs
    in an `outcome` attribute (a class attribute, or a property when it depends on the
    instance, as WordPress's `retryable` does), so this bottom layer imports none of them;
    a timeout is a deadline, anything else a crash."""
    declared = getattr(error, "outcome", None)
    if isinstance(declared, Outcome):
        return declared
    if isinstance(error, TimeoutError):
        return Outcome.DEADLINE
    return Outcome.CRASHED


def message_of(error: BaseException) -> str:
    """The operator-facing text of an error (our error types carry `message`)."""
    message = getattr(error, "message", None)
    return message if isinstance(message, str) and message else str(error) or repr(error)


class CredentialsError(Exception):
    """Credentials are missing or incomplete: the campaign fails with erro_credenciais. Here at
    the base because both WordPress (which hands credentials out) and the providers (which
    read them) raise it."""

    outcome = Outcome.CREDENTIALS

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.missing = list(missing)


class DisparoError(Exception):
    status_code = 500

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(DisparoError):
    status_code = 400


class Unauthorized(DisparoError):
    status_code = 401


class NotFound(DisparoError):
    status_code = 404


class Conflict(DisparoError):
    """The request cannot apply to the resource's current state (e.g. resuming a cancelled
    campaign)."""

    status_code = 409


class Unavailable(DisparoError):
    status_code = 503


# What a request refused for load hears (admission.py, and an exhausted database pool).
OVERLOADED = "disparo está sobrecarregado; tente novamente em instantes"


def error_body(
    status: int, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "statusCode": status,
        "message": message,
        "error": HTTPStatus(status).phrase,
    }
    if details:
        body["details"] = details
    return body


def _field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        if error.get("type") == "json_invalid":
            details.append({"field": "body", "message": "o corpo da requisição não é JSON válido"})
            continue
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        details.append({"field": ".".join(location) or "body", "message": error.get("msg", "")})
    return details


def validation_failed(errors: Sequence[Any]) -> BadRequest:
    """Pydantic's error list as our 400: a string message plus field detail."""
    details = _field_errors(errors)
    return BadRequest(_validation_message(details), details=details)


def _validation_message(details: list[dict[str, Any]]) -> str:
    fields = [detail["field"] for detail in details]
    if "agendamento_id" in fields:
        return "agendamento_id must be a non-empty string"
    if fields == ["body"]:
        return str(details[0]["message"])
    return "; ".join(f"{detail['field']}: {detail['message']}" for detail in details)


def allowed_methods(request: Request) -> str:
    """Every method the routes at this path serve. Starlette's 405 names only the first route
    whose path matches, and GET and POST /suppressions are two routes. A literal path
    (/suppressions/export) is served by its own routes, not by /suppressions/{phone}."""
    literal: set[str] = set()
    matching: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        path, methods = str(context.path), set(context.methods or ())
        if path == request.url.path:
            literal |= methods
        elif compile_path(path)[0].match(request.url.path):
            matching |= methods
    return ", ".join(sorted(literal or matching))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DisparoError)
    async def _disparo(_: Request, exc: DisparoError) -> JSONResponse:
        body = error_body(exc.status_code, exc.message, exc.details)
        return JSONResponse(body, exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        error = validation_failed(exc.errors())
        return JSONResponse(error_body(400, error.message, error.details), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The exception's headers matter: a 405 must say what is Allowed.
        body = error_body(exc.status_code, str(exc.detail))
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return JSONResponse(body, exc.status_code, headers=headers)

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        if (
            not isinstance(exc, OperationalError | InterfaceError)
            and not exc.connection_invalidated
        ):
            return await _crash(_, exc)
        log.error("api.database_unavailable", error=str(exc.orig))
        return JSONResponse(error_body(503, "Banco de dados indisponível; tente novamente"), 503)

    @app.exception_handler(OSError)
    async def _unreachable(_: Request, exc: OSError) -> JSONResponse:
        # asyncpg raises plain OSError/ConnectionRefusedError when the server is down.
        log.error("api.dependency_unreachable", error=repr(exc))
        return JSONResponse(error_body(503, "Banco de dados indisponível; tente novamente"), 503)

    @app.exception_handler(RedisError)
    async def _redis(_: Request, exc: RedisError) -> JSONResponse:
        # Dashboard sessions, throttles and queues live in Redis.
        log.error("api.redis_unavailable", error=type(exc).__name__)
        return JSONResponse(error_body(503, "Redis indisponível; tente novamente"), 503)

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(_: Request, exc: PoolTimeout) -> JSONResponse:
        # Every pooled connection stayed busy past the pool's wait: busy, not broken.
        log.warning("api.database_pool_exhausted")
        body = error_body(503, OVERLOADED)
        return JSONResponse(body, 503, headers={"Retry-After": "1"})

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        # The client left before its body arrived: nobody reads this answer, and it is no
        # error of ours (under load, thousands of these must not each log a traceback).
        log.debug("api.client_gone", path=request.url.path)
        return JSONResponse(error_body(400, "O cliente desconectou"), 400)

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("api.unhandled_error")
        return JSONResponse(error_body(500, "Erro interno do disparo; veja os logs"), 500)
