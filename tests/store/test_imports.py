"""Imports are idempotent (decision 016): importing what is stored already changes nothing; a
carbon datum stated again with other values replaces the stored one only when asked, and each
carbon import can be listed and undone. Figures worked by hand on a two-step chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from batterytrace.carbon.activity import from_json
from batterytrace.carbon.factors import read_csv
from batterytrace.cli import app
from batterytrace.errors import ImportConflict
from batterytrace.masterdata import MasterData, Party, Site, SiteRole
from batterytrace.repository import Repository
from batterytrace.trace.lineage import node_id
from factories import CONTEXT

MINE, PLANT = "urn:epc:id:sgln:6111111.00100.0", "urn:epc:id:sgln:6111111.00200.0"
ORE = "urn:epc:class:lgtin:6111111.000101.ORE1"
SUL = "urn:epc:class:lgtin:6111111.000201.SUL1"
MINE_LINK = node_id(MINE)  # the site as the store names it (GS1 Digital Link)
FACTORS = """id,name,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,gwp,source,\
reference
diesel,Diesel,L,3,GLO,2025,1.1,,,0,AR6,test,https://example.org
grid,Grid,kWh,0.5,FR,2025,1.2,,,0,AR6,test,https://example.org
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


def _fill(repo: Repository, folder: Path) -> None:
    repo.init()
    events = [
        _event("ObjectEvent", 1, MINE, action="ADD", bizStep="commissioning",
               quantityList=[_kg(ORE, 1000)]),
        _event("TransformationEvent", 3, PLANT, inputQuantityList=[_kg(ORE, 1000)],
               outputQuantityList=[_kg(SUL, 40)]),
    ]  # fmt: skip
    doc = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": "2025-03-31T00:00:00Z", "epcisBody": {"eventList": events}}  # fmt: skip
    (folder / "chain.jsonld").write_bytes(orjson.dumps(doc))
    repo.capture(folder / "chain.jsonld")
    repo.import_master_data(_master_data())
    repo.import_factors(read_csv(FACTORS, "test", "1"))


def _master_data() -> MasterData:
    data = MasterData()
    data.add_party(Party("urn:epc:id:pgln:6111111.00000", "Maker", "FR"))
    for sgln, role in ((MINE, SiteRole.MINE), (PLANT, SiteRole.REFINERY)):
        data.add_site(Site(sgln, role.value, "urn:epc:id:pgln:6111111.00000", role, "FR"))
    return data


def _sulfate(repo: Repository) -> float:
    fp, _ = repo.footprint(SUL, "test@1")
    assert fp.complete, fp.missing
    return fp.kg_co2e


@pytest.fixture
def filled(repo: Repository, tmp_path: Path) -> Repository:
    _fill(repo, tmp_path)
    return repo


def test_the_same_model_twice_is_the_footprint_of_once(filled: Repository) -> None:
    first = filled.import_carbon(from_json(_model(), "model.json"), "model.json")
    assert (first.added, first.replaced, first.unchanged, first.id) == (3, 0, 0, 1)
    assert _sulfate(filled) == pytest.approx(SULFATE, rel=1e-12)
    again = filled.import_carbon(from_json(_model(), "model.json"), "model.json")
    assert (again.added, again.replaced, again.unchanged, again.id) == (0, 0, 3, None)
    assert _sulfate(filled) == pytest.approx(SULFATE, rel=1e-12)  # not (600 + 40) / 40
    assert [i for i, *_ in filled.carbon_imports()] == [1]


def test_a_conflicting_datum_is_refused_naming_it_and_nothing_is_written(
    filled: Repository,
) -> None:
    filled.import_carbon(from_json(_model(), "model.json"), "model.json")
    changed = _model(diesel=200)
    changed["activities"].append(
        {"site": PLANT, "period": "2025-03", "kind": "process", "amount": 8, "unit": "kgCO2e"}
    )
    with pytest.raises(ImportConflict) as refused:
        filled.import_carbon(from_json(changed, "v2.json"), "v2.json")
    assert str(refused.value) == (
        f"v2.json: a datum for site {MINE_LINK}, period 2025, kind fuel, factor diesel "
        "(v2.json: activities[0]) is stored with other values; nothing was imported "
        "(replacing it is asked with --replace)"
    )
    assert _sulfate(filled) == pytest.approx(SULFATE, rel=1e-12)  # not the process datum either
    assert len(filled.carbon_imports()) == 1


def test_replace_then_remove_restores_the_footprint(filled: Repository) -> None:
    filled.import_carbon(from_json(_model(), "model.json"), "model.json")
    changed = _model(diesel=200)
    done = filled.import_carbon(from_json(changed, "v2.json"), "v2.json", replace=True)
    assert (done.added, done.replaced, done.unchanged, done.id) == (0, 1, 2, 2)
    replaced = (200 * 3 + 40 * 0.5) / 40  # the new diesel instead of the old, not beside it
    assert _sulfate(filled) == pytest.approx(replaced, rel=1e-12)
    (_, source, _, kept), *_ = filled.carbon_imports()[1:]
    assert source == "v2.json" and [a.amount for a in kept.activities] == [200]
    filled.remove_carbon(2)
    assert _sulfate(filled) == pytest.approx(SULFATE, rel=1e-12)
    with pytest.raises(ImportConflict, match="carbon import 2: no such import"):
        filled.remove_carbon(2)


def test_a_changed_lane_is_a_conflict_too(filled: Repository) -> None:
    filled.import_carbon(from_json(_model(), "model.json"), "model.json")
    with pytest.raises(ImportConflict, match=f"lane {MINE_LINK} -> .* is stored with other"):
        filled.import_carbon(from_json(_model(mode="rail"), "v2.json"), "v2.json")


def test_cli_import_list_remove_round_trip(
    filled: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATTERYTRACE_DB", filled.url)
    monkeypatch.setenv("BATTERYTRACE_KEY", str(filled.key_path))
    runner = CliRunner()
    (tmp_path / "model.json").write_bytes(orjson.dumps(_model()))
    (tmp_path / "v2.json").write_bytes(orjson.dumps(_model(diesel=200)))
    first = runner.invoke(app, ["carbon", "import", str(tmp_path / "model.json")])
    assert first.stdout.strip() == "carbon import 1 (model.json): 3 added, 0 replaced, 0 unchanged"
    again = runner.invoke(app, ["carbon", "import", str(tmp_path / "model.json")])
    assert again.exit_code == 0
    assert again.stdout.strip() == "model.json: nothing changed, 3 entries stored already"
    refused = runner.invoke(app, ["carbon", "import", str(tmp_path / "v2.json")])
    assert refused.exit_code == 1 and "factor diesel" in refused.stderr
    assert "Traceback" not in refused.output
    replaced = runner.invoke(app, ["carbon", "import", "--replace", str(tmp_path / "v2.json")])
    assert "carbon import 2 (v2.json): 0 added, 1 replaced, 2 unchanged" in replaced.stdout
    listed = json.loads(runner.invoke(app, ["carbon", "list", "--json"]).stdout)
    assert [(i["id"], i["source"], i["activities"], i["lanes"]) for i in listed] == [
        (1, "model.json", 2, 1),
        (2, "v2.json", 1, 0),
    ]
    assert "v2.json" in runner.invoke(app, ["carbon", "list"]).stdout
    removed = runner.invoke(app, ["carbon", "remove", "2"])
    assert removed.exit_code == 0 and "carbon import 2 removed" in removed.stdout
    assert _sulfate(filled) == pytest.approx(SULFATE, rel=1e-12)
    assert runner.invoke(app, ["carbon", "remove", "2"]).exit_code == 1
