"""The roll-up on small chains written out by hand, and against a technosphere-matrix solve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.carbon import activity as act
from batterytrace.carbon.factors import read_csv
from batterytrace.carbon.footprint import explain, footprint, rollup
from batterytrace.carbon.system import Builder, Leg, Made, Output, Stage, SupplierPcf, Unit
from batterytrace.errors import ActivityError, AllocationError, FactorError, FootprintError
from batterytrace.periods import Period
from batterytrace.trace.lineage import node_id
from carbon_chain import (
    BATCH,
    CELLS,
    CONV,
    FACTORS,
    MINE,
    ORE,
    PACK,
    PACKS,
    PLANT,
    REFINERY,
    SITES,
    SUL,
    WHEN,
    X,
    Y,
    chain,
    model,
    out,
)
from technosphere import solve


def test_hand_computed_chain() -> None:
    result = rollup(chain())
    per_unit = {n.id: result.total(i) for i, n in enumerate(result.system.nodes)}
    # ore: 100 L x 2.5 + 200 kWh x 0.6 = 370 kg CO2e on 1,000 kg
    assert per_unit[ORE] == pytest.approx(0.37, rel=1e-12)
    # sulfate: 370 + 1 MWh (0.8 x 0.01 + 0.2 x 0.6 per kWh) = 128 + 50 process + 200 tkm x 0.01
    assert per_unit[SUL] == pytest.approx((370 + 128 + 50 + 2) / 100, rel=1e-12)
    assert per_unit[CONV] == pytest.approx(10, rel=1e-12)
    # the plant's 25 kg CO2e (500 kWh at 0.05) shared by mass: 60/100 and 40/100
    assert per_unit[X] == pytest.approx((80 * 5.5 + 20 * 10 + 15) / 60, rel=1e-12)
    assert per_unit[Y] == pytest.approx((20 * 5.5 + 30 * 10 + 10) / 40, rel=1e-12)
    # cells: 30 kg of X + 100 kWh x 0.05 + 10 kWh capacity x 5, on 10 cells
    cell = (30 * 655 / 60 + 5 + 50) / 10
    assert per_unit[BATCH] == pytest.approx(cell, rel=1e-12)
    assert per_unit[PACK] == pytest.approx(4 * cell + 1, rel=1e-12)


def test_breakdown_and_provenance() -> None:
    result = rollup(chain())
    fp = footprint(result, PACK, capacity_kwh=2.0)
    assert fp.kg_co2e == pytest.approx(sum(fp.stages.values()), rel=1e-12)
    assert fp.kg_co2e == pytest.approx(sum(fp.materials.values()), rel=1e-12)
    assert fp.per_kwh == pytest.approx(fp.kg_co2e / 2)
    # 4 cells of 10 from 30 kg of X's 60: 0.2 of X; X took 80 kg of the 100 kg sulfate
    share_of_sulfate = 0.4 * 30 / 60 * 80 / 100
    assert fp.stages[Stage.EXTRACTION.value] == pytest.approx(370 * share_of_sulfate, rel=1e-12)
    assert fp.stages[Stage.TRANSPORT.value] == pytest.approx(2 * share_of_sulfate, rel=1e-12)
    assert fp.materials["Co"] == pytest.approx(
        (370 + 128 + 50 + 2) * share_of_sulfate + 10 * 20 * 0.4 * 30 / 60, rel=1e-12
    )
    # the process emission is estimated (not primary); everything else here is measured
    primary = fp.kg_co2e - 50 * share_of_sulfate - 10 * 20 * 0.4 * 30 / 60
    assert fp.primary_share == pytest.approx(primary / fp.kg_co2e, rel=1e-12)
    assert fp.biogenic == pytest.approx(0.1 * 50 * 0.4, rel=1e-12)
    assert fp.complete and not fp.missing
    assert fp.factor_set == "test@1"
    assert {s[0] for s in fp.sources} >= {"diesel", "grid-ma", "wind", "conventional"}
    assert min(fp.dqr.values()) >= 1 and max(fp.dqr.values()) <= 3


def test_explain_reaches_every_activity_datum() -> None:
    result = rollup(chain())
    tree = explain(result, PACK, floor=0)

    def leaves(c):  # type: ignore[no-untyped-def]
        return [c] if not c.children else [x for k in c.children for x in leaves(k)]

    found = leaves(tree)
    assert sum(c.kg_co2e for c in found) == pytest.approx(tree.kg_co2e, rel=1e-12)
    sources = " ".join(c.label for c in found)
    assert "model.json: activities[0]" in sources  # the mine's diesel
    assert "proxy for lot:conventional" in sources
    assert "leg e4" in sources


def test_matches_the_technosphere_solve() -> None:
    system = chain()
    result = rollup(system)
    expected = solve(system)
    np.testing.assert_allclose(
        result.per_unit[:, : len(result.values)], expected, rtol=1e-9, atol=1e-12
    )


def test_element_and_economic_allocation() -> None:
    by_co = model(allocation=[{"site": PLANT.id, "rule": "element", "element": "Co"}])
    result = rollup(chain(by_co))
    x = result.total(result.system.index[X])
    assert x == pytest.approx((80 * 5.5 + 20 * 10 + 25 * 3.6 / 6.0) / 60, rel=1e-12)
    prices = {"cls:pcam-x": 30, "cls:pcam-y": 15}
    priced = model(allocation=[{"site": PLANT.id, "rule": "economic", "values": prices}])
    result = rollup(chain(priced))
    x = result.total(result.system.index[X])
    assert x == pytest.approx((80 * 5.5 + 20 * 10 + 25 * 1800 / 2400) / 60, rel=1e-12)


def test_supplier_footprint_replaces_the_proxy() -> None:
    supplier = SupplierPcf("pf-1", 7.0, 0.6, "Refiner")
    result = rollup(chain(suppliers={"cls:conventional": supplier}))
    fp = footprint(result, X)
    assert fp.kg_co2e == pytest.approx((80 * 5.5 + 20 * 7 + 15) / 60, rel=1e-12)
    assert fp.supplier_documents == ("pf-1",)
    assert "conventional" not in fp.factors


def test_missing_factor_marks_incomplete_not_zero() -> None:
    broken = model(proxies=[{"product": "cls:conventional", "factor": "no-such-factor"}])
    result = rollup(chain(broken))
    fp = footprint(result, PACK)
    assert not fp.complete
    assert any("'no-such-factor' is not in test@1" in m for m in fp.missing)
    assert footprint(result, ORE).complete


def test_missing_activity_and_mode_are_named() -> None:
    result = rollup(chain(model(lanes=[])))
    fp = footprint(result, SUL)
    assert not fp.complete
    assert any("transport mode unknown" in m for m in fp.missing)
    data = [a for a in model().to_json()["activities"] if a["site"] != CELLS.id]
    fp = footprint(rollup(chain(model(activities=data))), PACK)
    assert any(
        f"no activity data for site {CELLS.name} ({CELLS.id}) in 2025" in m for m in fp.missing
    )


def test_no_site_data_no_completeness() -> None:
    """The sulfate's refinery has no data for the quarter it was made in: its leg (2 kg CO2e)
    and the ore (370) are counted, but the result is incomplete, naming the site and period;
    the refinery's data of another quarter are listed as taken by no product."""
    data = [a for a in model().to_json()["activities"] if a["site"] != REFINERY.id]
    q1 = {"site": REFINERY.id, "period": "2025-Q1", "kind": "process", "amount": 3,
          "unit": "kgCO2e"}  # fmt: skip
    for refinery, periods in (([], "2025"), ([q1], "2025-Q2")):
        result = rollup(chain(model(activities=data + refinery)))
        fp = footprint(result, SUL)
        assert fp.kg_co2e == pytest.approx((370 + 2) / 100, rel=1e-12)
        assert not fp.complete
        assert (
            f"no activity data for site {REFINERY.name} ({REFINERY.id}) in {periods} "
            f"({SUL} made 2025-06-01)"
        ) in fp.missing
        assert not footprint(result, PACK).complete
    listed = [(u.kind, u.what, u.reason, u.data) for u in result.system.not_counted()]
    assert listed == [
        ("activity data", f"{REFINERY.name} ({REFINERY.id}) 2025-Q1",
         "no product made there then takes them",
         (f"model.json: activities[{len(data)}]: process 3 kgCO2e",)),
    ]  # fmt: skip
    assert result.system.not_counted((Period.QUARTER, Period.QUARTER.parse("2025-Q2"))) == []
    assert len(result.system.not_counted((Period.YEAR, 2025))) == 1


def test_legs_not_counted_are_listed() -> None:
    b = Builder(model(), FACTORS, SITES)
    b.step(Made("e1", MINE.id, WHEN, (), (out(ORE, 1000, Co=10),), commissioned=True))
    b.leg(Leg("e9", "lot:nobody-made", 50, REFINERY.id, PLANT.id, WHEN))
    b.leg(Leg("e8", ORE, None, MINE.id, REFINERY.id, WHEN))  # in items, not kg
    system = b.build()
    legs = [(u.what, u.reason) for u in system.not_counted() if u.kind == "leg"]
    assert legs == [  # listed by time, then as they read
        (f"leg e8 ({ORE}) from {MINE.id} (bizLocation) to {REFINERY.id}",
         "its mass is not stated in kg"),
        (f"leg e9 (lot:nobody-made) from {REFINERY.id} (bizLocation) to {PLANT.id}",
         "what it moves is no lot, item batch or pack of the product system"),
    ]  # fmt: skip
    assert f"{legs[0][0]}: {legs[0][1]}" in system.nodes[system.index[ORE]].missing
    fp = footprint(rollup(system), ORE)
    assert not fp.complete and [u.what for u in fp.not_counted if u.kind == "leg"] == [
        w for w, _ in legs
    ]
    assert [u["reason"] for u in fp.to_json()["notCounted"] if u["kind"] == "leg"] == [
        r for _, r in legs
    ]
    for month, count in (("2025-05", 0), ("2025-06", 2), ("2025-07", 0)):
        period = (Period.MONTH, Period.MONTH.parse(month))
        assert len([u for u in system.not_counted(period) if u.kind == "leg"]) == count


def test_data_of_an_event_whose_products_are_sourced_elsewhere_are_listed() -> None:
    supplier = SupplierPcf("pf-2", 7.0, 0.6, "Refiner")
    data = (act.Activity(PLANT.id, None, act.Kind.PROCESS, 4, "kgCO2e", event="e7",
                         where="event e7: bt:activity[0]"),)  # fmt: skip
    b = Builder(model(), FACTORS, SITES, {"cls:bought": supplier})
    b.step(Made("e7", PLANT.id, WHEN, (), (out("lot:bought", 10),), data, commissioned=True))
    system = b.build()
    fp = footprint(rollup(system), "lot:bought")
    assert fp.kg_co2e == pytest.approx(7.0, rel=1e-12) and fp.complete
    (listed,) = [u for u in system.not_counted() if u.what.startswith("event e7")]
    assert listed.reason == "a supplier footprint or proxy stands for all its products"
    assert listed.data == ("event e7: bt:activity[0]: process 4 kgCO2e",)
    assert listed in system.not_counted((Period.MONTH, Period.MONTH.parse("2025-06")))


def test_legs_not_counted_are_listed_by_ends_and_month() -> None:
    """A thousand vehicles shipped from one plant in a month are one line, naming three."""
    b = Builder(model(), FACTORS, SITES)
    for n in range(5):
        b.leg(Leg(f"v{n}", f"vehicle:{n}", None, PACKS.id, PLANT.id, WHEN.replace(day=n + 1)))
    b.leg(Leg("v9", "vehicle:9", None, PACKS.id, PLANT.id, WHEN.replace(month=7)))
    legs = [u for u in b.build().not_counted() if u.kind == "leg"]
    assert [(u.what, u.start.day, u.end.day) for u in legs] == [
        (f"5 legs v0 (vehicle:0), v1 (vehicle:1), v2 (vehicle:2) and 2 more from {PACKS.id} "
         f"(bizLocation) to {PLANT.id}", 1, 5),
        (f"leg v9 (vehicle:9) from {PACKS.id} (bizLocation) to {PLANT.id}", 1, 1),
    ]  # fmt: skip


def test_units_converted_or_refused() -> None:
    # the cell plant's electricity is in kWh and the factor per MJ: converted (3.6 MJ per kWh)
    result = rollup(chain())
    assert result.total(result.system.index[BATCH]) > 0
    wrong = model(
        activities=[
            {
                "site": MINE.id,
                "period": "2025",
                "kind": "fuel",
                "factor": "diesel",
                "amount": 100,
                "unit": "kg",
            }
        ]
    )
    with pytest.raises(
        FactorError, match=r"factor diesel is per L: cannot convert kg \(mass\) to L \(volume\)"
    ):
        chain(wrong)


@pytest.mark.parametrize(
    ("entry", "error", "message"),
    [
        (
            {"kind": "electricity", "factor": "grid-ma", "amount": -5, "unit": "kWh"},
            ActivityError,
            "amount: -5 must be a finite number ≥ 0",
        ),
        (
            {"kind": "electricity", "factor": "grid-ma", "amount": 5, "unit": "kg"},
            ActivityError,
            "electricity is energy",
        ),
        (
            {
                "kind": "electricity",
                "mix": {"wind": 0.5, "grid-ma": 0.4},
                "amount": 5,
                "unit": "kWh",
            },
            ActivityError,
            "mix: shares sum to 0.9, not 1",
        ),
        (
            {"kind": "steam", "factor": "x", "amount": 5, "unit": "kWh"},
            ActivityError,
            "kind: 'steam'",
        ),
        (
            {"kind": "process", "amount": 5, "unit": "kWh"},
            ActivityError,
            "process emissions are in kgCO2e",
        ),
    ],
)
def test_bad_activity_data(entry: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        act.from_json({"activities": [{"site": MINE.id, "period": "2025"} | entry]}, "f.json")


def test_allocation_shares_must_sum_to_one() -> None:
    shares = {"site": PLANT.id, "rule": "shares", "values": {"cls:pcam-x": 0.7, "cls:pcam-y": 0.2}}
    with pytest.raises(AllocationError, match=r"shares sum to 0\.9, not 1"):
        model(allocation=[shares])
    unpriced = {"site": PLANT.id, "rule": "economic", "values": {"cls:pcam-x": 30}}
    with pytest.raises(AllocationError, match="no value for product class cls:pcam-y"):
        chain(model(allocation=[unpriced]))


def test_csv_activities() -> None:
    header = "site,period,kind,factor,amount,unit,mix,quality\n"
    text = header + f"{MINE.id},2025-03,fuel,diesel,10,L,,estimated\n"
    m = act.from_csv(text, "mine.csv")
    assert m.activities[0].where == "mine.csv:2"
    with pytest.raises(ActivityError, match=r"mine\.csv:2: period: '2025-13'"):
        act.from_csv(text.replace("2025-03", "2025-13"), "mine.csv")


def test_cycle_is_refused() -> None:
    b = Builder(model(), FACTORS, SITES)
    b.step(Made("a", PLANT.id, WHEN, (("lot:b", 1),), (out("lot:a", 1),)))
    b.step(Made("b", PLANT.id, WHEN, (("lot:a", 1),), (out("lot:b", 1),)))
    with pytest.raises(FootprintError, match="cycle"):
        rollup(b.build())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.1, 1e4),  # kg made
            st.floats(0, 1e3),  # kWh used by the step (its own activity, by event)
            st.lists(st.tuples(st.integers(0, 50), st.floats(0.01, 1e3)), max_size=3),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_acyclic_chain_equals_the_solve(steps: list) -> None:  # type: ignore[type-arg]
    """Random chains (each step uses earlier lots): the roll-up is the matrix solve."""
    b = Builder(model(activities=[]), FACTORS, SITES)
    for n, (kg, kwh, uses) in enumerate(steps):
        inputs = tuple((f"lot:{i % n}", amount) for i, amount in uses) if n else ()
        data = (act.Activity(PLANT.id, None, act.Kind.ELECTRICITY, kwh, "kWh", "grid-ma",
                             event=f"e{n}", where=f"e{n}"),)  # fmt: skip
        b.step(Made(f"e{n}", PLANT.id, WHEN, inputs, (out(f"lot:{n}", kg),), data))
    result = rollup(b.build())
    expected = solve(result.system)
    np.testing.assert_allclose(
        result.per_unit[:, : len(result.values)], expected, rtol=1e-9, atol=1e-9
    )


def test_the_documented_model_reads() -> None:
    """docs/carbon-data.md's example is a model the reader takes."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "carbon-data.md").read_text()
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    read = act.from_json(json.loads(example), "carbon-data.md")
    assert len(read.activities) == 3 and len(read.lanes) == 2 and len(read.proxies) == 2
    assert read.allocation[node_id("urn:epc:id:sgln:3012345.00100.0")].element == "Co"


def test_mass_allocation_needs_masses_for_several_item_classes() -> None:
    data = [{"site": PLANT.id, "period": "2025", "kind": "process", "amount": 5, "unit": "kgCO2e"}]
    b = Builder(model(activities=data), FACTORS, SITES)
    for n, cls in enumerate(("cls:cell-a", "cls:cell-b")):
        items = Output(f"e{n}#outputEPCList", Unit.ITEM, 10, cls, {})
        b.step(Made(f"e{n}", PLANT.id, WHEN, (), (items,), commissioned=True))
    with pytest.raises(AllocationError, match="mass allocation among items of 2 classes"):
        b.build()


def test_unknown_quality_is_named() -> None:
    entry = {"site": MINE.id, "period": "2025", "kind": "fuel", "factor": "diesel",
             "amount": 1, "unit": "L", "quality": "guessed"}  # fmt: skip
    with pytest.raises(ActivityError, match="quality: 'guessed' is not one of measured"):
        act.from_json({"activities": [entry]}, "f.json")


def test_a_multi_output_step_shares_its_inputs_by_the_site_rule() -> None:
    """ISO 14044 §4.3.4.2: one rule per unit process. The refinery allocates economically, so
    the ore it refines goes to its sulfate and its copper by value, like its own data."""
    copper = "lot:copper"
    prices = {"cls:sulfate": 4, "cls:copper": 1}  # per kg
    priced = model(allocation=[{"site": REFINERY.id, "rule": "economic", "values": prices}])
    b = Builder(priced, FACTORS, SITES)
    b.step(Made("e1", MINE.id, WHEN, (), (out(ORE, 1000, Co=10),), commissioned=True))
    b.step(Made("e2", REFINERY.id, WHEN, ((ORE, 1000),), (out(SUL, 100), out(copper, 300))))
    result = rollup(b.build())
    per_unit = {n.id: result.total(i) for i, n in enumerate(result.system.nodes)}
    # economic values: sulfate 100 kg x 4 = 400, copper 300 kg x 1 = 300; sulfate takes 4/7.
    # ore 370 kg CO2e (100 L x 2.5 + 200 kWh x 0.6); the refinery's own data 128 + 50
    # (1 MWh at 0.8 x 0.01 + 0.2 x 0.6 per kWh, and 0.05 t process) by the same 4/7 and 3/7
    assert per_unit[SUL] == pytest.approx((370 * 4 / 7 + 178 * 4 / 7) / 100, rel=1e-12)
    assert per_unit[copper] == pytest.approx((370 * 3 / 7 + 178 * 3 / 7) / 300, rel=1e-12)
    tree = explain(result, SUL, floor=0)
    assert "inputs shared by economic (prices per product class)" in tree.detail


def test_freight_is_known_by_the_factor_kind_not_its_id() -> None:
    """Freight intensities rate as global by nature (geography rating 2 for GLO): a user's
    freight factor without "freight" in its id is one; a fuel named "freight-fuel" is not."""
    text = (
        "id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,"
        "gwp,source,reference\n"
        "ocean-box,Ocean,freight,sea,tkm,0.01,GLO,2025,1.5,,,0,AR6,test,https://example.org\n"
        "freight-fuel,Fuel,fuel,,L,2.5,GLO,2025,1.1,,,0,AR6,test,https://example.org\n"
    )
    mine = read_csv(text, "mine", "1").over(FACTORS)
    data = [
        {"site": MINE.id, "period": "2025", "kind": "material", "factor": "ocean-box",
         "amount": 100, "unit": "tkm"},
        {"site": MINE.id, "period": "2025", "kind": "fuel", "factor": "freight-fuel",
         "amount": 1, "unit": "L"},
    ]  # fmt: skip
    b = Builder(model(activities=data), mine, SITES)
    b.step(Made("e1", MINE.id, WHEN, (), (out(ORE, 1000),), commissioned=True))
    (group,) = [g for g in b.build().groups if g.burdens]
    ratings = {b.key.factor: b.ratings[2] for b in group.burdens}
    assert ratings == {"ocean-box": 2, "freight-fuel": 3}  # the mine is in MA
