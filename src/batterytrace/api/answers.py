"""How the REST binding answers: content negotiation (JSON-LD, JSON, XML), query parameters
as the binding writes them (``|`` between values, §12.4), EPCISQueryDocuments with their
``Link: <…>; rel="next"`` page, and the page tokens of the lists that are not events."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from batterytrace.api.problems import Problem
from batterytrace.epcis import json_ld
from batterytrace.epcis import xml as xml_syntax
from batterytrace.epcis.model import Document, DocumentKind, Event

JSON_LD = "application/ld+json"
JSON = "application/json"
XML = "application/xml"
EVENT_TYPES = (JSON_LD, JSON, XML)
_ALIASES = {"text/xml": XML}
# parameters of the paging of a list, not of the query
PAGING = frozenset({"perPage", "nextPageToken"})
DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 1000  # of lists other than events (events: store.query.MAX_PER_PAGE)
# The paging parameters of a list other than events, for the OpenAPI document
PAGING_PARAMETERS = [
    {
        "in": "query",
        "name": "perPage",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_PER_PAGE},
        "description": f"Members a page: at most {MAX_PER_PAGE:,} (more are taken as "
        f"{MAX_PER_PAGE:,}).",
    },
    {
        "in": "query",
        "name": "nextPageToken",
        "required": False,
        "schema": {"type": "string"},
        "description": "The page the `Link` header of the one before names.",
    },
]


def accepted(request: Request, offered: tuple[str, ...] = (JSON,)) -> str:
    """The media type to answer in: the client's most preferred (``Accept``, RFC 9110
    §12.5.1) of ``offered``; 406 NotAcceptableException when it accepts none of them."""
    header = request.headers.get("accept", "").strip()
    if not header:
        return offered[0]
    best: tuple[float, int, str] | None = None
    for rank, part in enumerate(header.split(",")):
        media, *options = (p.strip() for p in part.split(";"))
        media = _ALIASES.get(media.lower(), media.lower())
        q = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        for choice in offered:
            kind = choice.split("/")[0]
            if media in (choice, "*/*", f"{kind}/*"):
                candidate = (q, -rank, choice)
                if best is None or candidate[:2] > best[:2]:
                    best = candidate
                break
    if best is None:
        raise Problem(
            406,
            "NotAcceptableException",
            f"Accept: {header[:200]!r}: this resource is served as {', '.join(offered)}",
        )
    return best[2]


def query_params(request: Request, ignored: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """The query string as EPCIS query parameters: repeated names gathered, each value split
    at ``|`` (the binding's separator; ``,`` may belong to an identifier)."""
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        if name not in ignored:
            params.setdefault(name, []).extend(value.split("|"))
    return params


def next_link(request: Request, token: str) -> str:
    return f'<{request.url.include_query_params(nextPageToken=token)}>; rel="next"'


def query_document(
    request: Request,
    events: list[Event],
    next_token: str | None,
    query_name: str,
    subscription_id: str | None = None,
) -> Response:
    """An EPCISQueryDocument of ``events`` in the media type the client accepts."""
    media = accepted(request, EVENT_TYPES)
    doc = Document(
        kind=DocumentKind.QUERY,
        creationDate=datetime.now(UTC),
        events=events,
        queryName=query_name,
        subscriptionID=subscription_id,
    )
    content = (
        xml_syntax.write_document(doc)
        if media == XML
        else orjson.dumps(json_ld.document_to_json(doc))
    )
    headers = {"Link": next_link(request, next_token)} if next_token else None
    return Response(content, 200, headers, media_type=media)


def json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status, headers, media_type=JSON)


def per_page(request: Request) -> int:
    """``perPage`` of a list other than events: 30 unless given, at most 1,000."""
    raw = request.query_params.get("perPage")
    if raw is None:
        return DEFAULT_PER_PAGE
    if not raw.isdigit() or int(raw) < 1:
        raise Problem(
            400, "QueryParameterException", f"perPage: {raw!r} is not a whole number of at least 1"
        )
    return min(int(raw), MAX_PER_PAGE)


def only(request: Request, names: Iterable[str]) -> None:
    """QueryParameterException naming the first query parameter not in ``names``."""
    allowed = set(names)
    for name in request.query_params:
        if name not in allowed:
            raise Problem(
                400,
                "QueryParameterException",
                f"{name}: not a parameter of {request.url.path}"
                f" (it takes {', '.join(sorted(allowed)) or 'none'})",
            )


def page_token(kind: str, position: list[Any]) -> str:
    """The token of the page after ``position`` in the list ``kind``."""
    raw = orjson.dumps({"k": kind, "a": position})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position(request: Request, kind: str) -> list[Any] | None:
    """Where the page the request's ``nextPageToken`` names starts in the list ``kind``;
    QueryParameterException for a token this list did not issue."""
    token = request.query_params.get("nextPageToken")
    if token is None:
        return None
    try:
        obj = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if obj["k"] != kind or not isinstance(obj["a"], list):
            raise ValueError
        at: list[Any] = obj["a"]
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise Problem(
            400, "QueryParameterException", "nextPageToken: not a token this list issued"
        ) from None
    return at


def holds_nul(value: Any) -> bool:
    """Whether a string of ``value`` (a JSON value: keys too) holds U+0000, which no identifier,
    term, name or date has, nor any EPCIS event (XML 1.0 has no such character), and which
    PostgreSQL cannot store or even compare."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False
