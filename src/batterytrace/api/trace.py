"""Genealogy: ``GET /trace/back/{id}`` and ``GET /trace/forward/{id}`` (an object's sources or
uses with the element mass along every link), ``GET /check`` (the element mass balance of
every transformation). Each answers the JSON ``trace back|forward --json`` and ``check --json``
print, made by the same service functions (:mod:`batterytrace.services.trace`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from batterytrace.api import answers, examples
from batterytrace.api.security import Caller, needs
from batterytrace.services import trace
from batterytrace.trace.balance import DEFAULT_TOLERANCE

router = APIRouter(tags=["Trace"])

_ELEMENT = Query(description="The element followed: Co, Ni, Li, Mn or Cu.")
_UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"description": "No stored event mentions the identifier."}
}


@router.get(
    "/trace/back/{identifier:path}",
    summary="Everything upstream of an object, down to the mines, with the element mass each "
    "contributed (`trace back --json`).",
    responses=_UNKNOWN,
)
def trace_back(
    request: Request,
    identifier: Annotated[str, Path(examples=[examples.PACK, examples.SULFATE_LOT])],
    who: Annotated[Caller, needs("query")],
    element: Annotated[str, _ELEMENT] = "Co",
    items: Annotated[
        bool,
        Query(
            description="Also list every object it holds (modules, cells...) by serial, "
            "with its containment level (`held`)."
        ),
    ] = False,
) -> Response:
    answers.only(request, ("element", "items"))
    uow = request.app.state.uow
    body = trace.trace_json(uow, identifier, "backward", element, items, who.organisation)
    return answers.json(body)


@router.get(
    "/trace/forward/{identifier:path}",
    summary="Every downstream lot, pack and vehicle holding some of an object's element "
    "(`trace forward --json`).",
    responses=_UNKNOWN,
)
def trace_forward(
    request: Request,
    identifier: Annotated[str, Path(examples=[examples.ORE_LOT])],
    who: Annotated[Caller, needs("query")],
    element: Annotated[str, _ELEMENT] = "Co",
) -> Response:
    answers.only(request, ("element",))
    uow = request.app.state.uow
    return answers.json(
        trace.trace_json(uow, identifier, "forward", element, reader=who.organisation)
    )


@router.get(
    "/check",
    summary="The element mass balance of every transformation: no element out of nothing, "
    "stated yields kept (`check --json`).",
)
def check(
    request: Request,
    who: Annotated[Caller, needs("query")],
    tolerance: Annotated[
        float, Query(description="Allowed excess of element out over in, kg per kg in (≥ 0).")
    ] = DEFAULT_TOLERANCE,
) -> Response:
    answers.only(request, ("tolerance",))
    return answers.json(trace.check_json(request.app.state.uow, tolerance, who.organisation))
