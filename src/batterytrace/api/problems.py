"""Errors as RFC 7807 problem details (``application/problem+json``), typed as the EPCIS 2.0
REST binding types them (``epcisException:…``); the project's other errors as
``batterytrace:<Error>``. Nothing but the one-line message reaches a client: never a trace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from batterytrace import errors as e

MEDIA_TYPE = "application/problem+json"
PACT_PATHS = ("/2/", "/3/", "/.well-known/")

# (status, problem type) of each error class; the first class an error is an instance of wins
_TYPES: list[tuple[type[BaseException], int, str]] = [
    (e.AuthenticationError, 401, "epcisException:SecurityException"),
    (e.Forbidden, 403, "epcisException:SecurityException"),
    (e.NoSuchName, 404, "epcisException:NoSuchNameException"),
    (e.NoSuchResource, 404, "epcisException:NoSuchResourceException"),
    (e.AlreadyExists, 409, "epcisException:ResourceAlreadyExistsException"),
    (e.DuplicateEventConflict, 409, "epcisException:ResourceAlreadyExistsException"),
    (e.CaptureLimitExceeded, 413, "epcisException:CaptureLimitExceededException"),
    (e.QueryTooLarge, 413, "epcisException:QueryTooLargeException"),
    (e.QueryError, 400, "epcisException:QueryParameterException"),
    (e.SubscriptionError, 400, "epcisException:SubscriptionControlsException"),
    (e.InvalidDocument, 400, "epcisException:ValidationException"),
    (e.InvalidIdentifier, 400, "epcisException:ValidationException"),
    (e.StaleVersion, 412, "batterytrace:StaleVersion"),
    (e.ImportConflict, 409, "batterytrace:ImportConflict"),
    (e.StoreError, 503, "epcisException:ImplementationException"),
    (e.LedgerKeyError, 500, "epcisException:ImplementationException"),
    (e.SettingError, 500, "epcisException:ImplementationException"),
]
_TITLES = {
    400: "Bad request",
    401: "Unauthorised request",
    403: "Access to resource forbidden",
    404: "Resource not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Resource already exists",
    412: "Precondition failed",
    413: "Payload too large",
    414: "URI too long",
    415: "Unsupported media type",
    500: "A server-side error occurred",
    503: "Store unavailable",
}
# EPCIS exception types of the statuses Starlette raises itself
_HTTP_TYPES = {
    404: "epcisException:NoSuchResourceException",
    405: "epcisException:ValidationException",
    406: "epcisException:NotAcceptableException",
    413: "epcisException:CaptureLimitExceededException",
    414: "epcisException:URITooLongException",
    415: "epcisException:UnsupportedMediaTypeException",
}


class Problem(Exception):
    """An error answered as it is: ``status``, EPCIS exception ``kind`` (the name after
    ``epcisException:``), one-line ``detail``."""

    def __init__(
        self, status: int, kind: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type = f"epcisException:{kind}"
        self.detail = detail
        self.headers = headers or {}


def body(status: int, type_: str, detail: str, title: str | None = None) -> dict[str, Any]:
    """The problem object (also an entry of a capture job's ``errors``)."""
    return {
        "type": type_,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }


def of_error(exc: e.BatteryTraceError) -> tuple[int, dict[str, Any]]:
    """The status and problem object of one of the project's errors."""
    for cls, status, type_ in _TYPES:
        if isinstance(exc, cls):
            return status, body(status, type_, str(exc))
    name = type(exc).__name__
    return 400, body(400, f"batterytrace:{name}", str(exc), title=name)


def response(
    status: int, problem: dict[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(problem), status, headers, media_type=MEDIA_TYPE)


async def on_error(request: Request, exc: Exception) -> Response:
    status, problem = of_error(exc)  # type: ignore[arg-type]
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    if status >= 500:
        request.app.state.log.error("%s %s: %s", request.method, request.url.path, exc)
    return response(status, problem, headers)


async def on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return response(exc.status, body(exc.status, exc.type, exc.detail), exc.headers)


async def on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    type_ = _HTTP_TYPES.get(exc.status_code, "epcisException:ImplementationException")
    detail = str(exc.detail) if exc.detail else _TITLES.get(exc.status_code, "")
    if exc.status_code == 404:
        detail = f"{request.url.path}: no such resource"
    return response(exc.status_code, body(exc.status_code, type_, detail), exc.headers)


async def on_invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's checks of parameters and bodies: a 400 naming each field and rule
    (QueryParameterException when they are all query parameters, ValidationException when a
    header or the body is wrong)."""
    assert isinstance(exc, RequestValidationError)
    parts = []
    in_query = True
    for error in exc.errors():
        where = [str(p) for p in error["loc"]]
        in_query = in_query and where[:1] == ["query"]
        parts.append(f"{'.'.join(where[1:]) or where[0]}: {error['msg']}")
    kind = "QueryParameterException" if in_query else "ValidationException"
    return response(400, body(400, f"epcisException:{kind}", "; ".join(parts)))


async def on_crash(request: Request, exc: Exception) -> Response:
    """The last resort: logged with its trace on the server, one line to the client."""
    request.app.state.log.exception("%s %s failed", request.method, request.url.path)
    return response(
        500,
        body(
            500,
            "epcisException:ImplementationException",
            f"internal error ({type(exc).__name__}); the server's log has the details",
        ),
    )


def of_class(name: str, detail: str) -> dict[str, Any]:
    """The problem object of an error known by its class name (a capture job's errors)."""
    cls = getattr(e, name, None)
    if isinstance(cls, type) and issubclass(cls, e.BatteryTraceError):
        for known, status, type_ in _TYPES:
            if issubclass(cls, known):
                return body(status, type_, detail)
    return body(400, "epcisException:ValidationException", detail)


# The problem object, as the OpenAPI document declares it
SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error as RFC 7807 problem details, typed as the EPCIS 2.0 REST binding "
    "types its exceptions (the project's other errors: `batterytrace:<Error>`).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "pattern": "^(epcisException|batterytrace):[A-Za-z]+$",
            "examples": ["epcisException:QueryParameterException"],
        },
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
    },
}
# What every route, or every route of a kind, may answer
_ANY = {
    400: "A malformed request: a parameter, header or body not as this route takes it "
    "(QueryParameterException, ValidationException, ...).",
    406: "The Accept header, or the GS1-EPCIS-/GS1-CBV- version headers, ask for what this "
    "server does not serve (NotAcceptableException).",
}
_SECURED = {
    401: "No bearer access token, or a forged, expired or revoked one (SecurityException).",
    403: "The token lacks the scope this route needs (SecurityException).",
}
_NAMED = {404: "No such resource (NoSuchResourceException, NoSuchNameException)."}


def document(openapi: dict[str, Any]) -> None:
    """Declare in the OpenAPI document ``openapi`` the problems each route answers: 400 and
    406 (any route: its parameters, the version headers), 401 and 403 (a route that needs a
    token), 404 (a route with path parameters), and the errors a route declares itself with
    no content; in place of FastAPI's 422, which is answered 400 (:func:`on_invalid_request`)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = SCHEMA
    problem = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in openapi.get("paths", {}).items():
        if path.startswith(PACT_PATHS):  # the PACT routes' errors are PACT's (decision 042)
            continue
        for operation in operations.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            responses.pop("422", None)
            general = _ANY | (_SECURED if operation.get("security") else {})
            general |= _NAMED if "{" in path else {}
            for status, description in general.items():
                entry = responses.setdefault(str(status), {"description": description})
                entry.setdefault("content", {}).update(problem)
            for code, declared in responses.items():
                if code[0] in "45" and not declared.get("content"):
                    declared["content"] = dict(problem)
    for name in ("HTTPValidationError", "ValidationError"):  # the 422's, gone
        schemas.pop(name, None)
