"""What the OpenAPI document promises, kept equal to what the API answers (a property-based
test from the schema checks it): our errors are 400 (never FastAPI's 422), every error has
the WordPress error shape, and request bodies are parsed by the route after its key check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ValidationError

from disparo.errors import validation_failed

M = TypeVar("M", bound=BaseModel)


class ErrorBody(BaseModel):
    statusCode: int
    message: str
    error: str
    details: list[dict[str, Any]] | None = None


_WHY = {
    400: "Invalid request (message names the field)",
    401: "API key missing or wrong",
    403: "The API key lacks this route's scope",
    404: "Not found",
    409: "Not possible in the resource's current state",
    408: "The request body did not arrive in time",
    413: "Request body over DISPARO_MAX_BODY_BYTES",
    429: "Too many wrong API keys from this client",
    503: "A dependency (database, Redis) is unavailable, or no key is configured",
}
AUTH_ERRORS = (400, 401, 403, 408, 413, 429, 503)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route or router: these statuses, with the error body."""
    return {code: {"model": ErrorBody, "description": _WHY[code]} for code in codes}


def self_contained(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic model's schema with its nested models written in place: a "#/$defs/..."
    reference means nothing inside an OpenAPI document, where tools could not read the body."""
    defs = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


def body_schema(schema: dict[str, Any], *, required: bool) -> dict[str, Any]:
    """`openapi_extra=` of a route that reads its JSON body itself (see parse_body)."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        }
    }


async def parse_body(request: Request, model: type[M], *, required: bool = True) -> M | None:
    """The JSON body as `model`, read only now (after the key check); an empty body is None
    when not required. Invalid -> 400 with field detail."""
    raw = await request.body()
    if not raw.strip() and not required:
        return None
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise validation_failed(exc.errors()) from None


def install_openapi(app: FastAPI, patch: Callable[[dict[str, Any]], None]) -> None:
    """FastAPI documents 422 for every route with parameters; we answer 400 instead.
    `patch` adds what only the running app knows (e.g. the providers it serves)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None and "400" not in responses:
                    responses["400"] = {
                        "description": _WHY[400],
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ErrorBody"}
                            }
                        },
                    }
        components = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        patch(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_links(
    schema: dict[str, Any],
    source: tuple[str, str, str],
    targets: list[tuple[str, str, dict[str, str]]],
) -> None:
    """OpenAPI links: which answer feeds which call (a stateful test follows them).
    `source` is (method, path, status); each target (method, path, parameters)."""
    method, path, status = source
    response = schema["paths"][path][method]["responses"][status]
    links = response.setdefault("links", {})
    for target_method, target_path, parameters in targets:
        operation = schema["paths"][target_path][target_method]["operationId"]
        links[operation] = {"operationId": operation, "parameters": parameters}
