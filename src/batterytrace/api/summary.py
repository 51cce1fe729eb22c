"""``GET /summary/{id}``: what a battery passport shows from the chain for a pack or lot, in
one answer, from the kept state (origins, recycled shares, claims, footprint, agreements,
ledger version): the JSON of ``summary --json`` (:func:`batterytrace.services.summary.summary`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from batterytrace.api import answers, examples
from batterytrace.api.security import Caller, needs
from batterytrace.services.summary import summary as summary_of

router = APIRouter(tags=["Summary"])


@router.get(
    "/summary/{identifier:path}",
    summary="What a passport shows from the chain for a pack, lot or item, each part with its "
    "source (`summary --json`).",
    responses={404: {"description": "No stored event mentions the identifier."}},
)
def summary(
    request: Request,
    identifier: Annotated[str, Path(examples=[examples.PACK, examples.SULFATE_LOT])],
    who: Annotated[Caller, needs("query")],
) -> Response:
    answers.only(request, ())
    found = summary_of(request.app.state.uow, identifier, who.organisation)
    return answers.json(found.model_dump(mode="json"))
