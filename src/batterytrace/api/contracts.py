"""Offtake agreements: ``GET /contracts/status`` (every agreement) and ``GET
/contracts/{id}/status`` (one), year by year as of a date: the JSON of ``contract status
--json``, made by the same service function (:func:`batterytrace.services.contracts.status_json`).
The intensity table is the shipped one (the command's ``--intensity`` reads a file of the
machine it runs on)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from batterytrace.api import answers
from batterytrace.api.security import Caller, needs
from batterytrace.epcis.timestamps import parse_moment
from batterytrace.services import contracts

router = APIRouter(tags=["Contracts"])

_AS_OF = Query(
    alias="as-of",
    description="Date of the status: YYYY-MM-DD (its end, UTC) or a timestamp with a time zone "
    "(default: the latest event).",
)


def _status(request: Request, contract: str | None, as_of: str | None, who: Caller) -> Response:
    """The agreements ``who``'s organisation is a party of (decision 041)."""
    answers.only(request, ("as-of",))
    when = None if as_of is None else parse_moment(as_of, "as-of")
    uow = request.app.state.uow
    return answers.json(contracts.status_json(uow, contract, when, reader=who.organisation))


@router.get(
    "/contracts/status",
    summary="Every agreement per contract year as of a date: committed, delivered, in transit, "
    "remaining, element, GWh enabled, forecast; and the findings (`contract status --json`).",
)
def every_status(
    request: Request,
    who: Annotated[Caller, needs("query")],
    as_of: Annotated[str | None, _AS_OF] = None,
) -> Response:
    return _status(request, None, as_of, who)


@router.get(
    "/contracts/{contract:path}/status",
    summary="One agreement per contract year as of a date (`contract status ID --json`).",
    responses={404: {"description": "No stored agreement has this id."}},
)
def status(
    request: Request,
    contract: str,
    who: Annotated[Caller, needs("query")],
    as_of: Annotated[str | None, _AS_OF] = None,
) -> Response:
    return _status(request, contract, as_of, who)
