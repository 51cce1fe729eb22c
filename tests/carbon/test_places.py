"""Where a leg starts and ends, and the site a location belongs to: each input form worked by
hand on a small chain (mine -> refinery -> a shipped sulfate lot)."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.carbon.footprint import Rollup, explain, footprint, rollup
from batterytrace.carbon.places import Places, Stated
from batterytrace.carbon.system import Builder, Leg, Made
from batterytrace.trace.lineage import node_id
from carbon_chain import (
    CHINA,
    FACTORS,
    MINE,
    ORE,
    PLANT,
    REFINERY,
    SITES,
    SUL,
    WHEN,
    model,
    out,
)

REFINERY_PARTY = node_id("urn:epc:id:pgln:6111111.00000")  # one site: the refinery
GROUP = node_id("urn:epc:id:pgln:6111111.00010")  # two sites: the mine and the Chinese refinery
PLANT_PARTY = node_id("urn:epc:id:pgln:3012345.00000")  # one site: the precursor plant
OWNED = SITES | {
    REFINERY.id: replace(REFINERY, party="urn:epc:id:pgln:6111111.00000"),
    MINE.id: replace(MINE, party="urn:epc:id:pgln:6111111.00010"),
    CHINA.id: replace(CHINA, party="urn:epc:id:pgln:6111111.00010"),
    PLANT.id: replace(PLANT, party="urn:epc:id:pgln:3012345.00000"),
}


def sub(site: str, extension: str) -> str:
    """A part of a site: its SGLN with a GLN extension."""
    gln = site.rsplit("/", 1)[1]
    return node_id(f"urn:epc:id:sgln:{gln[:7]}.{gln[7:12]}.{extension}")


LANES = [
    {"from": REFINERY.id, "to": PLANT.id, "mode": "sea", "distanceKm": 2000},
    {"from": CHINA.id, "to": PLANT.id, "mode": "road", "distanceKm": 500},
]
# The sulfate per kg before its leg: the ore (100 L diesel x 2.5 + 200 kWh x 0.6 = 370 kg CO2e)
# and the refinery (1 MWh of 0.8 wind at 0.01 and 0.2 grid at 0.6 = 128; 0.05 t process = 50)
# on 100 kg. The leg moves the 100 kg lot: from the refinery 0.1 t x 2,000 km sea x 0.01 = 2,
# from the Chinese site 0.1 t x 500 km road x 0.1 = 5.
BEFORE = (370 + 128 + 50) / 100
FROM_REFINERY = BEFORE + 0.1 * 2000 * 0.01 / 100
FROM_CHINA = BEFORE + 0.1 * 500 * 0.1 / 100


def shipped(leg: Leg, parents: dict[str, str] | None = None, refinery: str = "") -> Rollup:
    data = [a for a in model().to_json()["activities"] if a["site"] in (MINE.id, REFINERY.id)]
    b = Builder(model(activities=data, lanes=LANES), FACTORS, OWNED, parents=parents)
    b.step(Made("e1", MINE.id, WHEN, (), (out(ORE, 1000, Co=10),), commissioned=True))
    b.step(Made("e2", refinery or REFINERY.id, WHEN, ((ORE, 1000),), (out(SUL, 100, Co=21),)))
    b.leg(leg)
    return rollup(b.build())


def leg(origin: str | None = None, destination: str | None = PLANT.id, **stated: Any) -> Leg:
    return Leg("ship", SUL, 100, origin, destination, WHEN, stated=Stated(**stated))


@pytest.mark.parametrize(
    ("shipment", "per_kg", "basis"),
    [
        # CBV 2.0 style (examples/01, 03): no bizLocation, the origin in the source list
        (leg(sources=(("owning_party", GROUP), ("location", REFINERY.id))), FROM_REFINERY,
         "sourceList location"),
        # the source list's location before bizLocation and readPoint
        (leg(REFINERY.id, read_point=sub(REFINERY.id, "DISPATCH"),
             sources=(("location", CHINA.id),)), FROM_CHINA, "sourceList location"),
        (leg(REFINERY.id, read_point=sub(CHINA.id, "DISPATCH")), FROM_REFINERY, "bizLocation"),
        # a dispatch door is a part of its site
        (leg(read_point=sub(REFINERY.id, "DISPATCH")), FROM_REFINERY, "readPoint"),
        # a party of the source list with one site; possessing before owning
        (leg(sources=(("owning_party", REFINERY_PARTY),)), FROM_REFINERY,
         f"the one site of owning_party {REFINERY_PARTY}"),
        (leg(sources=(("owning_party", GROUP), ("possessing_party", REFINERY_PARTY))),
         FROM_REFINERY, f"the one site of possessing_party {REFINERY_PARTY}"),
        # a party with two sites says nothing: the last receipt, else where the lot was made
        (leg(sources=(("owning_party", GROUP),), received=sub(CHINA.id, "RECEIVING")),
         FROM_CHINA, "last receipt"),
        (leg(sources=(("owning_party", GROUP),)), FROM_REFINERY, "where it was made"),
        # the destination from a destination party's one site
        (leg(REFINERY.id, None, destinations=(("possessing_party", PLANT_PARTY),)),
         FROM_REFINERY, "bizLocation"),
        (leg(REFINERY.id, sub(PLANT.id, "RECEIVING")), FROM_REFINERY, "bizLocation"),
    ],
)  # fmt: skip
def test_a_leg_starts_where_the_event_says(shipment: Leg, per_kg: float, basis: str) -> None:
    result = shipped(shipment)
    fp = footprint(result, SUL)
    assert fp.kg_co2e == pytest.approx(per_kg, rel=1e-12)
    assert fp.complete and not fp.missing and not result.system.not_counted(), fp.missing
    leaves = [k.label for c in explain(result, SUL, floor=0).children for k in c.children]
    assert any(f"({basis})" in label for label in leaves), leaves


def test_a_leg_of_unknown_ends_is_named_and_listed() -> None:
    result = shipped(leg(CHINA.id, MINE.id))  # no lane from the Chinese site to the mine
    fp = footprint(result, SUL)
    assert not fp.complete and fp.kg_co2e == pytest.approx(BEFORE, rel=1e-12)
    what = f"leg ship ({SUL}) from {CHINA.id} (bizLocation) to {MINE.id}"
    assert f"{what}: transport mode unknown (no bt:transportMode, no lane)" in fp.missing
    assert [(u.kind, u.what) for u in fp.not_counted] == [("leg", what)]


def test_a_site_takes_the_events_at_its_parts() -> None:
    """The refinery's data (activity data at its GLN) go to a transformation recorded at its
    sulfate plant (an SGLN extension of that GLN), or at a location the master data declare
    a child of the refinery (any depth): the figure of the refinery itself."""
    child = node_id("urn:epc:id:sgln:6111111.00900.0")  # another GLN, declared a child
    for site, parents in (
        (sub(REFINERY.id, "CS-PLANT"), {}),
        (child, {child: REFINERY.id}),
        (sub(child, "LINE-1"), {child: REFINERY.id}),
    ):
        result = shipped(leg(REFINERY.id), parents, refinery=site)
        fp = footprint(result, SUL)
        assert fp.kg_co2e == pytest.approx(FROM_REFINERY, rel=1e-12), site
        assert fp.complete and fp.stages["refining"] == pytest.approx(1.78, rel=1e-12)
        assert result.system.nodes[result.system.index[SUL]].site == REFINERY.id


def test_places_walk_up_to_a_site() -> None:
    unknown = node_id("urn:epc:id:sgln:6111111.00777.0")
    loop = node_id("urn:epc:id:sgln:6111111.00888.0")
    places = Places(OWNED, {unknown: loop, loop: unknown}, frozenset({sub(CHINA.id, "METERED")}))
    assert places.site(sub(REFINERY.id, "LAB")) == REFINERY.id
    assert places.site(REFINERY.id) == REFINERY.id
    # a part with data of its own (the model names it) is a site of its own
    assert places.site(sub(CHINA.id, "METERED")) == sub(CHINA.id, "METERED")
    # nothing above is known: the top of the way up; a declared loop ends at its least
    assert places.site(sub(unknown, "DOCK")) == min(unknown, loop)
    assert places.site(node_id("urn:epc:id:sgln:6111111.00555.X")) == node_id(
        "urn:epc:id:sgln:6111111.00555.0"
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 40), min_size=1, max_size=8, unique=True),  # GLNs, child to parent
    st.integers(0, 8),  # which of them is a site (8: none)
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=8),
)
def test_a_location_resolves_to_the_first_site_up(
    chain: list[int], known: int, extension: str
) -> None:
    """A part of the first GLN of a declared chain belongs to the first site up the chain, or
    to its top; and the site of a site is itself."""
    glns = [node_id(f"urn:epc:id:sgln:6111111.{n:05d}.0") for n in chain]
    sites = {glns[known]: replace(REFINERY, id=glns[known])} if known < len(glns) else {}
    places = Places(sites, dict(pairwise(glns)), frozenset())
    found = places.site(sub(glns[0], extension) if extension != "0" else glns[0])
    assert found == (glns[known] if sites else glns[-1])
    assert places.site(found) == found
