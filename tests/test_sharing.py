"""Sharing agreements as a domain (issue 16.2, decision 041): which of an owner's events a
grantee reads and which fields it does not see; hypothesis draws shares and events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.epcis.model import (
    Action,
    Event,
    EventType,
    Extension,
    Location,
    QuantityElement,
)
from batterytrace.errors import ShareError
from batterytrace.sharing import WITHHELD, Grants, Share, project, share_of_json

OWNER, BUYER, OTHER = (
    "https://id.gs1.org/417/3012345000000",
    "https://id.gs1.org/417/0614141000005",
    "https://id.gs1.org/417/6111111000002",
)
SITES = ("urn:epc:id:sgln:3012345.00100.0", "urn:epc:id:sgln:3012345.00200.0")
SITE_KEYS = ("https://id.gs1.org/414/3012345001007", "https://id.gs1.org/414/3012345002004")
SULFATE = "urn:epc:class:lgtin:3012345.000810.S{n}"  # a sulfate lot
SULFATE_PATTERN = "urn:epc:idpat:sgtin:3012345.000810.*"
OTHER_CLASS = "urn:epc:class:lgtin:3012345.000811.X{n}"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def events(draw: st.DrawFn) -> Event:
    kind = draw(st.sampled_from([EventType.OBJECT, EventType.TRANSFORMATION]))
    lot = draw(st.sampled_from([SULFATE, OTHER_CLASS])).format(n=draw(st.integers(0, 3)))
    quantity = (QuantityElement(lot, draw(st.floats(1, 1e6)), "KGM"),)
    site = draw(st.sampled_from(SITES))
    common: dict[str, Any] = {
        "eventTime": T0 + timedelta(days=draw(st.integers(0, 400))),
        "eventTimeZoneOffset": "+00:00",
        "bizStep": draw(st.sampled_from(["shipping", "commissioning", "receiving"])),
        "readPoint": Location(site),
        "bizLocation": Location(site),
        "ilmd": (Extension("https://batterytrace.org/voc/", "co", "0.2"),),
        "extensions": (Extension("https://batterytrace.org/voc/", "energy", "12"),),
    }
    if kind is EventType.OBJECT:
        return Event(type=kind, action=Action.OBSERVE, quantityList=quantity, **common)
    return Event(type=kind, inputQuantityList=quantity, outputQuantityList=quantity, **common)


@st.composite
def shares(draw: st.DrawFn, owner: str = OWNER, grantee: str = BUYER) -> Share:
    start = draw(st.none() | st.integers(0, 300))
    body: dict[str, Any] = {
        "owner": owner,
        "grantee": grantee,
        "scope": {
            "eventTypes": draw(st.lists(st.sampled_from(["ObjectEvent", "TransformationEvent"]),
                                        max_size=2, unique=True)),
            "bizSteps": draw(st.lists(st.sampled_from(["shipping", "receiving"]), max_size=2,
                                      unique=True)),
            "sites": draw(st.lists(st.sampled_from(SITES), max_size=1)),
            "products": draw(st.lists(st.sampled_from([SULFATE_PATTERN, SULFATE.format(n=1)]),
                                      max_size=1)),
            "from": None if start is None else (T0 + timedelta(days=start)).isoformat(),
            "until": None,
        },
        "withheld": draw(st.lists(st.sampled_from(WITHHELD), unique=True)),
    }  # fmt: skip
    return share_of_json(body, draw(st.integers(1, 10**6)))


def _fields(event: Event) -> dict[str, bool]:
    """Which withholdable fields ``event`` shows."""
    quantities = [*event.quantityList, *event.inputQuantityList, *event.outputQuantityList]
    return {
        "quantities": any(q.quantity is not None for q in quantities),
        "ilmd": bool(event.ilmd),
        "extensions": bool(event.extensions),
    }


def _plainly_covered(share: Share, event: Event) -> bool:
    """The scope checked the long way, from the share's JSON (the form a user reads)."""
    scope = share.to_json()["scope"]
    site = {SITES[0]: SITE_KEYS[0], SITES[1]: SITE_KEYS[1]}[event.bizLocation.id]  # type: ignore[union-attr]
    lots = [q.epcClass for q in (*event.quantityList, *event.inputQuantityList)]
    return (
        (not scope["eventTypes"] or event.type.value in scope["eventTypes"])
        and (not scope["bizSteps"] or event.bizStep in scope["bizSteps"])
        and (not scope["sites"] or site in scope["sites"])
        and (not scope["from"] or event.eventTime >= datetime.fromisoformat(scope["from"]))
        and (not scope["products"] or any(_names(p, lots) for p in scope["products"]))
    )


def _names(product: str, lots: list[str]) -> bool:
    """Whether a share's product (the pattern's GTIN, or lot S1, as links) names a lot."""
    if product == "https://id.gs1.org/01/03012345008105":  # every sulfate serial and lot
        return any(lot.startswith("urn:epc:class:lgtin:3012345.000810.") for lot in lots)
    assert product == "https://id.gs1.org/01/03012345008105/10/S1"
    return SULFATE.format(n=1) in lots


@settings(max_examples=300)
@given(st.lists(shares(), max_size=3), events())
def test_a_grantee_reads_what_some_share_covers_without_what_all_of_them_withhold(
    held: list[Share], event: Event
) -> None:
    grants = Grants.of(BUYER, held)
    withheld = grants.withheld(OWNER, event)
    covering = [s for s in held if _plainly_covered(s, event)]
    assert (withheld is None) == (not covering)
    if withheld is None:
        return
    assert withheld == set.intersection(*(set(s.withheld) for s in covering))
    shown = _fields(project(event, withheld))
    for name, present in shown.items():
        assert present == (name not in withheld)
    # nobody else's events come through these shares; its own events need none
    assert grants.withheld(OTHER, event) is None and grants.withheld(None, event) is None
    assert Grants.of(OWNER, held).withheld(OWNER, event) == frozenset()


@given(shares(), shares(), events())
def test_one_more_share_never_hides_what_was_readable(
    first: Share, more: Share, event: Event
) -> None:
    before = Grants.of(BUYER, [first]).withheld(OWNER, event)
    after = Grants.of(BUYER, [first, more]).withheld(OWNER, event)
    if before is not None:
        assert after is not None and after <= before


def test_the_buyer_reads_shipping_and_transformations_of_sulfate_lots_not_activity_data() -> None:
    """The issue's example: shipping and transformation events of the sulfate lots shared
    with the buyer, activity data (the extensions) and lot master data not."""

    def share(id_: int, scope: dict[str, Any]) -> Share:
        return share_of_json(
            {
                "owner": "urn:epc:id:pgln:3012345.00000",
                "grantee": "0614141000005",
                "scope": scope | {"products": [SULFATE_PATTERN]},
                "withheld": ["extensions", "ilmd"],
                "footprint": "total",
                "custody": "claims",
            },
            id_,
        )

    shipping = share(7, {"bizSteps": ["https://ref.gs1.org/cbv/BizStep-shipping"]})
    assert shipping.owner == OWNER and shipping.grantee == BUYER and shipping.id == 7
    assert shipping.scope.biz_steps == {"shipping"}  # the CBV term in any spelling
    grants = Grants.of(BUYER, [shipping, share(8, {"eventTypes": ["TransformationEvent"]})])
    base = Event(
        type=EventType.OBJECT, action=Action.OBSERVE, eventTime=T0, eventTimeZoneOffset="+00:00",
        bizStep="shipping", quantityList=(QuantityElement(SULFATE.format(n=2), 5000.0, "KGM"),),
        ilmd=(Extension("https://batterytrace.org/voc/", "co", "0.2"),),
        extensions=(Extension("https://batterytrace.org/voc/", "energy", "12"),),
    )  # fmt: skip
    assert grants.withheld(OWNER, base) == {"extensions", "ilmd"}
    shown = project(base, frozenset({"extensions", "ilmd"}))
    assert shown.quantityList == base.quantityList and not shown.ilmd and not shown.extensions
    transformed = replace(
        base, type=EventType.TRANSFORMATION, bizStep="commissioning", action=None,
        quantityList=(), inputQuantityList=base.quantityList,
    )  # fmt: skip
    assert grants.withheld(OWNER, transformed) is not None
    assert grants.withheld(OWNER, replace(base, bizStep="receiving")) is None
    other_lot = (QuantityElement(OTHER_CLASS.format(n=1), 1.0, "KGM"),)
    assert grants.withheld(OWNER, replace(base, quantityList=other_lot)) is None


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"owner": "urn:epc:id:sgln:3012345.00100.0"}, "owner: .* not a party GLN"),
        ({"grantee": "urn:epc:id:pgln:3012345.00000"}, "own events without a share"),
        ({"scope": {"eventTypes": ["Event"]}}, r"eventTypes\[0\]: 'Event' is not"),
        ({"scope": {"bizSteps": ["shippin"]}}, r"bizSteps\[0\]: .*neither a CBV"),
        ({"scope": {"sites": ["urn:epc:id:pgln:3012345.00000"]}}, r"sites\[0\]: .*location GLN"),
        ({"scope": {"products": ["urn:epc:idpat:sgtin:3012345.*.7"]}}, r"products\[0\]"),
        ({"scope": {"products": ["not a key"]}}, r"products\[0\]"),
        ({"scope": {"from": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}}, "later"),
        ({"scope": {"from": "yesterday"}}, "scope.from"),
        ({"scope": []}, "scope: must be an object"),
        ({"withheld": ["energy"]}, r"withheld\[0\]: 'energy' is not one of"),
        ({"withheld": "ilmd"}, "withheld: must be a list"),
        ({"footprint": "all"}, "footprint: 'all' is not one of none, total, breakdown"),
        ({"custody": "accounts"}, "custody: 'accounts' is not one of"),
        ({"eventTypes": ["ObjectEvent"]}, "eventTypes: unknown field"),  # outside the scope
        ({"scope": {"site": ["urn:epc:id:sgln:3012345.00100.0"]}}, "scope.site: unknown field"),
    ],
)
def test_a_share_that_breaks_a_rule_is_refused_naming_the_field(
    change: dict[str, Any], rule: str
) -> None:
    body = {"owner": "urn:epc:id:pgln:3012345.00000", "grantee": "0614141000005"} | change
    with pytest.raises(ShareError, match=rule):
        share_of_json(body, 1)
