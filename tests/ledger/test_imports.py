"""Every import is recorded and chained (decision 015): its content hash, time, source and
effect are listed, and verify recomputes each imported table from the records, so a row
changed, added or removed by hand, or a record rewritten, fails and is named."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from batterytrace.carbon.activity import Model, from_json
from batterytrace.carbon.factors import read_csv
from batterytrace.carbon.pact import export
from batterytrace.cli import app
from batterytrace.contracts.agreement import Agreement
from batterytrace.custody.claims import Claim
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Document
from batterytrace.errors import ImportConflict
from batterytrace.masterdata import MasterData, MaterialKind, Party, Site, SiteRole, material
from batterytrace.services import carbon, contracts, events, ledger, masterdata
from batterytrace.services import custody as custody_service
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store.imported import Imported
from batterytrace.trace.lineage import node_id
from factories import (
    CUSTODY_RULES,
    PCAM,
    REFINERY,
    SULFATE_PCF,
    T0,
    close_period,
    custody_chain,
    custody_sites,
    transfer,
)

MAKER = "urn:epc:id:pgln:6111111.00000"
PLANT = "urn:epc:id:sgln:6111111.00040.0"
PACK = "urn:epc:idpat:sgtin:6111111.000501.*"
FACTORS = """id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,biogenic_share,\
gwp,source,reference
grid,Grid,grid,,kWh,0.5,FR,2025,1.2,,,0,AR6,test,https://example.org
"""
AGREEMENT = {
    "id": "https://batterytrace.org/agreement/test",
    "buyer": "urn:epc:id:pgln:3700000.00000",
    "seller": MAKER,
    "product": "urn:epc:idpat:sgtin:6111111.000201.*",
    "formula": "CoSO4·7H2O",
    "annualKg": 1000,
    "startYear": 2025,
    "years": 2,
    "tolerance": 0.05,
    "deliveryTerms": "CIF Dunkirk (Incoterms 2020)",
    "deliverySite": "urn:epc:id:sgln:3012345.00001.0",
}


def master_data() -> MasterData:
    data = MasterData()
    data.add_party(Party(MAKER, "Maker", "FR"))
    data.add_site(Site(PLANT, "Pack plant", MAKER, SiteRole.PACK, "FR"))
    for site in custody_sites().sites.values():  # the sites the custody rules name (MAKER's)
        data.add_site(site)
    data.add_material(
        material(PACK, "Pack", MaterialKind.PACK, chemistry="NMC811", energy_kwh=52.0, mass_kg=338)
    )
    return data


def supplier_document() -> dict[str, Any]:
    sulfate = ("urn:epc:class:lgtin:6111111.000201.SUL-7",)
    return export(replace(SULFATE_PCF, product_ids=sulfate), "3")


@pytest.fixture
def imported(uow: UnitOfWork) -> UnitOfWork:
    """One import of every kind."""
    masterdata.import_master_data(uow, master_data(), "masterdata.json")
    model = {"activities": [{"site": PLANT, "period": "2025", "kind": "electricity",
                             "factor": "grid", "amount": 40, "unit": "kWh"}]}  # fmt: skip
    carbon.import_carbon(uow, from_json(model, "carbon.json"), "carbon.json")
    custody_service.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES), "custody.json")
    contracts.import_contracts(uow, [Agreement.from_json(AGREEMENT)], "contracts.json")
    carbon.import_factors(uow, read_csv(FACTORS, "test", "1"))
    carbon.import_supplier_footprint(
        uow, supplier_document(), "urn:epc:idpat:sgtin:6111111.000201.*"
    )
    return uow


def _sql(uow: UnitOfWork, statement: str, **params: object) -> None:
    with uow.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_every_import_kind_is_recorded_and_listed(imported: UnitOfWork) -> None:
    env = {"BATTERYTRACE_DB": imported.url, "BATTERYTRACE_KEY": str(imported.key_path)}
    result = CliRunner().invoke(app, ["imports", "--json"], env=env)
    assert result.exit_code == 0, result.output
    listed = orjson.loads(result.stdout)
    assert [(r["seq"], r["kind"], r["action"], r["source"]) for r in listed] == [
        (1, "masterdata", "import", "masterdata.json"),
        (2, "carbon", "import", "carbon.json"),
        (3, "custody", "import", "custody.json"),
        (4, "contracts", "import", "contracts.json"),
        (5, "factors", "import", "test@1"),
        (6, "supplier", "import", None),
    ]
    assert [r["effect"] for r in listed] == [
        {"parties added": 1, "sites added": 4, "materials added": 1},  # the plant, 3 custody sites
        {"entries added": 1},
        {"rules added": 4},
        {"agreements added": 1},
        {"factor sets added": 1},
        {"footprints added": 1},
    ]
    with imported.engine.connect() as conn:
        contents = [r[0] for r in conn.execute(text("SELECT content FROM import_record"))]
    assert [r["contentHash"] for r in listed] == [
        hashlib.sha256(c.encode()).hexdigest() for c in contents
    ]
    assert orjson.loads(contents[0])["materials"][0]["energy_kwh"] == 52.0
    table = CliRunner().invoke(app, ["imports"], env=env)
    assert "masterdata" in table.stdout and "1 agreements" in table.stdout
    report = ledger.verify(imported)
    assert report.ok, (report.import_failure, report.checkpoint_failures)
    assert (report.import_records, report.checkpoints) == (6, 6)  # each import signs the heads


def test_a_master_data_row_changed_by_hand_fails_naming_the_import(imported: UnitOfWork) -> None:
    """A pack's energy from 52 to 104 kWh would halve every footprint per kWh."""
    _sql(imported, "UPDATE material SET content = replace(content, '52.0', '104.0')")
    report = ledger.verify(imported)
    assert not report.ok
    assert report.import_failure is not None
    assert report.import_failure.startswith(
        "material urn:epc:idpat:sgtin:6111111.000501.*: differs from what import record 1 "
        "(masterdata import of masterdata.json, "
    )
    env = {"BATTERYTRACE_DB": imported.url, "BATTERYTRACE_KEY": str(imported.key_path)}
    result = CliRunner().invoke(app, ["verify"], env=env)
    assert result.exit_code == 1 and "differs from what import record 1" in result.output


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE carbon_model SET content = replace(content, '40', '80')",
         "carbon_model row 1: differs from what import record 2 (carbon import of carbon.json"),
        ("DELETE FROM custody_rule WHERE kind = 'policy'",
         "custody_rule row 4: written by import record 3 (custody import of custody.json"),
        ("INSERT INTO contract (id, content) VALUES ('urn:x', '{}')",
         "contract urn:x: in the store, but no recorded import wrote it"),
        ("UPDATE factor_set SET content = replace(content, '0.5', '0.05')",
         "factor_set test 1: differs from what import record 5 (factors import of test@1"),
        ("UPDATE supplier_footprint SET product = 'https://id.gs1.org/01/00000000000000'",
         "supplier_footprint 5b2f3a1e-0c4d-5e6f-8a9b-0c1d2e3f4a5b: differs from what "
         "import record 6 (supplier import, "),
    ],
)  # fmt: skip
def test_each_imported_table_is_recomputed(
    imported: UnitOfWork, statement: str, named: str
) -> None:
    _sql(imported, statement)
    report = ledger.verify(imported)
    assert report.import_failure is not None and report.import_failure.startswith(named)


def test_a_rewritten_or_removed_record_fails(imported: UnitOfWork) -> None:
    _sql(imported, "UPDATE import_record SET content = replace(content, '52.0', '104.0')")
    _sql(imported, "UPDATE material SET content = replace(content, '52.0', '104.0')")
    report = ledger.verify(imported)
    assert report.import_failure is not None
    assert "import record 1 (masterdata import of masterdata.json" in report.import_failure
    assert report.import_failure.endswith("content does not match its hash")


def test_removed_last_record_is_not_covered(imported: UnitOfWork) -> None:
    _sql(imported, "DELETE FROM import_record WHERE seq = 6")
    _sql(imported, "DELETE FROM supplier_footprint")
    report = ledger.verify(imported)
    assert report.import_failure is None  # the records left replay to the stored rows...
    assert report.checkpoint_failures == [  # ...but the signed heads counted six records
        "checkpoint 6 (entry 0): signed import head differs from the import records "
        "(imports rewritten)"
    ]


def test_rows_imported_before_records_existed_are_adopted_once(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """A store upgraded from revision 0010: its imported rows, as they stand, become one
    record at init, signed; later changes by hand fail."""
    from batterytrace.store import masterdata as masterdata_store

    with uow.engine.begin() as conn:
        masterdata_store.save(conn, master_data())
    assert ledger.verify(uow).import_failure == (
        "party urn:epc:id:pgln:6111111.00000: in the store, but no recorded import wrote it"
    )
    ledger.init(uow)
    ledger.init(uow)
    (adopted,) = ledger.import_records(uow)
    assert (adopted.kind, adopted.action) == ("store", "adopt")
    assert adopted.effect["material added"] == 1
    assert ledger.verify(uow).ok
    _sql(uow, "UPDATE material SET content = replace(content, '52.0', '104.0')")
    assert ledger.verify(uow).import_failure == (
        f"material {PACK}: differs from what {adopted.describe()} wrote"
    )


def test_custody_closes_and_transfers_are_recorded(uow: UnitOfWork) -> None:
    """The operator's custody acts change accounts as much as an import: both are records, and
    a transfer's kilograms changed by hand fail."""
    rules = {
        "origins": [{"claim": "recycled", "site": REFINERY, "evidence": {"reference": "R-1"}}],
        "policies": [
            {"site": site, "claim": "recycled", "model": "book-and-claim", "period": "quarter"}
            for site in (REFINERY, PCAM)
        ],
    }
    masterdata.import_master_data(uow, custody_sites())
    custody_service.import_rules(uow, CustodyRules.from_json(rules), "booked.json")
    events.capture_document(uow, Document(creationDate=T0, events=custody_chain()))
    transfer(uow, REFINERY, PCAM, Claim("recycled"), {"Co": 3.0})
    close_period(uow, REFINERY, Claim("recycled"), "2025-Q1")
    listed = [(r.kind, r.action, r.effect) for r in ledger.import_records(uow)]
    assert listed == [
        ("masterdata", "import", {"parties added": 1, "sites added": 3}),
        ("custody", "import", {"rules added": 3}),
        ("custody", "transfer", {"transfers added": 1}),
        ("custody", "close", {"closed periods added": 1}),
    ]
    assert ledger.verify(uow).ok
    _sql(uow, "UPDATE custody_transfer SET kg = :kg", kg='{"Co":30.0}')
    failure = ledger.verify(uow).import_failure
    assert failure is not None and failure.startswith("custody_transfer urn:uuid:")
    assert "differs from what import record 3 (custody transfer, " in failure


# --- imports that change nothing, replacements and removals (decision 017) ----------------------


def _electricity(kwh: float, site: str = PLANT) -> Model:
    return from_json(
        {"activities": [{"site": site, "period": "2025", "kind": "electricity", "factor": "grid",
                         "amount": kwh, "unit": "kWh"}]},
        "carbon.json",
    )  # fmt: skip


def _recorded(uow: UnitOfWork) -> tuple[list[tuple[int, str, str]], int]:
    """The import records (seq, kind, action) and the checkpoints, after a verify that passes."""
    report = ledger.verify(uow)
    assert report.ok, (report.failure, report.import_failure, report.checkpoint_failures)
    return [(r.seq, r.kind, r.action) for r in ledger.import_records(uow)], report.checkpoints


def test_an_import_that_changes_nothing_is_neither_recorded_nor_signed(
    imported: UnitOfWork, tmp_path: Path
) -> None:
    before = _recorded(imported)
    assert masterdata.import_master_data(imported, master_data(), "again.json") == {
        "parties": Imported(unchanged=1), "sites": Imported(unchanged=4),
        "materials": Imported(unchanged=1),
    }  # fmt: skip
    model = {"activities": [{"site": PLANT, "period": "2025", "kind": "electricity",
                             "factor": "grid", "amount": 40, "unit": "kWh"}]}  # fmt: skip
    assert carbon.import_carbon(imported, from_json(model, "again.json"), "again.json").id is None
    rules = CustodyRules.from_json(CUSTODY_RULES)
    assert not custody_service.import_rules(imported, rules, "again.json").changed
    contracts.import_contracts(imported, [Agreement.from_json(AGREEMENT)], "again.json")
    carbon.import_factors(imported, read_csv(FACTORS, "test", "1"))
    product = "urn:epc:idpat:sgtin:6111111.000201.*"
    assert not carbon.import_supplier_footprint(imported, supplier_document(), product)[1].changed
    assert _recorded(imported) == before  # (6 records, 6 checkpoints), as after the first
    env = {"BATTERYTRACE_DB": imported.url, "BATTERYTRACE_KEY": str(imported.key_path)}
    (tmp_path / "masterdata.json").write_bytes(orjson.dumps(master_data().to_json()))
    said = CliRunner().invoke(
        app, ["masterdata", "import", str(tmp_path / "masterdata.json")], env=env
    )
    assert said.exit_code == 0, said.output
    assert "masterdata.json: nothing changed, not recorded" in said.stdout
    assert _recorded(imported) == before


def test_carbon_import_replace_and_remove_are_recorded_and_verify(uow: UnitOfWork) -> None:
    carbon.import_carbon(uow, _electricity(40), "a.json")
    assert _recorded(uow) == ([(1, "carbon", "import")], 1)
    assert carbon.import_carbon(uow, _electricity(40), "a.json") == Imported(unchanged=1)
    assert _recorded(uow) == ([(1, "carbon", "import")], 1)  # the same again: no record
    with pytest.raises(ImportConflict, match="stored with other values"):
        carbon.import_carbon(uow, _electricity(80), "b.json")
    assert _recorded(uow) == ([(1, "carbon", "import")], 1)  # refused: nothing written
    assert carbon.import_carbon(uow, _electricity(80), "b.json", replace=True) == Imported(
        replaced=1, id=2
    )
    assert _recorded(uow) == ([(1, "carbon", "import"), (2, "carbon", "replace")], 2)
    assert [a.amount for a in carbon.carbon_model(uow).activities] == [80]
    carbon.remove_carbon(uow, 2)
    assert _recorded(uow) == (
        [(1, "carbon", "import"), (2, "carbon", "replace"), (3, "carbon", "remove")],
        3,
    )
    assert ledger.import_records(uow)[-1].effect == {"carbon imports removed": 1}
    assert [a.amount for a in carbon.carbon_model(uow).activities] == [40]  # what it replaced
    with pytest.raises(ImportConflict, match="carbon import 2: no such import"):
        carbon.remove_carbon(uow, 2)
    assert len(ledger.import_records(uow)) == 3
    _sql(uow, "UPDATE carbon_model SET content = replace(content, '40.0', '400.0')")
    failure = ledger.verify(uow).import_failure
    assert failure is not None and failure.startswith(
        "carbon_model row 1: differs from what import record 1 (carbon import of a.json, "
    )


def test_a_removal_names_the_import_record_and_replays_to_the_same_rows(uow: UnitOfWork) -> None:
    """The rows' ids are the backend's (a PostgreSQL sequence skips the numbers of rolled-back
    inserts); what a removal records, and what the replay removes, is the import record."""
    other = "urn:epc:id:sgln:6111111.00050.0"
    carbon.import_carbon(uow, _electricity(40), "a.json")  # record 1
    carbon.import_carbon(uow, _electricity(10, other), "b.json")  # record 2
    carbon.import_carbon(uow, _electricity(80), "c.json", replace=True)  # record 3
    _sql(uow, "UPDATE carbon_model SET id = id * 10 + 7")  # 17, 27, 37: not the replay's 1-3
    assert _recorded(uow)[1] == 3
    carbon.remove_carbon(uow, 2)
    with uow.engine.connect() as conn:
        content = conn.execute(text("SELECT content FROM import_record WHERE seq = 4")).scalar()
    assert orjson.loads(content) == {"record": 2}  # no backend-dependent id in the record
    assert [(seq, source) for seq, source, _, _ in carbon.carbon_imports(uow)] == [
        (1, "a.json"), (3, "c.json"),
    ]  # fmt: skip
    assert [(a.site, a.amount) for a in carbon.carbon_model(uow).activities] == [
        (node_id(PLANT), 80)
    ]
    assert _recorded(uow)[1] == 4  # the replay removed the same import: verify passes
