"""The ledger: ``GET /ledger/verify`` (every hash, both chains, the derived and imported rows
and the signed checkpoints recomputed: the report of ``verify --json``) and ``GET
/ledger/checkpoint`` (the newest signed head, as ``checkpoint export`` writes it, to keep
outside the store)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from batterytrace.api import answers
from batterytrace.api.security import Caller, needs
from batterytrace.services import ledger

router = APIRouter(tags=["Ledger"])


@router.get(
    "/ledger/verify",
    summary="Verify the store: every event hash, the whole chain, the derived and imported "
    "rows, the signed checkpoints; the problems found, the first broken entry first (`verify "
    "--json`). A broken ledger is a report with `ok` false, not an error.",
)
def verify(
    request: Request,
    who: Annotated[Caller, needs("query")],
    derived: Annotated[
        bool,
        Query(
            description="Also recompute the kept derived state (footprints, custody, "
            "contract shipments) and compare it with what is kept."
        ),
    ] = False,
) -> Response:
    answers.only(request, ("derived",))
    report = ledger.verify(request.app.state.uow, kept=derived)
    return answers.json(report.to_json(operator=who.organisation is None))


@router.get(
    "/ledger/checkpoint",
    summary="The newest signed head: checkpoint number, both chains' length and head, "
    "signature (`checkpoint export`).",
    responses={404: {"description": "The store has signed no checkpoint yet."}},
)
def checkpoint(request: Request, who: Annotated[Caller, needs("query")]) -> Response:
    answers.only(request, ())
    return answers.json(ledger.export_head(request.app.state.uow))
