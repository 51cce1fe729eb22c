"""Footprints of what the store recorded: a chain of EPCIS events figured by hand, and the
scenario against the technosphere solve."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from batterytrace.carbon.activity import from_json
from batterytrace.carbon.factors import read_csv
from batterytrace.errors import FactorError, FootprintError, PactError
from batterytrace.masterdata import MasterData, MaterialKind, Party, Site, SiteRole, material
from batterytrace.repository import Repository
from batterytrace.scenario.generator import generate
from batterytrace.trace.lineage import node_id
from factories import CONTEXT
from pact_schema import validators
from technosphere import solve

MINE, PLANT, CELLS, PACKS = (f"urn:epc:id:sgln:6111111.00{n}00.0" for n in range(1, 5))
ORE = "urn:epc:class:lgtin:6111111.000101.ORE1"
SUL = "urn:epc:class:lgtin:6111111.000201.SUL1"
CELL = "urn:epc:id:sgtin:6111111.000301.C{n}"
MODULE, PACK = "urn:epc:id:sgtin:6111111.000401.M1", "urn:epc:id:sgtin:6111111.000501.P1"


def event(kind: str, day: int, site: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "eventID": f"urn:uuid:{uuid.uuid4()}",
        "eventTime": f"2025-03-{day:02d}T08:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        **fields,
        "readPoint": {"id": site},
        "bizLocation": {"id": site},
    }


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


FACTORS = """id,name,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,gwp,source,\
reference
diesel,Diesel,L,3,GLO,2025,1.1,,,0,AR6,test,https://example.org
grid,Grid,kWh,0.5,FR,2025,1.2,,,0,AR6,test,https://example.org
freight-road-truck,Road,tkm,0.1,GLO,2025,1.5,,,0,AR6,test,https://example.org
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


def setup(repo: Repository, tmp_path: Path) -> None:
    repo.init()
    path = tmp_path / "chain.jsonld"
    doc = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2025-03-31T00:00:00Z", "epcisBody": {"eventList": chain()}}  # fmt: skip
    path.write_bytes(orjson.dumps(doc))
    repo.capture(path)
    repo.import_master_data(master_data())
    data = [
        (MINE, "2025", "fuel", "diesel", 100, "L"),
        (PLANT, "2025-03", "electricity", "grid", 40, "kWh"),
        (CELLS, "2025-Q1", "electricity", "grid", 8, "kWh"),
        (PACKS, "2025", "electricity", "grid", 2, "kWh"),
    ]
    fields = ("site", "period", "kind", "factor", "amount", "unit")
    model = {"activities": [dict(zip(fields, row, strict=True)) for row in data]}
    repo.import_carbon(from_json(model, "model.json"), "model.json")
    repo.import_factors(read_csv(FACTORS, "test", "1"))


def test_a_recorded_chain_figured_by_hand(repo: Repository, tmp_path: Path) -> None:
    setup(repo, tmp_path)
    fp, _ = repo.footprint(PACK, "test@1")
    ore = 100 * 3 + 1.0 * 50 * 0.1  # diesel, then 1 t x 50 km by road (stated on the shipment)
    sulfate = (
        ore + 12 + 40 * 0.5
    ) / 40  # per kg: the ore, the event's process CO2, the plant's grid
    cell = (10 * sulfate + 8 * 0.5) / 4
    assert fp.kg_co2e == pytest.approx(3 * cell + 2 * 0.5, rel=1e-12)
    assert fp.per_kwh == pytest.approx(fp.kg_co2e / 2.0)
    assert fp.complete
    assert fp.stages["transport"] == pytest.approx(5 * 10 / 40 * 3 / 4, rel=1e-12)
    item, _ = repo.footprint(CELL.format(n=4), "test@1")
    assert item.kg_co2e == pytest.approx(cell, rel=1e-12)
    lot, _ = repo.footprint(SUL, "test@1")
    assert lot.kg_co2e == pytest.approx(sulfate, rel=1e-12) and lot.unit == "kg"
    module, _ = repo.footprint(MODULE, "test@1")  # its 3 cells; the pack plant's data go to packs
    assert module.kg_co2e == pytest.approx(3 * cell, rel=1e-12) and module.complete
    tree = repo.explain_footprint(repo.footprints("test@1"), MODULE)
    assert tree.kg_co2e == pytest.approx(3 * cell, rel=1e-12) and len(tree.children) == 1


def test_unknown_ids_and_sets_are_named(repo: Repository, tmp_path: Path) -> None:
    setup(repo, tmp_path)
    with pytest.raises(FootprintError, match="not a lot, pack, module or item"):
        repo.footprint("urn:epc:class:lgtin:6111111.000201.NONE")
    with pytest.raises(FactorError, match="factor set 'nope@1' is unknown"):
        repo.footprint(PACK, "nope@1")
    # the shipped set has no factor called "grid": named, and the pack marked incomplete
    fp, _ = repo.footprint(PACK)
    assert not fp.complete and any("'grid' is not in" in m for m in fp.missing)


SCALE = 0.0003


@pytest.fixture(scope="module")
def scenario_store(tmp_path_factory: pytest.TempPathFactory) -> Repository:
    out = tmp_path_factory.mktemp("carbon-scenario")
    generate(out / "scenario", SCALE, seed=3)
    repo = Repository(f"sqlite:///{out / 'store.db'}", out / "ledger.key")
    repo.init()
    for path in sorted((out / "scenario").glob("events-*.jsonld")):
        repo.capture(path)
    repo.import_master_data(
        MasterData.from_json(orjson.loads((out / "scenario" / "masterdata.json").read_bytes()))
    )
    model = from_json(orjson.loads((out / "scenario" / "carbon.json").read_bytes()), "carbon.json")
    repo.import_carbon(model, "carbon.json")
    return repo


def test_the_scenario_rollup_equals_the_matrix_solve(scenario_store: Repository) -> None:
    result = scenario_store.footprints()
    expected = solve(result.system)
    keys = len(result.values)
    np.testing.assert_allclose(result.per_unit[:, :keys], expected, rtol=1e-9, atol=1e-12)
    totals = expected @ result.values
    np.testing.assert_allclose(result.per_unit[:, keys], totals, rtol=1e-9)


def test_every_scenario_pack_is_complete_and_broken_down(scenario_store: Repository) -> None:
    result = scenario_store.footprints()
    packs = [i for i, n in enumerate(result.system.nodes) if n.cls.endswith("03700000300014")]
    assert packs
    assert not result.incomplete[packs].any(), result.system.nodes[packs[0]].missing
    assert not result.system.notes
    pack = result.system.nodes[packs[0]].id
    fp, _ = scenario_store.footprint(pack)
    assert sum(fp.stages.values()) == pytest.approx(fp.kg_co2e, rel=1e-9)
    assert sum(fp.materials.values()) == pytest.approx(fp.kg_co2e, rel=1e-9)
    assert 30 < fp.per_kwh < 150  # kg CO2e/kWh: the range of published EV-battery results
    assert fp.materials["Co"] > 0 and fp.stages["transport"] > 0
    assert node_id(pack) == pack


def test_pact_exports_are_valid_and_carry_the_figures(
    repo: Repository, tmp_path: Path, conformance: Path
) -> None:
    setup(repo, tmp_path)
    schema = validators(conformance)
    fp, _ = repo.footprint(PACK, "test@1")
    for version in ("2", "3"):
        document = repo.pact_footprint(PACK, version, "test@1")
        assert list(schema[version].iter_errors(document)) == []
        assert document["productIds"] == [PACK]
        assert document["companyName"] == "Maker"
    v3 = repo.pact_footprint(PACK, "3", "test@1")["pcf"]
    assert (v3["declaredUnitOfMeasurement"], v3["declaredUnitAmount"]) == ("kilowatt hour", "2")
    assert float(v3["pcfExcludingBiogenicUptake"]) == pytest.approx(fp.kg_co2e, rel=1e-5)
    assert float(v3["productMassPerDeclaredUnit"]) == pytest.approx(12.0)
    assert v3["ipccCharacterizationFactors"] == ["AR6"]  # every test factor is AR6
    with pytest.raises(FootprintError, match="PACT footprints are exported for lots, packs"):
        repo.pact_footprint(MODULE, "3", "test@1")
    lot = repo.pact_footprint(SUL, "2", "test@1")
    assert list(schema["2"].iter_errors(lot)) == []
    assert lot["pcf"]["declaredUnit"] == "kilogram"
    assert lot["productIds"] == [SUL]


def test_a_supplier_footprint_replaces_what_the_chain_recorded(
    repo: Repository, tmp_path: Path
) -> None:
    setup(repo, tmp_path)
    document = repo.pact_footprint(SUL, "3", "test@1")
    for name in ("pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake", "fossilGhgEmissions"):
        document["pcf"][name] = "2.5"
    read, _ = repo.import_supplier_footprint(document, "urn:epc:idpat:sgtin:6111111.000201.*")
    assert read.kg_co2e_per_kg == 2.5
    fp, _ = repo.footprint(PACK, "test@1")
    cell = (10 * 2.5 + 8 * 0.5) / 4  # the sulfate at the supplier's 2.5 kg CO2e/kg, no upstream
    assert fp.kg_co2e == pytest.approx(3 * cell + 2 * 0.5, rel=1e-12)
    assert fp.supplier_documents == (read.id,)
    assert "diesel" not in fp.factors
    document["pcf"]["pcfExcludingBiogenicUptake"] = "-1"
    with pytest.raises(PactError, match="pcfExcludingBiogenicUptake"):
        repo.import_supplier_footprint(document, SUL)
