"""Events (EPCIS 2.0 REST binding): ``GET /events`` with every SimpleEventQuery parameter and
``nextPageToken`` paging, ``GET /events/{eventID}``, and the top-level resources: the event
types, EPCs, business steps, business locations, read points and dispositions found in the
events, each with its own ``/{id}/events``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from batterytrace.api import answers
from batterytrace.api.discovery import collection
from batterytrace.api.security import Caller, needs
from batterytrace.epcis.model import EventType
from batterytrace.errors import NoSuchResource, QueryError
from batterytrace.services import events
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import query as event_query

router = APIRouter()

_TIME = {"type": "string", "format": "date-time"}
_LIST = {"type": "array", "items": {"type": "string"}, "minItems": 1}
_NUMBER = {"type": "number"}
_WHOLE = {"type": "integer", "minimum": 1}


def _parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {"in": "query", "name": name, "required": False, "schema": schema}
    if schema.get("type") == "array":
        shown |= {"style": "pipeDelimited", "explode": False}
    return shown


# The SimpleEventQuery parameters with fixed names (EPCIS 2.0 §8.2.7.1), for the OpenAPI
# document; the store's query reads them, and the ones named by a type, uom or field too.
QUERY_PARAMETERS = [
    _parameter(name, schema)
    for name, schema in (
        ("eventType", {**_LIST, "items": {"type": "string", "enum": [t.value for t in EventType]}}),
        ("GE_eventTime", _TIME),
        ("LT_eventTime", _TIME),
        ("GE_recordTime", _TIME),
        ("LT_recordTime", _TIME),
        ("EQ_action", {**_LIST, "items": {"type": "string", "enum": ["ADD", "OBSERVE", "DELETE"]}}),
        ("EQ_bizStep", _LIST),
        ("EQ_disposition", _LIST),
        ("EQ_persistentDisposition_set", _LIST),
        ("EQ_persistentDisposition_unset", _LIST),
        ("EQ_readPoint", _LIST),
        ("WD_readPoint", _LIST),
        ("EQ_bizLocation", _LIST),
        ("WD_bizLocation", _LIST),
        ("EQ_transformationID", _LIST),
        ("MATCH_epc", _LIST),
        ("MATCH_parentID", _LIST),
        ("MATCH_inputEPC", _LIST),
        ("MATCH_outputEPC", _LIST),
        ("MATCH_anyEPC", _LIST),
        ("MATCH_epcClass", _LIST),
        ("MATCH_inputEPCClass", _LIST),
        ("MATCH_outputEPCClass", _LIST),
        ("MATCH_anyEPCClass", _LIST),
        ("EQ_eventID", _LIST),
        ("orderBy", {"type": "string", "enum": ["eventTime", "recordTime"]}),
        ("orderDirection", {"type": "string", "enum": ["ASC", "DESC"]}),
        ("eventCountLimit", _WHOLE),
        ("maxEventCount", _WHOLE),
        (
            "perPage",
            {
                **_WHOLE,
                "default": event_query.DEFAULT_PER_PAGE,
                "description": f"Events a page: at most {event_query.MAX_PER_PAGE:,} (more are "
                f"taken as {event_query.MAX_PER_PAGE:,}).",
            },
        ),
        ("nextPageToken", {"type": "string"}),
    )
]
_PAGE_RESPONSE = {
    "description": 'An EPCISQueryDocument; `Link: <…>; rel="next"` names the next page.',
    "content": {
        answers.JSON_LD: {"schema": {"type": "object"}},
        answers.JSON: {"schema": {"type": "object"}},
        answers.XML: {"schema": {"type": "string"}},
    },
}
# of a route answering a page of a query's events
QUERY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _PAGE_RESPONSE,
    413: {"description": "More events match than `maxEventCount` (QueryTooLargeException)."},
}


def query_page(
    request: Request, uow: UnitOfWork, params: dict[str, list[str]], name: str, who: Caller
) -> Response:
    """One page of the query ``params`` as an EPCISQueryDocument named ``name``, of the
    events ``who`` may read."""
    answers.accepted(request, answers.EVENT_TYPES)  # 406 before any work
    page = events.query(uow, params, who.organisation)
    return answers.query_document(request, page.events, page.next_page_token, name)


@router.get(
    "/events",
    tags=["Events"],
    summary="Events matching the query parameters (EPCIS Query Language), paged.",
    openapi_extra={"parameters": QUERY_PARAMETERS},
    responses=QUERY_RESPONSES,
)
def every_event(request: Request, who: Annotated[Caller, needs("query")]) -> Response:
    uow = request.app.state.uow
    return query_page(request, uow, answers.query_params(request), events.QUERY_NAME, who)


@router.get(
    "/events/{eventID:path}",
    tags=["Events"],
    summary="One event, by its eventID.",
    responses={200: _PAGE_RESPONSE},
)
def one_event(request: Request, eventID: str, who: Annotated[Caller, needs("query")]) -> Response:
    answers.only(request, ())
    answers.accepted(request, answers.EVENT_TYPES)
    page = events.query(request.app.state.uow, {"EQ_eventID": [eventID]}, who.organisation)
    if not page.events:
        raise NoSuchResource(f"event {eventID!r}: no such event")
    return answers.query_document(request, page.events, None, events.QUERY_NAME)


@router.get("/eventTypes", tags=["Top-level"], summary="The EPCIS event types.")
def event_types(request: Request, who: Annotated[Caller, needs("query")]) -> Response:
    answers.only(request, answers.PAGING)
    return answers.json(collection([t.value for t in EventType]))


def _event_type(value: str) -> str:
    if value not in EventType._value2member_map_:
        raise NoSuchResource(f"event type {value!r}: not an EPCIS 2.0 event type")
    return value


@router.get(
    "/eventTypes/{eventType}/events",
    tags=["Events"],
    summary="Events of one type, paged.",
    responses=QUERY_RESPONSES,
    openapi_extra={"parameters": [p for p in QUERY_PARAMETERS if p["name"] != "eventType"]},
)
def events_of_type(
    request: Request, eventType: str, who: Annotated[Caller, needs("query")]
) -> Response:
    params = answers.query_params(request) | {"eventType": [_event_type(eventType)]}
    return query_page(request, request.app.state.uow, params, events.QUERY_NAME, who)


@router.get(
    "/eventTypes/{eventType}", tags=["Top-level"], summary="The sub-resources of an event type."
)
def event_type(
    request: Request, eventType: str, who: Annotated[Caller, needs("query")]
) -> Response:
    answers.only(request, ())
    _event_type(eventType)
    return answers.json(collection(["events"]))


def _resource_routes(resource: str, label: str, name: str) -> None:
    """``/{resource}``, ``/{resource}/{name}`` and ``/{resource}/{name}/events`` of one
    top-level resource found in events."""
    path_parameter = {
        "in": "path",
        "name": name,
        "required": True,
        "schema": {"type": "string"},
        "description": f"The {label}, URL-encoded.",
    }

    def members(request: Request, who: Annotated[Caller, needs("query")]) -> Response:
        answers.only(request, answers.PAGING)
        at = answers.position(request, resource)
        size = answers.per_page(request)
        found = events.resource_members(
            request.app.state.uow, resource, at[0] if at else None, size + 1, who.organisation
        )
        headers = None
        if len(found) > size:
            found = found[:size]
            token = answers.page_token(resource, [found[-1]])
            headers = {"Link": answers.next_link(request, token)}
        return answers.json(collection(found), headers=headers)

    def selected(request: Request, who: Caller) -> dict[str, list[str]]:
        """The query parameter selecting the events of the path's value ``who`` may read
        (404: none; the same answer whether others' events hold it or not)."""
        value: str = request.path_params[name]
        try:
            param = events.resource_parameter(
                request.app.state.uow, resource, value, who.organisation
            )
        except QueryError as exc:
            raise NoSuchResource(f"{label} {value!r}: no such {label} ({exc})") from None
        if param is None:
            raise NoSuchResource(f"{label} {value!r}: in no stored event")
        return {param: [value]}

    def its_events(request: Request, who: Annotated[Caller, needs("query")]) -> Response:
        params = answers.query_params(request) | selected(request, who)
        return query_page(request, request.app.state.uow, params, events.QUERY_NAME, who)

    def one(request: Request, who: Annotated[Caller, needs("query")]) -> Response:
        answers.only(request, ())
        selected(request, who)
        return answers.json(collection(["events"]))

    router.add_api_route(
        f"/{resource}",
        members,
        methods=["GET"],
        tags=["Top-level"],
        summary=f"The {label}s found in stored events (paged).",
        openapi_extra={"parameters": answers.PAGING_PARAMETERS},
    )
    router.add_api_route(
        f"/{resource}/{{{name}:path}}/events",
        its_events,
        methods=["GET"],
        tags=["Events"],
        summary=f"Events of one {label}, paged.",
        responses=QUERY_RESPONSES,
        openapi_extra={"parameters": [path_parameter, *QUERY_PARAMETERS]},
    )
    router.add_api_route(
        f"/{resource}/{{{name}:path}}",
        one,
        methods=["GET"],
        tags=["Top-level"],
        summary=f"The sub-resources of one {label}.",
        openapi_extra={"parameters": [path_parameter]},
    )


for _resource, _label, _name in (
    ("epcs", "EPC", "epc"),
    ("bizSteps", "business step", "bizStep"),
    ("bizLocations", "business location", "bizLocation"),
    ("readPoints", "read point", "readPoint"),
    ("dispositions", "disposition", "disposition"),
):
    _resource_routes(_resource, _label, _name)
