"""Imports are idempotent (decision 016): importing what is stored already changes nothing; a
carbon datum stated again with other values replaces the stored one only when asked, and each
carbon import can be listed and undone. Figures worked by hand on a two-step chain."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from batterytrace.carbon.activity import from_json
from batterytrace.carbon.factors import read_csv
from batterytrace.cli import app
from batterytrace.contracts.agreement import Agreement
from batterytrace.custody.rules import CustodyRules
from batterytrace.errors import ImportConflict
from batterytrace.masterdata import MasterData, Party, Site, SiteRole
from batterytrace.scenario.generator import contract
from batterytrace.services import carbon, contracts, ledger, masterdata
from batterytrace.services import custody as custody_service
from batterytrace.services import events as events_service
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import carbon as carbon_store
from batterytrace.store.imported import Imported
from batterytrace.trace.lineage import node_id
from factories import CONTEXT, CUSTODY_RULES, custody_sites

MINE, PLANT = "urn:epc:id:sgln:6111111.00100.0", "urn:epc:id:sgln:6111111.00200.0"
ORE = "urn:epc:class:lgtin:6111111.000101.ORE1"
SUL = "urn:epc:class:lgtin:6111111.000201.SUL1"
MINE_LINK = node_id(MINE)  # the site as the store names it (GS1 Digital Link)
FACTORS = """id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,\
gwp,source,reference
diesel,Diesel,fuel,,L,3,GLO,2025,1.1,,,0,AR6,test,https://example.org
grid,Grid,grid,,kWh,0.5,FR,2025,1.2,,,0,AR6,test,https://example.org
"""
# 1,000 kg of ore mined with 100 L of diesel: 300 kg CO2e, 0.3 per kg; 40 kg of sulfate made
# from it with 40 kWh of grid power: (300 + 20) / 40 = 8 kg CO2e per kg.
SULFATE = (100 * 3 + 40 * 0.5) / 40


def _model(diesel: float = 100, mode: str = "road") -> dict[str, Any]:
    return {
        "activities": [
            {"site": MINE, "period": "2025", "kind": "fuel", "factor": "diesel",
             "amount": diesel, "unit": "L"},
            {"site": PLANT, "period": "2025-03", "kind": "electricity", "factor": "grid",
             "amount": 40, "unit": "kWh"},
        ],
        "lanes": [{"from": MINE, "to": PLANT, "mode": mode, "distanceKm": 0}],
    }  # fmt: skip


def _event(kind: str, day: int, site: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "eventTime": f"2025-03-{day:02d}T08:00:00.000Z",
            "eventTimeZoneOffset": "+00:00", **fields,
            "readPoint": {"id": site}, "bizLocation": {"id": site}}  # fmt: skip


def _kg(lot: str, amount: float) -> dict[str, Any]:
    return {"epcClass": lot, "quantity": amount, "uom": "KGM"}


def _fill(uow: UnitOfWork, folder: Path) -> None:
    ledger.init(uow)
    events = [
        _event("ObjectEvent", 1, MINE, action="ADD", bizStep="commissioning",
               quantityList=[_kg(ORE, 1000)]),
        _event("TransformationEvent", 3, PLANT, inputQuantityList=[_kg(ORE, 1000)],
               outputQuantityList=[_kg(SUL, 40)]),
    ]  # fmt: skip
    doc = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2025-03-31T00:00:00Z", "epcisBody": {"eventList": events}}  # fmt: skip
    (folder / "chain.jsonld").write_bytes(orjson.dumps(doc))
    events_service.capture(uow, folder / "chain.jsonld")
    masterdata.import_master_data(uow, _master_data())
    carbon.import_factors(uow, read_csv(FACTORS, "test", "1"))


def _master_data() -> MasterData:
    data = MasterData()
    data.add_party(Party("urn:epc:id:pgln:6111111.00000", "Maker", "FR"))
    for sgln, role in ((MINE, SiteRole.MINE), (PLANT, SiteRole.REFINERY)):
        data.add_site(Site(sgln, role.value, "urn:epc:id:pgln:6111111.00000", role, "FR"))
    return data


def _sulfate(uow: UnitOfWork) -> float:
    fp = carbon.footprint(uow, SUL, "test@1").footprint
    assert fp.complete, fp.missing
    return fp.kg_co2e


@pytest.fixture
def filled(uow: UnitOfWork, tmp_path: Path) -> UnitOfWork:
    _fill(uow, tmp_path)
    return uow


def test_the_same_model_twice_is_the_footprint_of_once(filled: UnitOfWork) -> None:
    first = carbon.import_carbon(filled, from_json(_model(), "model.json"), "model.json")
    # kept under its import record: 3, after the master data (1) and the factor set (2)
    assert (first.added, first.replaced, first.unchanged, first.id) == (3, 0, 0, 3)
    assert _sulfate(filled) == pytest.approx(SULFATE, rel=1e-12)
    again = carbon.import_carbon(filled, from_json(_model(), "model.json"), "model.json")
    assert (again.added, again.replaced, again.unchanged, again.id) == (0, 0, 3, None)
    assert _sulfate(filled) == pytest.approx(SULFATE, rel=1e-12)  # not (600 + 40) / 40
    assert [i for i, *_ in carbon.carbon_imports(filled)] == [3]


def test_a_conflicting_datum_is_refused_naming_it_and_nothing_is_written(
    filled: UnitOfWork,
) -> None:
    carbon.import_carbon(filled, from_json(_model(), "model.json"), "model.json")
    changed = _model(diesel=200)
    changed["activities"].append(
        {"site": PLANT, "period": "2025-03", "kind": "process", "amount": 8, "unit": "kgCO2e"}
    )
    with pytest.raises(ImportConflict) as refused:
        carbon.import_carbon(filled, from_json(changed, "v2.json"), "v2.json")
    assert str(refused.value) == (
        f"v2.json: a datum for site {MINE_LINK}, period 2025, kind fuel, factor diesel "
        "(v2.json: activities[0]) is stored with other values; nothing was imported "
        "(replacing it is asked with --replace)"
    )
    assert _sulfate(filled) == pytest.approx(SULFATE, rel=1e-12)  # not the process datum either
    assert len(carbon.carbon_imports(filled)) == 1


def test_replace_then_remove_restores_the_footprint(filled: UnitOfWork) -> None:
    carbon.import_carbon(filled, from_json(_model(), "model.json"), "model.json")
    changed = _model(diesel=200)
    done = carbon.import_carbon(filled, from_json(changed, "v2.json"), "v2.json", replace=True)
    assert (done.added, done.replaced, done.unchanged, done.id) == (0, 1, 2, 4)
    replaced = (200 * 3 + 40 * 0.5) / 40  # the new diesel instead of the old, not beside it
    assert _sulfate(filled) == pytest.approx(replaced, rel=1e-12)
    (_, source, _, kept), *_ = carbon.carbon_imports(filled)[1:]
    assert source == "v2.json" and [a.amount for a in kept.activities] == [200]
    carbon.remove_carbon(filled, 4)
    assert _sulfate(filled) == pytest.approx(SULFATE, rel=1e-12)
    with pytest.raises(ImportConflict, match="carbon import 4: no such import"):
        carbon.remove_carbon(filled, 4)


def test_a_changed_lane_is_a_conflict_too(filled: UnitOfWork) -> None:
    carbon.import_carbon(filled, from_json(_model(), "model.json"), "model.json")
    with pytest.raises(ImportConflict, match=f"lane {MINE_LINK} -> .* is stored with other"):
        carbon.import_carbon(filled, from_json(_model(mode="rail"), "v2.json"), "v2.json")


def test_cli_import_list_remove_round_trip(
    filled: UnitOfWork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATTERYTRACE_DB", filled.url)
    monkeypatch.setenv("BATTERYTRACE_KEY", str(filled.key_path))
    runner = CliRunner()
    (tmp_path / "model.json").write_bytes(orjson.dumps(_model()))
    (tmp_path / "v2.json").write_bytes(orjson.dumps(_model(diesel=200)))
    first = runner.invoke(app, ["carbon", "import", str(tmp_path / "model.json")])
    assert first.stdout.strip() == (
        "carbon import 3 (model.json): 3 added, 0 replaced, 0 unchanged "
        "(2 activity data, 1 lanes, 0 allocation rules, 0 proxies kept)"
    )
    again = runner.invoke(app, ["carbon", "import", str(tmp_path / "model.json")])
    assert again.exit_code == 0
    assert again.stdout.strip() == (
        "model.json: nothing changed, 3 entries stored already (not recorded)"
    )
    refused = runner.invoke(app, ["carbon", "import", str(tmp_path / "v2.json")])
    assert refused.exit_code == 1 and "factor diesel" in refused.stderr
    assert "Traceback" not in refused.output
    replaced = runner.invoke(app, ["carbon", "import", "--replace", str(tmp_path / "v2.json")])
    assert "carbon import 4 (v2.json): 0 added, 1 replaced, 2 unchanged" in replaced.stdout
    listed = json.loads(runner.invoke(app, ["carbon", "list", "--json"]).stdout)
    assert [(i["id"], i["source"], i["activities"], i["lanes"]) for i in listed] == [
        (3, "model.json", 2, 1),
        (4, "v2.json", 1, 0),
    ]
    assert "v2.json" in runner.invoke(app, ["carbon", "list"]).stdout
    removed = runner.invoke(app, ["carbon", "remove", "4"])
    assert removed.exit_code == 0 and "carbon import 4 removed" in removed.stdout
    assert _sulfate(filled) == pytest.approx(SULFATE, rel=1e-12)
    assert runner.invoke(app, ["carbon", "remove", "4"]).exit_code == 1


# --- the other imports: the same content again changes nothing ---------------------------------


def _rows(uow: UnitOfWork, table: str) -> list[tuple[Any, ...]]:
    with uow.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1")]


def test_master_data_again_changes_nothing_and_a_changed_record_replaces(
    filled: UnitOfWork,
) -> None:
    before = _rows(filled, "site")
    again = masterdata.import_master_data(filled, _master_data())
    assert again == {"parties": Imported(unchanged=1), "sites": Imported(unchanged=2),
                     "materials": Imported()}  # fmt: skip
    assert _rows(filled, "site") == before
    renamed = _master_data()
    renamed.sites[MINE] = replace(renamed.sites[MINE], name="Bou Azzer")
    assert masterdata.import_master_data(filled, renamed)["sites"] == Imported(
        replaced=1, unchanged=1
    )
    assert masterdata.master_data(filled).sites[MINE].name == "Bou Azzer"


def test_custody_rules_again_change_nothing_and_changed_rules_replace_the_set(
    filled: UnitOfWork,
) -> None:
    masterdata.import_master_data(filled, custody_sites())  # the sites the rules name
    rules = CustodyRules.from_json(CUSTODY_RULES)
    assert custody_service.import_rules(filled, rules) == Imported(added=4)
    before = _rows(filled, "custody_rule")
    assert custody_service.import_rules(filled, rules) == Imported(unchanged=4)
    assert _rows(filled, "custody_rule") == before  # not even rewritten
    fewer = CustodyRules.from_json(CUSTODY_RULES | {"origins": CUSTODY_RULES["origins"][:1]})
    done = custody_service.import_rules(filled, fewer)
    assert (done.added, done.unchanged, done.removed) == (0, 4 - (len(rules.origins) - 1),
                                                          len(rules.origins) - 1)  # fmt: skip
    assert custody_service.rules(filled) == fewer


def test_contracts_again_change_nothing_and_a_changed_one_replaces(filled: UnitOfWork) -> None:
    agreement = Agreement.from_json(contract(1.0))
    assert contracts.import_contracts(filled, [agreement]) == Imported(added=1)
    before = _rows(filled, "contract")
    assert contracts.import_contracts(filled, [agreement]) == Imported(unchanged=1)
    assert _rows(filled, "contract") == before
    bigger = Agreement.from_json(contract(2.0))
    assert contracts.import_contracts(filled, [bigger]) == Imported(replaced=1)
    assert contracts.contracts(filled) == [bigger]


def test_a_factor_set_again_changes_nothing_and_another_under_its_version_is_refused(
    filled: UnitOfWork,
) -> None:
    assert carbon.import_factors(filled, read_csv(FACTORS, "test", "1")) == Imported(unchanged=1)
    changed = read_csv(
        FACTORS.replace("diesel,Diesel,fuel,,L,3,", "diesel,Diesel,fuel,,L,30,"), "test", "1"
    )
    before = _rows(filled, "factor_set")
    with pytest.raises(ImportConflict, match="factor set test@1 is stored with other factors"):
        carbon.import_factors(filled, changed)
    assert _rows(filled, "factor_set") == before
    assert carbon.import_factors(filled, read_csv(FACTORS, "test", "2")) == Imported(added=1)


def test_a_supplier_footprint_again_changes_nothing(filled: UnitOfWork) -> None:
    carbon.import_carbon(filled, from_json(_model(), "model.json"), "model.json")
    document = carbon.pact_footprint(filled, SUL, "3", "test@1")
    product = "urn:epc:idpat:sgtin:6111111.000301.*"
    read, done = carbon.import_supplier_footprint(filled, document, product)
    assert done == Imported(added=1)
    assert carbon.import_supplier_footprint(filled, document, product)[1] == Imported(unchanged=1)
    altered = document | {"comment": "revised"}
    with pytest.raises(ImportConflict, match=f"supplier footprint {read.id} is stored with other"):
        carbon.import_supplier_footprint(filled, altered, product)
    newer = altered | {"id": str(uuid.uuid4())}
    with pytest.raises(ImportConflict, match=f"supplier footprint {read.id} stands for it"):
        carbon.import_supplier_footprint(filled, newer, product)
    assert [d["id"] for _, d in _suppliers(filled)] == [read.id]
    assert carbon.import_supplier_footprint(filled, newer, product, replace=True)[1] == Imported(
        replaced=1
    )
    assert [d["id"] for _, d in _suppliers(filled)] == [newer["id"]]


def _suppliers(uow: UnitOfWork) -> list[tuple[str, dict[str, Any]]]:
    with uow.engine.connect() as conn:
        return carbon_store.suppliers(conn)
