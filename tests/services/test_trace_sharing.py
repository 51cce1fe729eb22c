"""Traces and the element balance as an organisation reads them (issue 16.3, decision 041):
beyond a step it may not read, one object `not shared` with no identifier, quantity or
element figure; an object no readable event names is unknown to it."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from batterytrace.epcis.model import Document
from batterytrace.identifiers import to_digital_link
from batterytrace.services import events, organisations, trace
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.trace.genealogy import NOT_SHARED
from factories import PACK, chain, lot

MINER, REFINER, MAKER = (
    "urn:epc:id:pgln:6111111.00000",
    "urn:epc:id:pgln:3012345.00000",
    "urn:epc:id:pgln:0614141.00000",
)


@pytest.fixture
def owned(uow: UnitOfWork) -> UnitOfWork:
    """factories.chain() captured by who did each step: the miner commissions ores A, B and
    salt X, the refiner makes sulfate S of A and B, the maker cathode C, cells and the pack."""
    for org in (MINER, REFINER, MAKER):
        organisations.create(uow, org, org[-13:])
    evs = chain()
    for owner, part in ((MINER, evs[:3]), (REFINER, evs[3:4]), (MAKER, evs[4:])):
        doc = Document(creationDate=datetime(2025, 2, 1, tzinfo=UTC), events=list(part))
        events.capture_document(uow, doc, owner=owner)
    return uow


def _ids(body: dict[str, object]) -> set[str]:
    return {o["id"] for o in body["objects"]}  # type: ignore[attr-defined,index]


def test_beyond_an_unshared_step_lies_one_object_not_shared_and_nothing_of_it_leaks(
    owned: UnitOfWork,
) -> None:
    whole = trace.trace_json(owned, PACK, "backward", "Co")
    seen = trace.trace_json(owned, PACK, "backward", "Co", reader=MAKER)
    ore_a, ore_b = to_digital_link(lot("A")), to_digital_link(lot("B"))
    assert {ore_a, ore_b} <= _ids(whole)
    assert _ids(seen) == (_ids(whole) - {ore_a, ore_b}) | {NOT_SHARED}
    text = orjson.dumps(seen).decode()
    assert "/10/A" not in text and "/10/B" not in text and "t-S" not in text
    hidden = next(o for o in seen["objects"] if o["id"] == NOT_SHARED)
    assert hidden["element_kg"] is None and hidden["share"] is None
    cut = [link for link in seen["links"] if link["to"] == NOT_SHARED]
    assert [link["from"] for link in cut] == [to_digital_link(lot("S"))]
    assert cut[0]["kg"] is None and cut[0]["weight"] is None
    # the start's total and each visible object's figures are those of the whole chain
    assert seen["start_element_kg"] == whole["start_element_kg"]
    figures = {o["id"]: o["element_kg"] for o in whole["objects"]}
    assert all(
        o["element_kg"] == figures[o["id"]] for o in seen["objects"] if o["id"] != NOT_SHARED
    )


def test_a_share_of_the_refiners_transformations_shows_the_ores(owned: UnitOfWork) -> None:
    organisations.grant(
        owned,
        {"owner": REFINER, "grantee": MAKER, "scope": {"eventTypes": ["TransformationEvent"]}},
    )
    whole = trace.trace_json(owned, PACK, "backward", "Co")
    seen = trace.trace_json(owned, PACK, "backward", "Co", reader=MAKER)
    assert seen == whole  # every step of the pack's chain is readable now


def test_an_object_no_readable_event_names_is_unknown_and_the_balance_is_of_readable_steps(
    owned: UnitOfWork,
) -> None:
    with pytest.raises(trace.Untraced) as hidden:
        trace.trace_json(owned, PACK, "backward", "Co", reader=MINER)
    with pytest.raises(trace.Untraced) as absent:
        trace.trace_json(
            owned, "urn:epc:id:sgtin:3700000.030001.P404", "backward", "Co", reader=MINER
        )
    assert str(hidden.value).split(":")[-1] == str(absent.value).split(":")[-1]
    forward = trace.trace_json(owned, lot("A"), "forward", "Co", reader=MINER)
    assert _ids(forward) == {to_digital_link(lot("A")), NOT_SHARED}
    assert trace.check_json(owned)["steps"] == 3
    assert trace.check_json(owned, reader=MAKER)["steps"] == 2
    assert trace.check_json(owned, reader=MINER)["steps"] == 0
    held = trace.trace_json(owned, PACK, "backward", "Co", items=True, reader=MAKER)["held"]
    assert len(held) == 4
