"""Footprints of what the store recorded: a chain of EPCIS events figured by hand, and the
scenario against the technosphere solve."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from batterytrace.carbon.activity import from_json
from batterytrace.carbon.factors import read_csv
from batterytrace.carbon.footprint import footprint as footprint_of
from batterytrace.errors import FactorError, FootprintError, ImportConflict, PactError
from batterytrace.masterdata import MasterData, MaterialKind, Party, Site, SiteRole, material
from batterytrace.scenario.generator import generate
from batterytrace.services import carbon, derived, ledger, masterdata
from batterytrace.services import events as events_service
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import carbon as carbon_store
from batterytrace.store import schema
from batterytrace.trace.lineage import node_id
from carbon_examples import (
    BOU_AZZER,
    CAM,
    DOCUMENTS,
    EXAMPLE_FACTORS,
    EXAMPLES,
    GUEMASSA,
    HUB,
    ORE_LEGS,
    SEA_LEG,
    SULFATE,
    SULFATE_KG,
    VEHICLE,
    VEHICLES,
    master_data_of_examples,
    model_of_examples,
)
from factories import CONTEXT
from factories import site_event as event
from pact_schema import validators
from technosphere import solve

MINE, PLANT, CELLS, PACKS = (f"urn:epc:id:sgln:6111111.00{n}00.0" for n in range(1, 5))
ORE = "urn:epc:class:lgtin:6111111.000101.ORE1"
SUL = "urn:epc:class:lgtin:6111111.000201.SUL1"
CELL = "urn:epc:id:sgtin:6111111.000301.C{n}"
MODULE, PACK = "urn:epc:id:sgtin:6111111.000401.M1", "urn:epc:id:sgtin:6111111.000501.P1"


def kg(lot: str, amount: float) -> dict[str, Any]:
    return {"epcClass": lot, "quantity": amount, "uom": "KGM"}


def chain() -> list[dict[str, Any]]:
    cells = [CELL.format(n=n) for n in range(1, 5)]
    return [
        event("ObjectEvent", 1, MINE, action="ADD", bizStep="commissioning",
              quantityList=[kg(ORE, 1000)], ilmd={"bt:cobaltMassFraction": 0.01}),
        event("ObjectEvent", 2, MINE, action="OBSERVE", bizStep="shipping",
              quantityList=[kg(ORE, 1000)],
              destinationList=[{"type": "location", "destination": PLANT}],
              **{"bt:transportMode": "road", "bt:distanceKm": 50}),
        event("TransformationEvent", 3, PLANT, inputQuantityList=[kg(ORE, 1000)],
              outputQuantityList=[kg(SUL, 40)], ilmd={"bt:cobaltMassFraction": 0.2},
              **{"bt:activity": [{"kind": "process", "amount": 12, "unit": "kgCO2e"}]}),
        event("TransformationEvent", 4, CELLS, inputQuantityList=[kg(SUL, 10)],
              outputEPCList=cells, ilmd={"bt:cobaltMassKg": 0.5}),
        event("AggregationEvent", 5, PACKS, action="ADD", bizStep="packing",
              parentID=MODULE, childEPCs=cells[:3]),
        event("AggregationEvent", 5, PACKS, action="ADD", bizStep="packing",
              parentID=PACK, childEPCs=[MODULE]),
    ]  # fmt: skip


FACTORS = """id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,\
gwp,source,reference
diesel,Diesel,fuel,,L,3,GLO,2025,1.1,,,0,AR6,test,https://example.org
grid,Grid,grid,,kWh,0.5,FR,2025,1.2,,,0,AR6,test,https://example.org
freight-road-truck,Road,freight,road,tkm,0.1,GLO,2025,1.5,,,0,AR6,test,https://example.org
"""


def master_data() -> MasterData:
    data = MasterData()
    data.add_party(Party("urn:epc:id:pgln:6111111.00000", "Maker", "FR"))
    roles = (SiteRole.MINE, SiteRole.REFINERY, SiteRole.CELL, SiteRole.PACK)
    for sgln, role in zip((MINE, PLANT, CELLS, PACKS), roles, strict=True):
        data.add_site(Site(sgln, role.value, "urn:epc:id:pgln:6111111.00000", role, "FR"))
    pack = "urn:epc:idpat:sgtin:6111111.000501.*"
    data.add_material(
        material(pack, "Pack", MaterialKind.PACK, chemistry="NMC811", energy_kwh=2.0, mass_kg=12.0)
    )
    return data


def setup(uow: UnitOfWork, tmp_path: Path) -> None:
    ledger.init(uow)
    path = tmp_path / "chain.jsonld"
    doc = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2025-03-31T00:00:00Z", "epcisBody": {"eventList": chain()}}  # fmt: skip
    path.write_bytes(orjson.dumps(doc))
    events_service.capture(uow, path)
    masterdata.import_master_data(uow, master_data())
    data = [
        (MINE, "2025", "fuel", "diesel", 100, "L"),
        (PLANT, "2025-03", "electricity", "grid", 40, "kWh"),
        (CELLS, "2025-Q1", "electricity", "grid", 8, "kWh"),
        (PACKS, "2025", "electricity", "grid", 2, "kWh"),
    ]
    fields = ("site", "period", "kind", "factor", "amount", "unit")
    model = {"activities": [dict(zip(fields, row, strict=True)) for row in data]}
    carbon.import_carbon(uow, from_json(model, "model.json"), "model.json")
    carbon.import_factors(uow, read_csv(FACTORS, "test", "1"))


def test_a_recorded_chain_figured_by_hand(uow: UnitOfWork, tmp_path: Path) -> None:
    setup(uow, tmp_path)
    fp = carbon.footprint(uow, PACK, "test@1").footprint
    ore = 100 * 3 + 1.0 * 50 * 0.1  # diesel, then 1 t x 50 km by road (stated on the shipment)
    sulfate = (
        ore + 12 + 40 * 0.5
    ) / 40  # per kg: the ore, the event's process CO2, the plant's grid
    cell = (10 * sulfate + 8 * 0.5) / 4
    assert fp.kg_co2e == pytest.approx(3 * cell + 2 * 0.5, rel=1e-12)
    assert fp.per_kwh == pytest.approx(fp.kg_co2e / 2.0)
    assert fp.complete
    assert fp.stages["transport"] == pytest.approx(5 * 10 / 40 * 3 / 4, rel=1e-12)
    item = carbon.footprint(uow, CELL.format(n=4), "test@1").footprint
    assert item.kg_co2e == pytest.approx(cell, rel=1e-12)
    lot = carbon.footprint(uow, SUL, "test@1").footprint
    assert lot.kg_co2e == pytest.approx(sulfate, rel=1e-12) and lot.unit == "kg"
    module = carbon.footprint(uow, MODULE, "test@1").footprint  # its 3 cells; the pack
    # plant's data go to packs
    assert module.kg_co2e == pytest.approx(3 * cell, rel=1e-12) and module.complete
    tree = carbon.explain_footprint(uow, MODULE, "test@1")
    assert tree.kg_co2e == pytest.approx(3 * cell, rel=1e-12) and len(tree.children) == 1


def test_unknown_ids_and_sets_are_named(uow: UnitOfWork, tmp_path: Path) -> None:
    setup(uow, tmp_path)
    with pytest.raises(FootprintError, match="not a lot, pack, module or item"):
        carbon.footprint(uow, "urn:epc:class:lgtin:6111111.000201.NONE")
    with pytest.raises(FactorError, match="factor set 'nope@1' is unknown"):
        carbon.footprint(uow, PACK, "nope@1")
    # the shipped set has no factor called "grid": named, and the pack marked incomplete
    fp = carbon.footprint(uow, PACK).footprint
    assert not fp.complete and any("'grid' is not in" in m for m in fp.missing)


# --- the kept footprints (decision 032) -----------------------------------------------------


def test_kept_footprints_are_the_fresh_roll_up_of_the_set_in_use(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """With test@1 in use, the pack, an item, a lot and a module read from the kept rows
    equal, field for field, what a fresh roll-up with test@1 gives; a what-if with the
    shipped set is rolled up for the answer and says so."""
    setup(uow, tmp_path)
    fresh = carbon.footprints(uow, "test@1")
    assert carbon.use_factors(uow, "test@1").changed
    for identifier in (PACK, CELL.format(n=4), SUL, MODULE):
        answer = carbon.footprint(uow, identifier)
        assert answer.kept and answer.factors.label == "test@1"
        node = identifier if identifier == MODULE else None
        capacity = 2.0 if identifier == PACK else None
        inside = carbon_store_held(uow, MODULE) if node else []
        expected = footprint_of(fresh, _node(uow, identifier), capacity, inside)
        assert answer.footprint == replace(expected, id=answer.footprint.id)
    what_if = carbon.footprint(uow, PACK, "batterytrace@2026.1")
    assert not what_if.kept and not what_if.footprint.complete  # no "grid" in the shipped set
    assert derived.check(uow) is None


def test_kept_footprints_follow_the_model_and_the_set_in_use(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """A new activity datum, a change of set: each write is followed by the refresh, and the
    footprint read next is the new one, at the version that write made."""
    setup(uow, tmp_path)
    carbon.use_factors(uow, "test@1")
    before = carbon.footprint(uow, PACK)
    more = {"activities": [{"site": PACKS, "period": "2025", "kind": "fuel", "factor": "diesel",
                            "amount": 10, "unit": "L"}]}  # fmt: skip
    carbon.import_carbon(uow, from_json(more, "more.json"), "more.json")
    after = carbon.footprint(uow, PACK)
    assert after.version > before.version
    assert after.footprint.kg_co2e == pytest.approx(before.footprint.kg_co2e + 10 * 3, rel=1e-12)
    carbon.use_factors(uow, "batterytrace@2026.1")  # back to the shipped set
    shipped_answer = carbon.footprint(uow, PACK)
    assert shipped_answer.kept and shipped_answer.factors.label == "batterytrace@2026.1"
    assert not shipped_answer.footprint.complete
    assert derived.check(uow) is None


def test_a_factor_set_in_use_is_not_removed_and_the_refusal_names_the_footprints(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    setup(uow, tmp_path)
    carbon.use_factors(uow, "test@1")
    records = len(ledger.import_records(uow))
    products = sorted(n.id for n in carbon.footprints(uow, "test@1").system.nodes)
    with pytest.raises(ImportConflict) as err:
        carbon.remove_factors(uow, "test@1")
    named = f"the kept footprints of {len(products):,} products are figured with it"
    assert named in str(err.value) and ", ".join(products[:5]) in str(err.value)
    assert len(ledger.import_records(uow)) == records  # nothing written
    assert carbon.footprint(uow, PACK).factors.label == "test@1"
    with pytest.raises(FactorError, match="shipped set"):
        carbon.remove_factors(uow, "batterytrace@2026.1")
    carbon.use_factors(uow, "batterytrace@2026.1")
    assert carbon.remove_factors(uow, "test@1").removed == 1
    assert [s.label for s in carbon.factor_sets(uow)] == ["batterytrace@2026.1"]
    with pytest.raises(FactorError, match="not stored"):
        carbon.remove_factors(uow, "test@1")
    assert ledger.verify(uow).ok  # the use and removal replay
    assert derived.check(uow) is None


def test_a_roll_up_that_fails_is_kept_as_its_error(uow: UnitOfWork, tmp_path: Path) -> None:
    """Two transformations that make each other's input: a cycle. The capture is kept; the
    kept state holds the roll-up's error, and a footprint read names it, never a figure."""
    a = "urn:epc:class:lgtin:6111111.000901.A1"
    b = "urn:epc:class:lgtin:6111111.000902.B1"
    cycle = [
        event("ObjectEvent", 1, MINE, action="ADD", bizStep="commissioning",
              quantityList=[kg(a, 10)]),
        event("TransformationEvent", 2, PLANT, inputQuantityList=[kg(a, 10)],
              outputQuantityList=[kg(b, 10)],
              **{"bt:activity": [{"kind": "process", "amount": 1, "unit": "kgCO2e"}]}),
        event("TransformationEvent", 3, PLANT, inputQuantityList=[kg(b, 10)],
              outputQuantityList=[kg(a, 10)]),
    ]  # fmt: skip
    doc = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2025-03-31T00:00:00Z", "epcisBody": {"eventList": cycle}}  # fmt: skip
    path = tmp_path / "cycle.jsonld"
    path.write_bytes(orjson.dumps(doc))
    assert events_service.capture(uow, path).captured == 3
    with pytest.raises(FootprintError, match=r"cycle.*kept roll-up at ledger version"):
        carbon.footprint(uow, b)
    assert derived.check(uow) is None


SCALE = 0.0003


@pytest.fixture(scope="module")
def scenario_store(tmp_path_factory: pytest.TempPathFactory) -> UnitOfWork:
    out = tmp_path_factory.mktemp("carbon-scenario")
    generate(out / "scenario", SCALE, seed=3)
    uow = unit_of_work(f"sqlite:///{out / 'store.db'}", out / "ledger.key")
    ledger.init(uow)
    for path in sorted((out / "scenario").glob("events-*.jsonld")):
        events_service.capture(uow, path)
    masterdata.import_master_data(
        uow, MasterData.from_json(orjson.loads((out / "scenario" / "masterdata.json").read_bytes()))
    )
    model = from_json(orjson.loads((out / "scenario" / "carbon.json").read_bytes()), "carbon.json")
    carbon.import_carbon(uow, model, "carbon.json")
    return uow


def test_the_scenario_rollup_equals_the_matrix_solve(scenario_store: UnitOfWork) -> None:
    result = carbon.footprints(scenario_store)
    expected = solve(result.system)
    keys = len(result.values)
    np.testing.assert_allclose(result.per_unit[:, :keys], expected, rtol=1e-9, atol=1e-12)
    totals = expected @ result.values
    np.testing.assert_allclose(result.per_unit[:, keys], totals, rtol=1e-9)


def test_every_scenario_pack_is_complete_and_broken_down(scenario_store: UnitOfWork) -> None:
    result = carbon.footprints(scenario_store)
    packs = [i for i, n in enumerate(result.system.nodes) if n.cls.endswith("03700000300014")]
    assert packs
    assert not result.incomplete[packs].any(), result.system.missing(packs[0])
    # every activity datum is taken; the only legs not counted move vehicles (outside the
    # battery's boundary), listed all the same
    unused = result.system.not_counted()
    vehicles = {node_id(m.id) for m in masterdata.master_data(scenario_store).materials.values()
                if m.kind is MaterialKind.VEHICLE}  # fmt: skip
    assert unused and {u.kind for u in unused} == {"leg"}
    assert all(any(f"({v}/21/" in u.what for v in vehicles) for u in unused), unused[0]
    pack = result.system.nodes[packs[0]].id
    fp = carbon.footprint(scenario_store, pack).footprint
    assert sum(fp.stages.values()) == pytest.approx(fp.kg_co2e, rel=1e-9)
    assert sum(fp.materials.values()) == pytest.approx(fp.kg_co2e, rel=1e-9)
    assert 30 < fp.per_kwh < 150  # kg CO2e/kWh: the range of published EV-battery results
    assert fp.materials["Co"] > 0 and fp.stages["transport"] > 0
    assert node_id(pack) == pack


def test_pact_exports_are_valid_and_carry_the_figures(
    uow: UnitOfWork, tmp_path: Path, conformance: Path
) -> None:
    setup(uow, tmp_path)
    schema = validators(conformance)
    fp = carbon.footprint(uow, PACK, "test@1").footprint
    for version in ("2", "3"):
        document = carbon.pact_footprint(uow, PACK, version, "test@1")
        assert list(schema[version].iter_errors(document)) == []
        assert document["productIds"] == [PACK]
        assert document["companyName"] == "Maker"
    v3 = carbon.pact_footprint(uow, PACK, "3", "test@1")["pcf"]
    assert (v3["declaredUnitOfMeasurement"], v3["declaredUnitAmount"]) == ("kilowatt hour", "2")
    assert float(v3["pcfExcludingBiogenicUptake"]) == pytest.approx(fp.kg_co2e, rel=1e-5)
    assert float(v3["productMassPerDeclaredUnit"]) == pytest.approx(12.0)
    assert v3["ipccCharacterizationFactors"] == ["AR6"]  # every test factor is AR6
    with pytest.raises(FootprintError, match="PACT footprints are exported for lots, packs"):
        carbon.pact_footprint(uow, MODULE, "3", "test@1")
    lot = carbon.pact_footprint(uow, SUL, "2", "test@1")
    assert list(schema["2"].iter_errors(lot)) == []
    assert lot["pcf"]["declaredUnit"] == "kilogram"
    assert lot["productIds"] == [SUL]


def test_a_supplier_footprint_replaces_what_the_chain_recorded(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    setup(uow, tmp_path)
    document = carbon.pact_footprint(uow, SUL, "3", "test@1")
    for name in ("pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake", "fossilGhgEmissions"):
        document["pcf"][name] = "2.5"
    read, _ = carbon.import_supplier_footprint(
        uow, document, "urn:epc:idpat:sgtin:6111111.000201.*"
    )
    assert read.kg_co2e_per_kg == 2.5
    fp = carbon.footprint(uow, PACK, "test@1").footprint
    cell = (10 * 2.5 + 8 * 0.5) / 4  # the sulfate at the supplier's 2.5 kg CO2e/kg, no upstream
    assert fp.kg_co2e == pytest.approx(3 * cell + 2 * 0.5, rel=1e-12)
    assert fp.supplier_documents == (read.id,)
    assert "diesel" not in fp.factors
    document["pcf"]["pcfExcludingBiogenicUptake"] = "-1"
    with pytest.raises(PactError, match="pcfExcludingBiogenicUptake"):
        carbon.import_supplier_footprint(uow, document, SUL)


# --- documents written the CBV way (issue 12: points 5, 6, 9, 10) -------------------------


def examples(uow: UnitOfWork, guemassa: str = "2025-02") -> None:
    for name in DOCUMENTS:
        events_service.capture(uow, EXAMPLES / name)
    masterdata.import_master_data(uow, master_data_of_examples())
    carbon.import_carbon(
        uow, from_json(model_of_examples(guemassa), "examples.json"), "examples.json"
    )
    carbon.import_factors(uow, read_csv(EXAMPLE_FACTORS, "test", "1"))


def test_the_examples_give_their_legs(uow: UnitOfWork) -> None:
    examples(uow)
    fp = carbon.footprint(uow, SULFATE, "test@1").footprint
    result = carbon.footprints(uow, "test@1")
    assert fp.kg_co2e == pytest.approx(SULFATE_KG / 4944, rel=1e-12)
    assert fp.stages["transport"] == pytest.approx((ORE_LEGS + SEA_LEG) / 4944, rel=1e-12)
    assert fp.complete, fp.missing
    labels = " ".join(b.source for g in result.system.groups for b in g.burdens)
    assert f"from {node_id(BOU_AZZER)} (sourceList location)" in labels  # file 01
    assert f"from {node_id(GUEMASSA)} (sourceList location)" in labels  # file 02 (XML)
    # the CAM (file 02) takes the whole sulfate lot and its own leg to the cell plant
    cam = carbon.footprint(uow, CAM, "test@1").footprint
    assert cam.stages["transport"] == pytest.approx(
        (ORE_LEGS + SEA_LEG + 1.0 * 60 * 0.1) / 16942, rel=1e-12
    )
    # file 03 ships a vehicle: outside the battery's system, listed with its ends
    events = orjson.loads((EXAMPLES / "03-cells-to-vehicle.jsonld").read_bytes())
    shipped = [e for e in events["epcisBody"]["eventList"] if e.get("bizStep") == "shipping"]
    legs = [u for u in carbon.not_counted(uow) if u.kind == "leg"]
    assert [u.what for u in legs] == [
        f"leg {shipped[0]['eventID']} ({node_id(VEHICLE)}) from {node_id(VEHICLES)} "
        f"(sourceList location) to {node_id(HUB)}"
    ]


def test_a_refinery_without_data_is_named(uow: UnitOfWork) -> None:
    """Guemassa's data are for January; the sulfate was made in February: its legs and the ore
    are counted, the result is incomplete and says which site and period lack data."""
    examples(uow, guemassa="2025-01")
    fp = carbon.footprint(uow, SULFATE, "test@1").footprint
    assert fp.kg_co2e == pytest.approx((SULFATE_KG - 20000 * 0.5) / 4944, rel=1e-12)
    assert not fp.complete
    sulfate = node_id(SULFATE)
    assert (
        f"no activity data for site Guemassa ({node_id(GUEMASSA)}) in 2025-02 "
        f"({sulfate} made 2025-02-05)"
    ) in fp.missing
    unused = [(u.kind, u.what) for u in fp.not_counted]
    assert ("activity data", f"Guemassa ({node_id(GUEMASSA)}) 2025-01") in unused


def _at(events: list[dict[str, Any]], location: str) -> list[dict[str, Any]]:
    """The chain with the refinery's transformation recorded at ``location``."""
    for e in events:
        if e["type"] == "TransformationEvent" and e["bizLocation"]["id"] == PLANT:
            e["readPoint"] = e["bizLocation"] = {"id": location}
    return events


@pytest.mark.parametrize(
    ("location", "children"),
    [
        ("urn:epc:id:sgln:6111111.00200.CS-PLANT", []),  # a GLN extension of the plant's GLN
        ("urn:epc:id:sgln:6111111.00900.0", ["urn:epc:id:sgln:6111111.00900.0"]),  # declared
    ],
)
def test_a_sites_data_go_to_events_at_its_parts(
    uow: UnitOfWork, tmp_path: Path, location: str, children: list[str]
) -> None:
    header = {"epcisMasterData": {"vocabularyList": [{
        "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
        "vocabularyElementList": [{"id": PLANT, "children": children}],
    }]}} if children else {}  # fmt: skip
    events = _at(chain(), location)
    doc = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2025-03-31T00:00:00Z", **({"epcisHeader": header} if header else {}),
           "epcisBody": {"eventList": events}}  # fmt: skip
    path = tmp_path / "chain.jsonld"
    path.write_bytes(orjson.dumps(doc))
    events_service.capture(uow, path)
    masterdata.import_master_data(uow, master_data())
    data = [
        {"site": PLANT, "period": "2025-03", "kind": "electricity", "factor": "grid",
         "amount": 40, "unit": "kWh"},
        {"site": MINE, "period": "2025", "kind": "fuel",
         "factor": "diesel", "amount": 100, "unit": "L"},
    ]  # fmt: skip
    carbon.import_carbon(uow, from_json({"activities": data}, "model.json"), "model.json")
    carbon.import_factors(uow, read_csv(FACTORS, "test", "1"))
    fp = carbon.footprint(uow, SUL, "test@1").footprint
    # as in test_carbon: the ore (100 L x 3 + 1 t x 50 km road x 0.1), the event's 12 kg
    # CO2e, the plant's 40 kWh x 0.5, on 40 kg of sulfate
    assert fp.kg_co2e == pytest.approx((100 * 3 + 5 + 12 + 40 * 0.5) / 40, rel=1e-12)
    assert fp.complete, fp.missing
    assert not [u for u in carbon.not_counted(uow) if u.kind == "activity data"]


def test_a_shipment_that_says_nowhere_leaves_from_the_last_receipt(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """A lot mined at the mine, received at the refinery (a part of it: its receiving dock),
    then shipped by its owner with no location, readPoint or bizLocation: the leg starts at the
    refinery, the lane refinery -> cell plant (100 km road) counts, not the mine's (1,000 km)."""
    lot = "urn:epc:class:lgtin:6111111.000101.ORE9"
    received = event("ObjectEvent", 2, PLANT, action="OBSERVE", bizStep="receiving",
                     quantityList=[kg(lot, 1000)])  # fmt: skip
    received["readPoint"] = {"id": "urn:epc:id:sgln:6111111.00200.RECEIVING"}
    del received["bizLocation"]
    owner = {"type": "owning_party", "source": "urn:epc:id:pgln:6111111.00000"}
    shipped = event("ObjectEvent", 3, PLANT, action="OBSERVE", bizStep="shipping",
                    quantityList=[kg(lot, 1000)], sourceList=[owner],
                    destinationList=[{"type": "location", "destination": CELLS}])  # fmt: skip
    del shipped["readPoint"], shipped["bizLocation"]
    events = [
        event("ObjectEvent", 1, MINE, action="ADD", bizStep="commissioning",
              quantityList=[kg(lot, 1000)]),
        received,
        shipped,
    ]  # fmt: skip
    path = tmp_path / "receipt.jsonld"
    path.write_bytes(orjson.dumps({"@context": CONTEXT, "type": "EPCISDocument",
                                   "schemaVersion": "2.0", "creationDate": "2025-03-31T00:00:00Z",
                                   "epcisBody": {"eventList": events}}))  # fmt: skip
    events_service.capture(uow, path)
    masterdata.import_master_data(uow, master_data())  # one party with four sites: no party rule
    model = {
        "activities": [{"site": MINE, "period": "2025", "kind": "fuel", "factor": "diesel",
                        "amount": 100, "unit": "L"}],
        "lanes": [{"from": PLANT, "to": CELLS, "mode": "road", "distanceKm": 100},
                  {"from": MINE, "to": CELLS, "mode": "road", "distanceKm": 1000}],
    }  # fmt: skip
    carbon.import_carbon(uow, from_json(model, "model.json"), "model.json")
    carbon.import_factors(uow, read_csv(FACTORS, "test", "1"))
    fp = carbon.footprint(uow, lot, "test@1").footprint
    result = carbon.footprints(uow, "test@1")
    assert fp.kg_co2e == pytest.approx((100 * 3 + 1 * 100 * 0.1) / 1000, rel=1e-12)
    assert fp.complete, fp.missing
    labels = [b.source for g in result.system.groups for b in g.burdens]
    assert any(f"from {node_id(PLANT)} (last receipt)" in label for label in labels), labels


def test_an_event_falls_in_the_period_of_its_local_time(uow: UnitOfWork, tmp_path: Path) -> None:
    """One period rule (decision 014): ore commissioned at 23:30 on 31 March at the mine
    (-02:00), 01:30 on 1 April in UTC, is Q1's product, whether its eventTime is written in
    the local offset or in UTC; the mine's Q1 data go to it, its Q2 data to nothing."""
    ledger.init(uow)
    local, utc = (f"urn:epc:class:lgtin:6111111.000101.{n}" for n in ("LOCAL", "UTC"))
    made = [
        {**event("ObjectEvent", 1, MINE, action="ADD", bizStep="commissioning",
                 quantityList=[kg(lot, 1000)]), "eventTime": written,
         "eventTimeZoneOffset": "-02:00"}
        for lot, written in ((local, "2025-03-31T23:30:00-02:00"), (utc, "2025-04-01T01:30:00Z"))
    ]  # fmt: skip
    path = tmp_path / "mine.jsonld"
    doc = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2025-04-01T00:00:00Z", "epcisBody": {"eventList": made}}  # fmt: skip
    path.write_bytes(orjson.dumps(doc))
    events_service.capture(uow, path)
    masterdata.import_master_data(uow, master_data())
    data = [{"site": MINE, "period": period, "kind": "fuel", "factor": "diesel", "amount": litres,
             "unit": "L"} for period, litres in (("2025-Q1", 100), ("2025-Q2", 1))]  # fmt: skip
    carbon.import_carbon(uow, from_json({"activities": data}, "model.json"), "model.json")
    carbon.import_factors(uow, read_csv(FACTORS, "test", "1"))
    for lot in (local, utc):
        fp = carbon.footprint(uow, lot, "test@1").footprint
        # Q1: 100 L x 3 kg CO2e/L shared by mass between the two 1,000 kg lots
        assert fp.kg_co2e == pytest.approx(100 * 3 / 2000, rel=1e-12) and fp.complete
    unused = [u for u in carbon.not_counted(uow) if u.kind == "activity data"]
    assert [u.what.rsplit(" ", 1)[1] for u in unused] == ["2025-Q2"]
    assert unused[0].reason == "no product made there then takes them"


def test_a_stored_set_without_the_kind_column_is_named(uow: UnitOfWork) -> None:
    """A set added before factors declared their kind (decision 014) is named, not misread."""
    ledger.init(uow)
    old = "id,name,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,gwp,source,"
    old += "reference\ndiesel,Diesel,L,3,GLO,2025,1.1,,,0,AR6,test,https://example.org\n"
    with uow.engine.begin() as conn:
        conn.execute(schema.factor_set.insert().values(name="old", version="1", content=old))
    with pytest.raises(FactorError, match=r"stored factor set old@1: line 1: kind: missing column"):
        carbon.factor_set(uow, "old@1")


def _node(uow: UnitOfWork, identifier: str) -> str:
    with uow.reading() as conn:
        return carbon_store.batch_of(conn, node_id(identifier)) or node_id(identifier)


def carbon_store_held(uow: UnitOfWork, identifier: str) -> list[tuple[str, int]]:
    with uow.reading() as conn:
        return carbon_store.held(conn, node_id(identifier))


def test_a_store_without_carbon_data_says_so_rather_than_figuring_zeros(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """Events that state no activity and no transport, no model, no supplier footprint: no
    product has a burden source, so the kept state says there is nothing to figure (it builds
    no product system); the model imported next makes the figures."""
    plain = [e for e in chain() if e.get("bizStep") != "shipping" and "bt:activity" not in e]
    doc = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2025-03-31T00:00:00Z", "epcisBody": {"eventList": plain}}  # fmt: skip
    path = tmp_path / "plain.jsonld"
    path.write_bytes(orjson.dumps(doc))
    events_service.capture(uow, path)
    with pytest.raises(FootprintError, match="no carbon data in this store"):
        carbon.footprint(uow, SUL)
    assert derived.check(uow) is None
    masterdata.import_master_data(uow, master_data())
    model = {"activities": [{"site": MINE, "period": "2025", "kind": "fuel",
                             "factor": "diesel", "amount": 100, "unit": "L"}]}  # fmt: skip
    carbon.import_carbon(uow, from_json(model, "model.json"), "model.json")
    carbon.import_factors(uow, read_csv(FACTORS, "test", "1"))
    carbon.use_factors(uow, "test@1")
    ore = carbon.footprint(uow, ORE).footprint  # 100 L x 3 kg CO2e/L over 1,000 kg
    assert ore.kg_co2e == pytest.approx(0.3, rel=1e-12) and ore.complete
    assert derived.check(uow) is None
