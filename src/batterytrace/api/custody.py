"""The chain of custody: ``GET /custody/balances`` (mass-balance accounts), ``GET
/custody/lots/{lot}`` (the claims a lot carries), ``GET /custody/recycled/{battery}`` (recycled
content against Art. 8), each the JSON of ``custody balance|report|recycled --json``; and the
acts ``POST /custody/allocations`` and ``POST /custody/transfers`` (capture scope), whose bodies
are the options of ``custody allocate`` and ``custody transfer``.

A read answers the ledger version it reflects (``version``, and ``ETag``); a write may name the
version its caller read in ``If-Match``: it is refused (412) if the ledger moved since."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from batterytrace.api import answers, examples
from batterytrace.api.problems import Problem
from batterytrace.api.security import Caller, needs
from batterytrace.epcis.timestamps import parse_moment
from batterytrace.services import custody

router = APIRouter(tags=["Custody"])

_KG = Annotated[float | None, Field(gt=0, allow_inf_nan=False)]
_AT = ("When: YYYY-MM-DD (the end of that day, UTC) or a timestamp with a time zone; default "
       "now. Its account period must not be closed.")  # fmt: skip
_ETAG = re.compile(r'\s*(?:W/)?(?:"([0-9]+)"|([0-9]+))\s*', re.ASCII)


class _Entry(BaseModel):
    """kg of elements of a claim, at a date (``--co``, ``--ni``, ``--li``, ``--at``)."""

    model_config = ConfigDict(extra="forbid")

    claim: str = Field(description="low-carbon, recycled, certified:..., origin:...")
    co: _KG = Field(default=None, description="kg of cobalt.")
    ni: _KG = Field(default=None, description="kg of nickel.")
    li: _KG = Field(default=None, description="kg of lithium.")
    at: str | None = Field(default=None, description=_AT)

    @model_validator(mode="after")
    def _some_element(self) -> _Entry:
        if not self.kg():
            raise ValueError("give the kg of co, ni or li")
        return self

    def kg(self) -> dict[str, float]:
        return {e: v for e, v in (("Co", self.co), ("Ni", self.ni), ("Li", self.li))
                if v is not None}  # fmt: skip

    def moment(self) -> datetime:
        return datetime.now(UTC) if self.at is None else parse_moment(self.at, "at")


class Allocation(_Entry):
    """``custody allocate LOT CLAIM --site SITE``: a claim on a lot from a site's account."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.ALLOCATION]})

    lot: str = Field(description="The lot the claim goes on.")
    site: str = Field(description="The site (SGLN) whose account it draws on.")


class Transfer(_Entry):
    """``custody transfer SOURCE TARGET CLAIM``: book and claim between two sites' accounts."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.TRANSFER]})

    source: str = Field(description="The site (SGLN) whose credits move.")
    target: str = Field(description="The site (SGLN) that receives them.")


def _expected(if_match: str | None) -> int | None:
    """The ledger version an ``If-Match`` header names (an ETag a read answered); None
    without one, or for ``*``."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.fullmatch(if_match)
    if found is None:
        raise Problem(400, "ValidationException", f"If-Match: {if_match[:100]!r} is not a "
                      'ledger version (the ETag a read answered, such as "42")')  # fmt: skip
    return int(found.group(1) or found.group(2))


def _versioned(content: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return answers.json(content, status, {"ETag": f'"{content["version"]}"', **headers})


_IF_MATCH = Header(alias="If-Match", description="The ledger version the caller read (a "
                   "read's ETag): refused with 412 if the ledger moved since.")  # fmt: skip
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A malformed body, an unknown claim, or a balance that cannot cover "
          "it (Overdraft, with the shortfall) or a closed period: nothing is written."},
    412: {"description": "The ledger moved since the version in If-Match."},
}  # fmt: skip


@router.get(
    "/custody/balances",
    summary="Mass-balance accounts per site, claim and element, period by period, kg of "
    "element (`custody balance --json`).",
)
def balances(
    request: Request,
    who: Annotated[Caller, needs("query")],
    site: Annotated[str | None, Query(description="A site (SGLN); every account if none.")] = None,
    period: Annotated[str | None, Query(description="One period: 2025-03, 2025-Q1, 2025.")] = None,
) -> Response:
    answers.only(request, ("site", "period"))
    found = custody.balances(
        request.app.state.uow, site, period, named="period", reader=who.organisation
    )
    return _versioned(found.model_dump(mode="json"))


@router.get(
    "/custody/lots/{lot:path}",
    summary="The claims a lot carries, kg and share of each element, backed by what; notes "
    "about claims it lost (`custody report --json`).",
)
def lot_report(
    request: Request,
    lot: Annotated[str, Path(examples=[examples.SULFATE_LOT])],
    who: Annotated[Caller, needs("query")],
) -> Response:
    answers.only(request, ())
    found = custody.report(request.app.state.uow, lot, who.organisation)
    return _versioned(found.model_dump(mode="json"))


@router.get(
    "/custody/recycled/{battery:path}",
    summary="Recycled share of a battery's cobalt, nickel and lithium, traced and claimed, "
    "against the minimums of Regulation (EU) 2023/1542 Art. 8 (`custody recycled --json`).",
    responses={404: {"description": "No stored event mentions the identifier."}},
)
def recycled(
    request: Request,
    battery: Annotated[str, Path(examples=[examples.PACK])],
    who: Annotated[Caller, needs("query")],
) -> Response:
    answers.only(request, ())
    return answers.json(custody.recycled_json(request.app.state.uow, battery, who.organisation))


@router.post(
    "/custody/allocations",
    summary="Claim kg of element of a lot from a site's mass-balance account, at a date "
    "(`custody allocate`).",
    status_code=201,
    responses={
        201: {"description": "Allocated: the allocation event's URL is in `Location`."},
        200: {"description": "The same allocation is stored already (`recorded` false)."},
        **_WRITE_ERRORS,
    },
)
def allocate(
    request: Request,
    body: Allocation,
    who: Annotated[Caller, needs("capture")],
    if_match: Annotated[str | None, _IF_MATCH] = None,
) -> Response:
    answers.only(request, ())
    command = custody.Allocate(lot=body.lot, claim=body.claim, kg=body.kg(), site=body.site,
                               at=body.moment(), expected=_expected(if_match))  # fmt: skip
    done = custody.allocate(request.app.state.uow, command, who.organisation)
    location = f"/events/{quote(done.event_id, safe='')}"
    return _versioned(done.model_dump(mode="json"), 201 if done.recorded else 200,
                      Location=location)  # fmt: skip


@router.post(
    "/custody/transfers",
    summary="Book and claim: move credits of a claim between two sites' accounts, apart from "
    "any material, at a date (`custody transfer`).",
    status_code=201,
    responses={201: {"description": "Transferred."}, **_WRITE_ERRORS},
)
def transfer(
    request: Request,
    body: Transfer,
    who: Annotated[Caller, needs("capture")],
    if_match: Annotated[str | None, _IF_MATCH] = None,
) -> Response:
    answers.only(request, ())
    command = custody.Transfer(
        source=body.source, target=body.target, claim=body.claim, kg=body.kg(),
        at=body.moment(), expected=_expected(if_match),
    )  # fmt: skip
    done = custody.transfer(request.app.state.uow, command, who.organisation)
    return _versioned(done.model_dump(mode="json"), 201)
