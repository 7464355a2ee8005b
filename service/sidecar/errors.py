"""Every error the sidecar returns is JSON: ``{error, message, details}``.

Client mistakes are 4xx: invalid JSON 400, a missing or wrong API key 401,
an unknown suggestion 404, text or lists over their limits 413, anything
else that does not fit the schema 422. A 500 means a bug in the sidecar.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..tracebacks import where_it_failed
from .schemas import ErrorResponse, error_body

log = logging.getLogger("quickphrase.sidecar")

_TOO_LONG = frozenset({"string_too_long", "too_long"})
_WRONG_SHAPE = frozenset({"model_attributes_type", "model_type", "list_type", "dict_type"})
_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "body_too_large",
}


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.details = status, error, message, details


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer."""
    described = {
        400: "Invalid JSON",
        401: "Missing or wrong API key",
        403: "Admin routes need an API key configured",
        404: "Unknown id",
        413: "Body, text or list over its limit",
        415: "The body is not sent as JSON",
        422: "The request does not fit the schema",
        503: "The store cannot take the write",
    }
    return {s: {"model": ErrorResponse, "description": described[s]} for s in statuses}


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = _without_other_branches(exc.errors())
    details = [{"field": _field(e.get("loc", ())), "problem": e.get("msg", "")} for e in errors]
    kinds = {e.get("type") for e in errors}
    if "json_invalid" in kinds:
        return _json(400, "invalid_json", "the body is not valid JSON", details)
    if _not_json(request) and any(tuple(e.get("loc", ())) == ("body",) for e in errors):
        return _json(
            415,
            "unsupported_media_type",
            "send the body as JSON with the header Content-Type: application/json",
            details,
        )
    if any(e.get("type") in _TOO_LONG and e.get("loc", ("",))[0] == "body" for e in errors):
        return _json(413, "too_large", "; ".join(_summary(e) for e in errors), details)
    return _json(422, "validation_error", "; ".join(_summary(e) for e in errors), details)


def _without_other_branches(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """A body that may take two shapes (``{"messages": [...]}`` or a bare list)
    fails against both; report only the shape the client sent."""
    tagged = [e for e in errors if len(e.get("loc", ())) > 1 and _is_branch(e["loc"][1])]
    if len(tagged) != len(errors) or not errors:
        return list(errors)
    kept = [e for e in errors if not (len(e["loc"]) == 2 and e["type"] in _WRONG_SHAPE)]
    return [{**e, "loc": (e["loc"][0], *e["loc"][2:])} for e in kept or errors]


def _is_branch(tag: object) -> bool:
    # pydantic names union branches by model ("ClassifyRequest") or type ("list[...]").
    return isinstance(tag, str) and (tag[:1].isupper() or "[" in tag)


def _not_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    return kind != "application/json" and not kind.endswith("+json")


def _summary(error: dict[str, Any]) -> str:
    where = _field(tuple(p for p in error.get("loc", ()) if p != "body"))
    return f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", ""))


def _http(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 400:
        # FastAPI's own answer to a body it cannot decode (not UTF-8, nested too deep).
        return _json(400, "invalid_json", "the body is not valid UTF-8 JSON")
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return _json(exc.status_code, code, message, headers=exc.headers)


def _api(request: Request, exc: ApiError) -> JSONResponse:
    return _json(exc.status, exc.error, exc.message, exc.details)


class CatchAllMiddleware:
    """Turns an unexpected exception into a JSON 500 and stops it there.

    Starlette's own last-resort handler re-raises to the server, which logs
    the exception with its message, and a message can quote buyer text; this
    logs the type and code location instead.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_and_note(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception as exc:
            log.error("unexpected error", extra={"path": scope["path"], "at": where_it_failed(exc)})
            if not started:
                response = _json(500, "internal_error", "the sidecar failed on this request")
                await response(scope, receive, send)


def _json(
    status: int,
    error: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(error, message, details), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api)  # type: ignore[arg-type]
