"""Carbon footprints: ``GET /footprints/{id}`` (with its explanation), ``GET /targets`` (with
what-if levers), ``GET /products/{id}/pact`` (a PACT ProductFootprint), each the JSON of
``footprint --json``, ``targets --json`` and ``pact export``, made by the same service
functions (:mod:`batterytrace.services.carbon`). The paths under ``/2/`` and ``/3/`` are left
to a PACT host."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from batterytrace.api import answers, examples
from batterytrace.api.security import Caller, needs
from batterytrace.carbon import DRAWS, SEED
from batterytrace.services import carbon

router = APIRouter(tags=["Carbon"])

_FACTORS = Query(
    description="Factor set name@version (default: the one in use; another is rolled up for "
    "this answer)."
)
_NOT_A_PRODUCT: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not a lot, pack, module or item made by a transformation here."}
}


@router.get(
    "/footprints/{identifier:path}",
    summary="Cradle-to-gate carbon footprint of one unit of a product, with its 95 % interval "
    "and where every number comes from (`footprint --json`).",
    responses=_NOT_A_PRODUCT,
)
def footprint(
    request: Request,
    identifier: Annotated[str, Path(examples=[examples.PACK])],
    who: Annotated[Caller, needs("query")],
    explain: Annotated[
        bool,
        Query(
            description="The tree of contributions down to each activity datum and factor "
            "(`explain`; reads the whole product system)."
        ),
    ] = False,
    factors: Annotated[str | None, _FACTORS] = None,
    draws: Annotated[
        int,
        Query(
            description="Monte Carlo draws for the 95 % interval (2 to the server's limit, "
            "BATTERYTRACE_MAX_DRAWS)."
        ),
    ] = DRAWS,
    seed: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="Seed of the draws (0 to 2^63 - 1).")
    ] = SEED,
) -> Response:
    answers.only(request, ("explain", "factors", "draws", "seed"))
    uow = request.app.state.uow
    body = carbon.footprint_json(
        uow, identifier, factors, draws, seed, explain, reader=who.organisation
    )
    return answers.json(body)


@router.get(
    "/targets",
    summary="The battery footprint per kWh against the targets (-20 % by 2025, -35 % by 2030, "
    "against 2020), year by year, and what each lever would change (`targets --json`).",
)
def targets(
    request: Request,
    who: Annotated[Caller, needs("query")],
    what_if: Annotated[
        list[str] | None,
        Query(
            alias="what-if",
            description="LEVER=VALUE: wind=0.9, recycled=0.16, "
            "transport=rail, cell-grid=FI, chemistry=NMC622 (repeat; default: one of each).",
        ),
    ] = None,
    baseline: Annotated[
        float | None,
        Query(
            description="2020 baseline in kg CO2e/kWh, > 0 (default: the recorded chain "
            "with conventional sulfate and grid power)."
        ),
    ] = None,
    factors: Annotated[str | None, _FACTORS] = None,
) -> Response:
    answers.only(request, ("what-if", "baseline", "factors"))
    uow = request.app.state.uow
    body = carbon.targets_json(uow, list(what_if or ()), baseline, factors, who.organisation)
    return answers.json(body)


@router.get(
    "/products/{identifier:path}/pact",
    summary="The PACT (WBCSD Pathfinder) ProductFootprint of a product: a lot per kg, a "
    "battery per kWh (`pact export`).",
    responses=_NOT_A_PRODUCT,
)
def pact(
    request: Request,
    identifier: Annotated[str, Path(examples=[examples.SULFATE_LOT])],
    who: Annotated[Caller, needs("query")],
    version: Annotated[str, Query(description="2 (PACT v2.3) or 3 (PACT v3.0).")] = "3",
    factors: Annotated[str | None, _FACTORS] = None,
) -> Response:
    answers.only(request, ("version", "factors"))
    uow = request.app.state.uow
    return answers.json(
        carbon.pact_footprint(uow, identifier, version, factors, reader=who.organisation)
    )
