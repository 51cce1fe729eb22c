"""Master data: ``GET /masterdata`` (every party, site and material, as ``masterdata export
--format json`` writes them) and ``POST /masterdata`` (an import of the same JSON, admin scope:
records added or replaced by id, checked with what is stored, all or nothing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from batterytrace.api import answers, examples
from batterytrace.api.capture import _body as read_body
from batterytrace.api.security import Caller, needs
from batterytrace.services import masterdata

router = APIRouter(tags=["Master data"])

_RECORDS = {
    "type": "object",
    "description": "Master data: {\"parties\": [...], \"sites\": [...], \"materials\": [...]}, "
    "as `masterdata export --format json` writes them.",
    "properties": {kind: {"type": "array", "items": {"type": "object"}}
                   for kind in ("parties", "sites", "materials")},
}  # fmt: skip


@router.get(
    "/masterdata",
    summary="Every stored party, site and material (`masterdata export --format json`).",
    responses={200: {"content": {"application/json": {"schema": _RECORDS}}}},
)
def export(request: Request, who: Annotated[Caller, needs("query")]) -> Response:
    answers.only(request, ())
    return answers.json(masterdata.export_json(request.app.state.uow))


@router.post(
    "/masterdata",
    summary="Add or replace parties, sites and materials by id (`masterdata import`); all or "
    "nothing. What changed, per kind; an import that changes nothing is not recorded.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _RECORDS, "example": examples.MASTER_DATA}},
        }
    },
    responses={
        400: {"description": "Not JSON, or records that break a rule (named)."},
        413: {"description": "More bytes than the capture file-size limit."},
        415: {"description": "Not JSON."},
    },
)
async def import_(request: Request, who: Annotated[Caller, needs("admin")]) -> Response:
    answers.only(request, ())
    body = await read_body(request, ("application/json",))
    uow = request.app.state.uow
    return answers.json(
        await run_in_threadpool(
            masterdata.import_json, uow, body, f"POST /masterdata ({who.client_id})"
        )
    )
