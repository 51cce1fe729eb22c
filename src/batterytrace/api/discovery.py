"""Discovery (EPCIS 2.0 REST binding §12.3): the top-level resources, ``OPTIONS`` on every
route (methods allowed, versions, formats, the capture limits), and a health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from batterytrace.api import problems, security
from batterytrace.api.security import needs
from batterytrace.api.versions import CBV_VERSION, EPCIS_VERSION
from batterytrace.epcis.json_ld import EPCIS_CONTEXT as CONTEXT
from batterytrace.errors import BatteryTraceError

TOP_LEVEL = [
    "queries",
    "capture",
    "events",
    "eventTypes",
    "epcs",
    "readPoints",
    "bizLocations",
    "dispositions",
    "bizSteps",
]

router = APIRouter()


def collection(members: list[str]) -> dict[str, Any]:
    """A JSON-LD ``Collection`` of names or URIs, as the REST binding lists resources."""
    return {"@context": CONTEXT, "type": "Collection", "member": members}


@router.get(
    "/",
    tags=["Discovery"],
    summary="The top-level resources of this EPCIS repository.",
    dependencies=[needs("query")],
)
def top_level() -> dict[str, Any]:
    return collection(TOP_LEVEL)


@router.get("/health", tags=["Discovery"], summary="Liveness: the server answers.")
def health() -> dict[str, str]:
    return {"status": "ok"}


async def options(request: Request, allowed: list[str]) -> Response:
    """``OPTIONS`` on a route: 204 with ``Allow`` and what the binding lets a client discover;
    a token is needed as for any other method."""
    try:
        await run_in_threadpool(security.caller, request)
    except BatteryTraceError as exc:
        status, problem = problems.of_error(exc)
        return problems.response(status, problem, {"WWW-Authenticate": "Bearer"})
    if not allowed:
        path = request.url.path
        return problems.response(
            404,
            problems.body(
                404, "epcisException:NoSuchResourceException", f"{path}: no such resource"
            ),
        )
    epcis = ".".join(map(str, EPCIS_VERSION))
    cbv = ".".join(map(str, CBV_VERSION))
    headers = {
        "Allow": ", ".join(["OPTIONS", *allowed]),
        "GS1-EPCIS-Min": epcis,
        "GS1-EPCIS-Max": epcis,
        "GS1-CBV-Min": cbv,
        "GS1-CBV-Max": cbv,
        "GS1-EPC-Format": "Never_Translates",  # events are returned as captured
        "GS1-CBV-XML-Format": "No_Preference",
    }
    if request.url.path.rstrip("/") == "/capture":
        headers |= request.app.state.negotiation.capture_limits
        headers["GS1-Capture-Error-Behaviour"] = "all"  # both: rollback and proceed
    return Response(status_code=204, headers=headers)
