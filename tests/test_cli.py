"""The batterytrace command, end to end through Typer's runner (same code as the console script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.epcis.model import Document
from batterytrace.trace.lineage import node_id
from carbon_examples import (
    DOCUMENTS,
    EXAMPLES,
    GUEMASSA,
    SULFATE,
    VEHICLE,
    VEHICLES,
    master_data_of_examples,
    model_of_examples,
)
from factories import ORE_CLASS, broken_workers, document, object_event, write

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_init_keeps_an_existing_key(env: Path) -> None:
    key = (env / "cli.key").read_bytes()
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0 and "kept existing" in result.output
    assert (env / "cli.key").read_bytes() == key
    body = json.loads(runner.invoke(app, ["init", "--json"]).stdout)
    assert body["revision"] == "0022" and body["key_created"] is False


def test_capture_prints_counts_and_is_idempotent(env: Path) -> None:
    files = [str(p) for p in sorted((ROOT / "examples").glob("0*"))]
    first = runner.invoke(app, ["capture", "--json", *files])
    assert first.exit_code == 0, first.output
    counts = json.loads(first.stdout)
    assert [c["captured"] for c in counts] == [9, 11, 8]
    again = runner.invoke(app, ["capture", *files])
    assert again.exit_code == 0
    assert "total: captured 0, duplicates 28, rejected files 0" in again.stdout


def test_rejected_file_exits_non_zero_with_one_line_and_no_traceback(env: Path) -> None:
    bad = write(env / "bad.jsonld", document([object_event(1, eventTimeZoneOffset="+25:00")]))
    good = write(env / "good.jsonld", document([object_event(2)]))
    result = runner.invoke(app, ["capture", str(bad), str(good)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "rejected" in result.stderr and "eventTimeZoneOffset" in result.stderr
    assert "captured 1, duplicates 0, rejected files 1" in result.stdout


def test_events_query_count_json_and_xml(env: Path) -> None:
    runner.invoke(app, ["capture", *map(str, sorted((ROOT / "examples").glob("0*")))])
    count = runner.invoke(app, ["events", "--count", "eventType=TransformationEvent"])
    assert count.exit_code == 0 and count.stdout.strip() == "3"
    certified = runner.invoke(app, ["events", "--count", "EXISTS_certificationInfo"])
    assert certified.stdout.strip() == "1"
    body = json.loads(runner.invoke(app, ["events", "--json", "EQ_bizStep=packing"]).stdout)
    assert body["type"] == "EPCISQueryDocument"
    events = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(events) == 3 and {e["type"] for e in events} == {"AggregationEvent"}
    xml = runner.invoke(app, ["events", "--xml", "eventType=AssociationEvent"])
    assert xml.exit_code == 0 and xml.stdout.count("<AssociationEvent>") == 1
    table = runner.invoke(app, ["events", "perPage=2", "orderBy=eventTime", "orderDirection=ASC"])
    assert "2 events; next page: nextPageToken=" in table.stdout


def test_bad_query_parameter_is_one_line(env: Path) -> None:
    result = runner.invoke(app, ["events", "EQ_nonsense=1"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: EQ_nonsense: not a SimpleEventQuery parameter"
    usage = runner.invoke(app, ["events", "justaword"])
    assert usage.exit_code == 2


def test_hash_prints_one_line_per_event(conformance: Path) -> None:
    name = conformance / "epcis-hash" / "examples" / "epcisDocWithVariousEventTypes"
    expected = name.with_suffix(".hashes").read_text().split()
    for suffix in (".jsonld", ".xml"):
        result = runner.invoke(app, ["hash", str(name.with_suffix(suffix))])
        assert result.exit_code == 0
        assert result.stdout.split() == expected
    pre = runner.invoke(app, ["hash", "--prehash", str(name.with_suffix(".jsonld"))])
    assert pre.stdout.splitlines() == name.with_suffix(".prehashes").read_text().splitlines()


def test_hash_of_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["hash", str(tmp_path / "nope.json")])
    assert result.exit_code == 1 and "no such file" in result.stderr


def test_verify_reports_and_fails_on_tampering(env: Path) -> None:
    import sqlite3

    runner.invoke(app, ["capture", str(ROOT / "examples" / "01-mine-to-sulfate.jsonld")])
    ok = runner.invoke(app, ["verify", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["entries"] == 9
    with sqlite3.connect(env / "cli.db") as db:
        db.execute("UPDATE event SET content = replace(content, '60000', '61000') WHERE seq = 1")
    broken = runner.invoke(app, ["verify"])
    assert broken.exit_code == 1
    assert "ledger broken: entry 1 (event urn:uuid:" in broken.stderr


def test_commands_need_an_initialised_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("BATTERYTRACE_KEY", str(tmp_path / "k"))
    for args in (
        ["verify"],
        ["events"],
        ["capture", str(ROOT / "examples" / "01-mine-to-sulfate.jsonld")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert "run `batterytrace init` first" in result.output


def test_demo_runs_the_main_job(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--scale", "0.0002", "--workdir", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "represents 0.0200% of the agreement's physical volume" in result.stdout
    assert "ledger verified:" in result.stdout and "0 violations" in result.stdout
    assert "backward trace of pack" in result.stdout and "80.0%" in result.stdout
    assert "forward trace of ore lot" in result.stdout


def test_operating_system_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("BATTERYTRACE_KEY", str(not_a_folder / "ledger.key"))
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("error: [Errno") and "file" in result.stderr


def test_user_text_is_printed_as_is(env: Path) -> None:
    """Brackets and :codes: in user data are neither Rich markup nor emoji."""
    quantity = [{"epcClass": "urn:x:lot", "quantity": 5, "uom": "KILO"}]
    bad = write(env / "b.jsonld", document([object_event(1, quantityList=quantity)]))
    result = runner.invoke(app, ["capture", str(bad)])
    assert "quantityList[0].uom: 'KILO'" in result.stderr


def test_trace_back_and_forward(env: Path) -> None:
    runner.invoke(app, ["capture", *map(str, sorted((ROOT / "examples").glob("0*")))])
    pack = "urn:epc:id:sgtin:3700000.030001.P2503130001"
    body = json.loads(runner.invoke(app, ["trace", "back", pack, "--format", "json"]).stdout)
    assert body["direction"] == "backward" and body["unit"] == "kg"
    assert body["start_element_kg"] == pytest.approx(0.2544)
    assert "in proportion to the element each brought in" in body["rule"]
    assert len(body["gaps"]) == 3  # the Ni, Mn and Li salts carry no Co figure
    tree = runner.invoke(app, ["trace", "back", pack], env={"COLUMNS": "200"})
    assert "BA-2025-0108  0.1378 kg Co (54.2 %)" in tree.stdout
    dot = runner.invoke(app, ["trace", "forward", "urn:epc:class:lgtin:6111111.000101.BA-2025-0108",
                              "--format", "dot"]).stdout  # fmt: skip
    assert dot.startswith('digraph "forward trace"') and "-> " in dot
    nickel = json.loads(
        runner.invoke(app, ["trace", "back", pack, "--element", "Ni", "--format", "json"]).stdout
    )
    assert nickel["start_element_kg"] is None and nickel["gaps"]


def test_a_wide_trace_tree_shows_a_sample_and_counts_the_rest(env: Path) -> None:
    cells = [f"urn:epc:id:sgtin:3700000.010001.{n}" for n in range(40)]
    boards = [f"urn:epc:id:sgtin:3700000.010003.{n}" for n in range(40)]
    batch = {
        "type": "TransformationEvent",
        "eventID": "urn:uuid:00000000-0000-0000-0000-0000000000bb",
        "eventTime": "2025-02-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "inputQuantityList": [{"epcClass": ORE_CLASS.format(n=1), "quantity": 10, "uom": "KGM"}],
        "outputEPCList": cells,
    }
    commissioned = {
        "type": "ObjectEvent",
        "eventID": "urn:uuid:00000000-0000-0000-0000-0000000000ba",
        "eventTime": "2025-02-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": boards,
        "action": "ADD",
    }
    module = {
        "type": "AggregationEvent",
        "eventID": "urn:uuid:00000000-0000-0000-0000-0000000000bc",
        "eventTime": "2025-02-02T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "parentID": "urn:epc:id:sgtin:3700000.010002.M1",
        "childEPCs": cells + boards,
        "action": "ADD",
    }
    wide = write(env / "w.jsonld", document([object_event(1), batch, commissioned, module]))
    assert runner.invoke(app, ["capture", str(wide)]).exit_code == 0
    tree = runner.invoke(app, ["trace", "back", module["parentID"]], env={"COLUMNS": "200"})
    assert tree.exit_code == 0
    # the cells a transformation made are counted (the holdings), the boards listed
    assert "[holding] https://id.gs1.org/01/03700000100010  40 items" in tree.stdout
    assert (
        "... 31 more: 31 of https://id.gs1.org/01/03700000100034 (all: --format json)"
        in tree.stdout
    )
    assert tree.stdout.count("[aggregation]") == 9
    # forward, the 40 cells are one object of their class, and the module holds them
    ahead = runner.invoke(app, ["trace", "forward", ORE_CLASS.format(n=1)], env={"COLUMNS": "200"})
    assert "[transformation] https://id.gs1.org/01/03700000100010  40 items" in ahead.stdout
    assert "[holding] https://id.gs1.org/01/03700000100027/21/M1" in ahead.stdout


def test_trace_errors_are_one_line(env: Path) -> None:
    unknown = runner.invoke(app, ["trace", "back", "urn:epc:id:sgtin:3700000.030001.NOPE"])
    assert unknown.exit_code == 1 and "no stored event mentions this identifier" in unknown.stderr
    element = runner.invoke(
        app, ["trace", "back", "urn:epc:id:sgtin:3700000.030001.X", "--element", "Fe"]
    )
    assert (
        element.exit_code == 1
        and "element: 'Fe' is not one of Co, Ni, Li, Mn, Cu" in element.stderr
    )


def test_check_reports_balances(env: Path) -> None:
    runner.invoke(app, ["capture", *map(str, sorted((ROOT / "examples").glob("0*")))])
    clean = runner.invoke(app, ["check", "--json"])
    assert clean.exit_code == 0
    body = json.loads(clean.stdout)
    assert body["ok"] and body["steps"] == 3 and body["violations"] == []
    doc = document(
        [
            object_event(1, ilmd={"bt:cobaltMassFraction": 0.01}),
            {
                "type": "TransformationEvent",
                "eventID": "urn:uuid:00000000-0000-0000-0000-0000000000aa",
                "eventTime": "2025-02-01T00:00:00Z",
                "eventTimeZoneOffset": "+00:00",
                "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:6111111.000001.ORE-1",
                                       "quantity": 1001, "uom": "KGM"}],
                "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:6111111.000002.SUL-9",
                                        "quantity": 100, "uom": "KGM"}],
                "ilmd": {"bt:cobaltMassFraction": 0.2},
            },
        ]
    )  # fmt: skip
    runner.invoke(app, ["capture", str(write(env / "bad.jsonld", doc))])
    broken = runner.invoke(app, ["check"], env={"COLUMNS": "200"})
    assert broken.exit_code == 1
    assert "20 kg Co out but only 10.01 kg in: 9.99 kg from nothing" in broken.stderr


def test_custody_commands(env: Path) -> None:
    from batterytrace.epcis.model import Document
    from batterytrace.services import events, masterdata
    from batterytrace.services.bootstrap import unit_of_work
    from batterytrace.trace.lineage import node_id
    from factories import CUSTODY_RULES, PCAM, T0, custody_chain, custody_sites, lot

    rules = write(env / "rules.json", CUSTODY_RULES)
    masterdata.import_master_data(unit_of_work(), custody_sites())
    assert (
        runner.invoke(app, ["custody", "import", str(rules)]).stdout
        == "custody rules: 4 added, 0 replaced, 0 unchanged\n"
    )
    events.capture_document(unit_of_work(), Document(creationDate=T0, events=custody_chain()))
    balance = json.loads(runner.invoke(app, ["custody", "balance", PCAM, "--json"]).stdout)
    (account,) = balance["accounts"]
    assert (account["claim"], account["element"], account["period"]) == (
        "low-carbon",
        "Co",
        "quarter",
    )
    (q1,) = account["statements"]
    assert (q1["period"], q1["credits"], q1["losses"]) == ("2025-Q1", 8.0, pytest.approx(0.4))
    table = runner.invoke(app, ["custody", "balance"], env={"COLUMNS": "250"}).stdout
    assert "2025-Q1" in table and "7.600" in table
    pcam_lot = lot("P1")
    before = json.loads(runner.invoke(app, ["changes", "--json"]).stdout)["version"]
    done = runner.invoke(
        app, ["custody", "allocate", pcam_lot, "low-carbon", "--site", PCAM, "--co", "5"]
    )
    assert done.exit_code == 0 and "allocated low-carbon on" in done.stdout
    again = runner.invoke(
        app, ["custody", "allocate", pcam_lot, "low-carbon", "--site", PCAM, "--co", "5"]
    )
    assert again.exit_code == 1 and "exceeds the balance of 2.6 kg by 2.4 kg" in again.stderr
    report = json.loads(runner.invoke(app, ["custody", "report", pcam_lot, "--json"]).stdout)
    (claim,) = report["claims"]
    assert claim["claim"] == "low-carbon" and claim["elements"]["Co"]["kg"] == pytest.approx(5.0)
    assert claim["elements"]["Co"]["share"] == pytest.approx(5 / 15.2)
    assert any(n["text"].startswith("removed from Co") for n in report["notes"])
    text = runner.invoke(app, ["custody", "report", pcam_lot]).stdout
    assert "low-carbon: 5 kg Co (32.9%)" in text and "backed by allocation" in text
    closed = runner.invoke(app, ["custody", "close", PCAM, "low-carbon", "2025-Q1"])
    assert closed.exit_code == 0 and closed.stdout.startswith("closed 2025-Q1 of low-carbon")
    twice = runner.invoke(app, ["custody", "close", PCAM, "low-carbon", "2025-Q1"])
    assert twice.exit_code == 1 and "period 2025-Q1 is closed already" in twice.stderr
    since = runner.invoke(app, ["changes", "--since", str(before)], env={"COLUMNS": "300"})
    lines = since.stdout.splitlines()
    assert lines[0].startswith("4 changes after version")  # allocation (3 rows), close
    assert any(f"custody.lot {node_id(pcam_lot)}: claims[low-carbon]: new" in x for x in lines)
    account = next(x for x in lines if "custody.account" in x)  # dated now: periods to now
    assert "balance: 7.6000000000000005 -> 2.6000000000000005" in account
    assert "statements[2025-Q2]: new" in account
    closing = f"custody.account {node_id(PCAM)} low-carbon Co: statements[2025-Q1].closed: "
    assert lines[-1].endswith(closing + "False -> True")
    dated = ["custody", "allocate", pcam_lot, "low-carbon", "--site", PCAM, "--co", "1", "--at"]
    refused = runner.invoke(app, [*dated, "2025-02-01"])
    assert refused.exit_code == 1 and len(refused.stderr.splitlines()) == 1
    assert "on 2025-02-01 falls in period 2025-Q1, closed at" in refused.stderr
    later = runner.invoke(app, [*dated, "2025-04-01T10:00:00+02:00"], env={"COLUMNS": "300"})
    assert later.exit_code == 0 and " at 2025-04-01T10:00:00+02:00: event urn:uuid:" in later.stdout
    (account,) = json.loads(runner.invoke(app, ["custody", "balance", PCAM, "--json"]).stdout)[
        "accounts"
    ]
    debits = {s["period"]: s["debits"] for s in account["statements"] if s["debits"]}
    now = datetime.now(UTC)  # the first allocation, given no --at, is dated now
    assert debits == {"2025-Q2": 1.0, f"{now.year}-Q{(now.month - 1) // 3 + 1}": 5.0}
    assert account["balance"] == pytest.approx(7.6 - 1 - 5)
    checked = runner.invoke(app, ["verify", "--derived"], env={"COLUMNS": "250"})
    assert checked.exit_code == 0, checked.output
    assert "kept derived state equal to a recomputation" in checked.stdout


def test_verify_derived_names_a_tampered_row_and_rebuild_mends_it(env: Path) -> None:
    from sqlalchemy import create_engine, text

    from batterytrace.epcis.model import Document
    from batterytrace.services import events, masterdata
    from batterytrace.services.bootstrap import unit_of_work
    from factories import CUSTODY_RULES, T0, custody_chain, custody_sites

    masterdata.import_master_data(unit_of_work(), custody_sites())
    runner.invoke(app, ["custody", "import", str(write(env / "rules.json", CUSTODY_RULES))])
    events.capture_document(unit_of_work(), Document(creationDate=T0, events=custody_chain()))
    assert runner.invoke(app, ["verify", "--derived"]).exit_code == 0  # kept by each write
    rebuilt = runner.invoke(app, ["rebuild", "--json"])
    assert rebuilt.exit_code == 0 and json.loads(rebuilt.stdout)["units"] == [
        "custody",
        "carbon",
        "contracts",
    ]
    assert json.loads(rebuilt.stdout)["changed"] == []
    engine = create_engine(os.environ["BATTERYTRACE_DB"])
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM derived_state"))
    behind = runner.invoke(app, ["verify", "--derived"], env={"COLUMNS": "250"})
    assert behind.exit_code == 1 and "run `batterytrace rebuild`" in behind.stderr
    assert runner.invoke(app, ["rebuild"]).exit_code == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE derived_row SET content = replace(content, '7.6', '9.6')"))
    engine.dispose()
    tampered = runner.invoke(app, ["verify", "--derived", "--json"])
    body = json.loads(tampered.stdout)
    assert tampered.exit_code == 1 and body["derived"] == "differs"
    assert any("kept custody.account row" in p and "differs" in p for p in body["problems"])
    mended = runner.invoke(app, ["rebuild"], env={"COLUMNS": "250"})
    assert mended.exit_code == 0 and "custody.account" in mended.stdout
    assert runner.invoke(app, ["verify", "--derived"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["custody", "allocate", "urn:epc:class:lgtin:6111111.000101.P1", "green", "--site",
          "urn:epc:id:sgln:6111111.00300.0", "--co", "1"], "claim: 'green': kind 'green'"),
        (["custody", "allocate", "urn:epc:class:lgtin:6111111.000101.P1", "low-carbon", "--site",
          "urn:epc:id:sgln:6111111.00300.0"], "kg: give --co, --ni or --li"),
        (["custody", "balance", "--period", "2025-Q9"],
         "--period: '2025-Q9': a year has quarters Q1 to Q4"),
        (["custody", "allocate", "urn:epc:class:lgtin:6111111.000101.P1", "low-carbon", "--site",
          "urn:epc:id:sgln:6111111.00300.0", "--co", "1", "--at", "2025-02-01T10:00"],
         "--at: '2025-02-01T10:00' is not a timestamp with a time zone"),
        (["custody", "transfer", "urn:epc:id:sgln:6111111.00300.0",
          "urn:epc:id:sgln:6111111.00400.0", "recycled", "--co", "1", "--at", "1.2.2025"],
         "--at: '1.2.2025' is not a date (YYYY-MM-DD) or a timestamp"),
    ],
)  # fmt: skip
def test_custody_errors_are_one_line(env: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_custody_import_refuses_bad_rules(env: Path) -> None:
    policy = {"site": "urn:epc:id:sgln:6111111.00300.0", "claim": "low-carbon", "model": "pooled"}
    bad = write(env / "bad.json", {"policies": [policy]})
    result = runner.invoke(app, ["custody", "import", str(bad)])
    assert result.exit_code == 1 and "policies[0].model: 'pooled' is not one of" in result.stderr
    (env / "broken.json").write_text("{")
    broken = runner.invoke(app, ["custody", "import", str(env / "broken.json")])
    assert broken.exit_code == 1 and "not JSON" in broken.stderr


def test_contract_commands(env: Path, scenario: Path) -> None:
    from batterytrace.scenario.generator import AGREEMENT_ID, contract

    runner.invoke(app, ["masterdata", "import", str(scenario / "masterdata.json")])

    agreement = contract(1.0) | {"purchaseOrders": ["PO-1"]}
    path = write(env / "contract.json", agreement)
    imported = runner.invoke(app, ["contract", "import", str(path)]).stdout
    assert imported == "agreements: 1 added, 0 replaced, 0 unchanged\n"
    status = json.loads(runner.invoke(app, ["contract", "status", "--json"]).stdout)
    (report,) = status["contracts"]
    annual = report["annual"]
    assert annual["element_kg"] == pytest.approx(1_048_300, rel=1e-3)  # ≈ 1,048 t Co a year
    assert annual["matching_chemistry"] == "NMC811"
    assert annual["gwh"]["NMC811"] == pytest.approx(annual["element_kg"] / 0.081 / 1e6)
    assert len(report["years"]) == 7 and report["term"]["committed_kg"] == 35_000_000
    text = runner.invoke(app, ["contract", "status", AGREEMENT_ID], env={"COLUMNS": "200"}).stdout
    assert text.startswith("as of ") and text.splitlines()[0].endswith("(now)")  # no events
    assert "a year: 1,048.279 t Co committed" in text  # 5,000 t x 58.933 / 281.09 (CoSO4·7H2O)
    # 1,048,300 kg Co / 0.081 kg Co per kWh = 12.94 GWh of NMC811 cells, beside the 15 stated
    assert "stated: 15 GWh a year; the nearest chemistry, NMC811, gives 12.94 GWh" in text
    unknown = runner.invoke(app, ["contract", "status", "urn:x"])
    assert unknown.exit_code == 1 and "'urn:x' is not a stored agreement" in unknown.stderr
    bad = write(env / "bad.json", agreement | {"annualKg": -1})
    refused = runner.invoke(app, ["contract", "import", str(bad)])
    assert (
        refused.exit_code == 1 and "bad.json: $.annualKg: -1 is not a number >= 0" in refused.stderr
    )
    date = runner.invoke(app, ["contract", "status", "--as-of", "2025-13-01"])
    assert date.exit_code == 1 and "--as-of: '2025-13-01' is not a date" in date.stderr


def test_carbon_commands(env: Path, scenario: Path) -> None:
    events = sorted(str(p) for p in scenario.glob("events-*.jsonld"))
    assert runner.invoke(app, ["capture", *events]).exit_code == 0
    md = runner.invoke(app, ["masterdata", "import", str(scenario / "masterdata.json")])
    assert md.exit_code == 0
    imported = runner.invoke(app, ["carbon", "import", str(scenario / "carbon.json")])
    assert imported.stdout.startswith(  # import record 2: the master data are record 1
        "carbon import 2 (carbon.json): 205 added, 0 replaced, 0 unchanged (189 activity data, "
        "11 lanes, 0 allocation rules, 5 proxies kept)"
    )
    listing = runner.invoke(app, ["carbon", "factors"], env={"COLUMNS": "250"}).stdout
    assert "batterytrace@2026.1" in listing and "electricity-grid-ma" in listing
    pack = runner.invoke(app, ["events", "--json", "EQ_bizStep=packing", "perPage=1000"])
    listed = json.loads(pack.stdout)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    parents = [e["parentID"] for e in listed if ".030001." in e["parentID"]]
    assert parents
    shown = json.loads(runner.invoke(app, ["footprint", parents[0], "--json"]).stdout)
    assert shown["complete"] and 30 < shown["kgCO2ePerKWh"] < 150
    low, high = shown["uncertainty"]["p2.5"], shown["uncertainty"]["p97.5"]
    assert low < shown["kgCO2e"] < high
    text = runner.invoke(app, ["footprint", parents[0], "--explain"], env={"COLUMNS": "250"})
    assert "kg CO2e/kWh of 52 kWh" in text.stdout and "carbon.json: activities[" in text.stdout
    targets = json.loads(runner.invoke(app, ["targets", "--json"]).stdout)
    assert targets["baseline"]["year"] == 2020 and len(targets["levers"]) == 6
    what_if = runner.invoke(app, ["targets", "--what-if", "wind=0.5"], env={"COLUMNS": "200"})
    assert "wind=0.5" in what_if.stdout and "2020 baseline" in what_if.stdout
    document = json.loads(
        runner.invoke(app, ["pact", "export", parents[0], "--version", "2"]).stdout
    )
    assert document["specVersion"] == "2.3.0" and document["pcf"]["declaredUnit"] == "kilowatt hour"
    # the shipped factors use AR5 and AR6 GWPs: v2 does not claim AR6 throughout, and says both
    assert document["pcf"]["characterizationFactors"] == "AR5"
    assert document["pcf"]["ipccCharacterizationFactorsSources"] == ["AR5", "AR6"]
    lot = "urn:epc:class:lgtin:6901234.000201.CN2025-000"
    exported = runner.invoke(app, ["pact", "export", lot])
    assert exported.exit_code == 0, exported.stderr
    supplier = write(env / "pcf.json", json.loads(exported.stdout))
    used = runner.invoke(
        app, ["pact", "import", str(supplier), "--product", "urn:epc:idpat:sgtin:6901234.000201.*"]
    )
    assert used.exit_code == 0 and "kg CO2e/kg, PACT 3.0.0" in used.stdout
    assembled = runner.invoke(app, ["events", "--json", "EQ_bizStep=assembling", "perPage=1"])
    body = json.loads(assembled.stdout)["epcisBody"]["queryResults"]["resultsBody"]
    vehicle = runner.invoke(app, ["footprint", body["eventList"][0]["parentID"]])
    assert vehicle.exit_code == 1 and "ask for the pack it holds" in vehicle.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["footprint", "urn:epc:class:lgtin:6111111.000201.NONE"],
            "no carbon data in this store",  # an empty store (unknown ids: tests/store)
        ),
        (["footprint", "urn:epc:class:lgtin:6111111.000201.X", "--factors", "a@1"], "unknown"),
        (["targets", "--what-if", "sun=1"], "is not LEVER=VALUE"),
        (["carbon", "factors", "--add", "x.csv"], "--add needs --name and --version"),
    ],
)
def test_carbon_errors_are_one_line(env: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_carbon_import_refuses_bad_data(env: Path, scenario: Path) -> None:
    runner.invoke(app, ["masterdata", "import", str(scenario / "masterdata.json")])
    csv_path = env / "activity.csv"
    csv_path.write_text(
        "site,period,kind,factor,amount,unit\n"
        "urn:epc:id:sgln:6111111.00100.0,2025,electricity,electricity-grid-ma,-5,kWh\n"
    )
    refused = runner.invoke(app, ["carbon", "import", str(csv_path)])
    assert refused.exit_code == 1
    assert "activity.csv:2: amount: '-5' must be a finite number ≥ 0" in refused.stderr
    csv_path.write_text(
        "site,period,kind,factor,amount,unit\n"
        "urn:epc:id:sgln:6111111.00100.0,2025,electricity,electricity-grid-ma,5,MJ\n"
    )
    assert runner.invoke(app, ["carbon", "import", str(csv_path)]).exit_code == 0


def test_a_binary_file_is_one_line(env: Path) -> None:
    path = env / "binary.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    result = runner.invoke(app, ["carbon", "import", str(path)])
    assert result.exit_code == 1 and "codec can't decode" in result.stderr
    assert "Traceback" not in result.stderr


def test_carbon_unused_and_footprint_list_what_no_product_takes(env: Path) -> None:
    """The examples with Guemassa's data put in January, before it made anything: the data
    and the vehicle's leg (file 03) are listed by `carbon unused` and by `footprint`."""
    for name in DOCUMENTS:
        assert runner.invoke(app, ["capture", str(EXAMPLES / name)]).exit_code == 0
    md = write(env / "md.json", master_data_of_examples().to_json())
    assert runner.invoke(app, ["masterdata", "import", str(md)]).exit_code == 0
    model = write(env / "model.json", model_of_examples(guemassa="2025-01"))
    assert runner.invoke(app, ["carbon", "import", str(model)]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["carbon", "unused", "--json"]).stdout)
    guemassa, vehicles, vehicle = (node_id(x) for x in (GUEMASSA, VEHICLES, VEHICLE))
    assert [u["kind"] for u in listed] == ["activity data", "leg"]  # by kind, then time
    assert f"({vehicle}) from {vehicles} (sourceList location)" in listed[1]["what"]
    assert listed[0]["what"] == f"Guemassa ({guemassa}) 2025-01"
    assert listed[0]["data"] == ["model.json: activities[1]: electricity 20000 kWh"]
    assert listed[0]["reason"] == "no product made there then takes them"
    march = json.loads(
        runner.invoke(app, ["carbon", "unused", "--period", "2025-03", "--json"]).stdout
    )
    assert [u["kind"] for u in march] == ["leg"]  # the vehicle left on 20 March
    assert (
        json.loads(runner.invoke(app, ["carbon", "unused", "--period", "2024", "--json"]).stdout)
        == []
    )
    text = runner.invoke(app, ["carbon", "unused"], env={"COLUMNS": "250"}).stdout
    assert "not counted: 2" in text and "activities[1]: electricity 20000 kWh" in text
    shown = json.loads(runner.invoke(app, ["footprint", SULFATE, "--json"]).stdout)
    assert shown["notCounted"] == listed and not shown["complete"]
    assert any(f"({guemassa}) in 2025-02" in m for m in shown["missing"])
    table = runner.invoke(app, ["footprint", SULFATE], env={"COLUMNS": "250"}).stdout
    assert "not counted in any product: 2" in table and "(INCOMPLETE)" in table
    bad = runner.invoke(app, ["carbon", "unused", "--period", "2025-13"])
    assert bad.exit_code == 1 and "period: '2025-13': months are 01 to 12" in bad.stderr


def test_capture_prints_that_it_worked_without_its_workers(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken_workers(monkeypatch)
    source = write(env / "d.jsonld", document([object_event(n) for n in range(1, 6)]))
    result = runner.invoke(app, ["capture", str(source)])
    assert result.exit_code == 0, result.output
    assert "captured 5" in result.stdout
    assert "worker processes" in result.output and "prepared in this process" in result.output
    body = json.loads(runner.invoke(app, ["capture", "--json", str(source)]).stdout)
    assert body[0]["duplicates"] == 5 and "prepared in this process" in body[0]["fallback"]


def test_starting_the_tool_loads_no_heavy_library() -> None:
    """Issue 12, point 4: each command imports what it needs when it runs; starting the tool
    (``--help``, the hash command's start) loads none of the numeric, schema or database
    libraries. Checked in a fresh interpreter, by the modules loaded, not by a clock."""
    heavy = ("numpy", "scipy", "jsonschema", "sqlalchemy", "lxml", "pydantic", "alembic")
    probe = (
        f"import sys, batterytrace.cli\nprint(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


# ---- issue 13, point 5: strict import formats ---------------------------------------------------

MINE = "urn:epc:id:sgln:6111111.00100.0"
LOOKALIKE = "urn:epc:id:sgln:6111111.0010\u0430.0"  # a Cyrillic a
MANAGEM = {"id": "urn:epc:id:pgln:6111111.00000", "name": "Managem", "country": "MA"}
POLICY = {"site": MINE, "claim": "low-carbon", "model": "mass-balance", "period": "year"}
DIESEL = {"site": MINE, "period": "2025", "kind": "fuel", "factor": "diesel", "amount": 5.0,
          "unit": "L"}  # fmt: skip


def _contract(**fields: object) -> dict[str, object]:
    from batterytrace.scenario.generator import contract

    return contract(1.0) | fields


@pytest.mark.parametrize(
    ("command", "content", "message"),
    [
        ("masterdata", {"parties": "none"}, "$.parties: must be a valid list (got 'none')"),
        ("masterdata", {"parties": [MANAGEM | {"contry": "MA"}]},
         "$.parties[0].contry: unknown field"),
        ("masterdata", {"parties": [MANAGEM | {"country": "ZZ"}]},
         "country: 'ZZ' is not an ISO 3166-1 alpha-2 code"),
        ("masterdata", {"parties": [MANAGEM | {"id": "urn:epc:id:pgln:6111111.00000\u200b"}]},
         "$.parties[0].id: urn:epc:id:pgln:6111111.00000\\u200b : character U+200B is not "
         "visible ASCII"),
        ("custody", {"policies": [POLICY | {"perod": "month"}]},
         "$.policies[0].perod: unknown field; did you mean period? (fields: site, claim, model, "
         "period, carryOver, expiry)"),
        ("custody", {"policies": [POLICY | {"carryover": 0.1}]},
         "$.policies[0].carryover: unknown field; did you mean carryOver?"),
        ("custody", {"origins": [{"claim": "origin:MA", "site": LOOKALIKE,
                                  "evidence": {"reference": "permit"}}]},
         f"$.origins[0].site: {LOOKALIKE} : character U+0430 is not visible"),
        ("carbon", {"activities": [{**DIESEL, "ammount": 5.0}]},
         "$.activities[0].ammount: unknown field; did you mean amount?"),
        ("carbon", {"lanes": [{"from": MINE, "to": MINE, "mode": "road", "distance": 3}]},
         "$.lanes[0].distance: unknown field"),
        ("contract", _contract(carryover=0.1), "$.carryover: unknown field"),
        ("contract", [_contract(), _contract(startYear=9990)],
         "$[1].startYear: must be less than or equal to 2200 (got 9990)"),
        ("contract", _contract(years=10**9), "$.years: must be less than or equal to 50"),
        ("contract", _contract(startYear="2025"), "$.startYear: must be a valid integer"),
        ("contract", _contract(id="renault"), "$.id: renault : not an absolute URI"),
    ],
)  # fmt: skip
def test_imports_refuse_what_their_format_does_not_have(
    env: Path, command: str, content: object, message: str
) -> None:
    """Issue 13, points 1 and 5: a misspelled or unknown field, a list given as text, a country
    ISO 3166 does not have, an identifier with an invisible or look-alike character, contract
    years no calendar holds: one line naming the file, the JSON path and the rule, exit 1,
    nothing stored."""
    path = write(env / f"{command}.json", content)
    result = runner.invoke(app, [command, "import", str(path)])
    assert result.exit_code == 1, result.output
    assert result.stderr.split(": ")[1].endswith(path.name) and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert json.loads(runner.invoke(app, ["imports", "--json"]).stdout) == []


def test_contract_years_within_bounds_import_and_report(env: Path, scenario: Path) -> None:
    """The bounds are inclusive: a 50-year agreement from 2150 is imported and reported year by
    year (2150..2199), and contract status still answers for every contract."""
    runner.invoke(app, ["masterdata", "import", str(scenario / "masterdata.json")])
    path = write(env / "contract.json", _contract(startYear=2150, years=50))
    assert runner.invoke(app, ["contract", "import", str(path)]).exit_code == 0
    status = runner.invoke(app, ["contract", "status", "--json"])
    assert status.exit_code == 0, status.output
    (report,) = json.loads(status.stdout)["contracts"]
    assert [y["year"] for y in report["years"]] == list(range(2150, 2200))


def test_csv_imports_refuse_unknown_columns(env: Path) -> None:
    """The CSV forms name an unknown column and the columns there are."""
    activities = env / "activity.csv"
    activities.write_text(f"site,period,kind,factor,ammount,unit\n{MINE},2025,fuel,diesel,5,L\n")
    refused = runner.invoke(app, ["carbon", "import", str(activities)])
    assert refused.exit_code == 1
    assert "activity.csv: line 1: column 'ammount' is not one of site, period" in refused.stderr
    folder = env / "md"
    folder.mkdir()
    (folder / "parties.csv").write_text("id,name,country,perod\nurn:x:p,P,MA,1\n")
    refused = runner.invoke(app, ["masterdata", "import", str(folder)])
    assert refused.exit_code == 1
    assert f"{folder / 'parties.csv'}: line 1: column 'perod' is not one of id" in refused.stderr
    factors = env / "factors.csv"
    factors.write_text("id,unit,value,ammount\n")
    refused = runner.invoke(app, ["carbon", "factors", "--add", str(factors), "--name", "a",
                                  "--version", "1"])  # fmt: skip
    assert refused.exit_code == 1 and refused.stderr.startswith(f"error: {factors}: line 1: ")
    assert json.loads(runner.invoke(app, ["imports", "--json"]).stdout) == []


def test_imports_list_every_record_the_master_data_lack(env: Path, scenario: Path) -> None:
    """Issue 13, point 5: the sites, parties and products an import names must be stored master
    data; the refusal lists each missing one, and nothing is stored. With the master data
    imported, the same files import."""
    from factories import CUSTODY_RULES, custody_sites

    rules = write(env / "rules.json", CUSTODY_RULES)
    refused = runner.invoke(app, ["custody", "import", str(rules)])
    assert refused.exit_code == 1
    sites = [node_id(s) for s in custody_sites().sites]  # as the rules store them
    assert refused.stderr == (
        f"error: {rules}: names 3 record(s) the stored master data do not have (import them "
        f"first with `masterdata import`): site {sites[0]}, site {sites[1]}, site {sites[2]}\n"
    )
    contract = write(env / "contract.json", _contract())
    refused = runner.invoke(app, ["contract", "import", str(contract)])
    assert refused.exit_code == 1
    site, product = (node_id(u) for u in ("urn:epc:id:sgln:3016666.00001.0",
                                           "urn:epc:idpat:sgtin:6111111.000201.*"))  # fmt: skip
    assert refused.stderr.endswith(
        ": party urn:epc:id:pgln:6111111.00000, party urn:epc:id:pgln:3700000.00000, "
        f"site {site}, product {product}\n"
    )
    carbon = scenario / "carbon.json"
    refused = runner.invoke(app, ["carbon", "import", str(carbon)])
    assert refused.exit_code == 1 and "names 17 record(s)" in refused.stderr  # 12 sites, 5 proxies
    assert json.loads(runner.invoke(app, ["imports", "--json"]).stdout) == []
    md = runner.invoke(app, ["masterdata", "import", str(scenario / "masterdata.json")])
    assert md.exit_code == 0
    for command, path in (("contract", contract), ("carbon", carbon)):
        assert runner.invoke(app, [command, "import", str(path)]).exit_code == 0


# ---- issue 13, point 6: silent empty answers become explanations --------------------------------


def test_custody_balance_says_why_nothing_shows(env: Path) -> None:
    """A quarter asked of yearly accounts, a site given by its name, a site with no account:
    stdout stays the (empty) answer, stderr says why."""
    from batterytrace.services import events, masterdata
    from batterytrace.services.bootstrap import unit_of_work
    from factories import CERTIFIED_MINE, CUSTODY_RULES, PCAM, T0, custody_chain, custody_sites

    masterdata.import_master_data(unit_of_work(), custody_sites())
    yearly = {**CUSTODY_RULES, "policies": [CUSTODY_RULES["policies"][0] | {"period": "year"}]}
    assert (
        runner.invoke(app, ["custody", "import", str(write(env / "r.json", yearly))]).exit_code == 0
    )
    events.capture_document(unit_of_work(), Document(creationDate=T0, events=custody_chain()))
    quarter = runner.invoke(app, ["custody", "balance", PCAM, "--period", "2025-Q1", "--json"])
    assert quarter.exit_code == 0 and json.loads(quarter.stdout)["accounts"][0]["statements"] == []
    assert _notes(quarter.stderr) == (
        f"note: the accounts of {PCAM} are yearly: none has a period 2025-Q1; their periods: 2025\n"
    )
    assert _notes(runner.invoke(app, ["custody", "balance", PCAM, "--period", "2025"]).stderr) == ""
    by_name = runner.invoke(app, ["custody", "balance", "Precursor"])
    assert _notes(by_name.stderr) == (
        f"note: no site has the identifier 'Precursor'; did you mean {PCAM} (precursor)?\n"
    )
    idle = runner.invoke(app, ["custody", "balance", CERTIFIED_MINE])
    assert f"note: site {CERTIFIED_MINE} has no mass-balance account" in idle.stderr
    unknown = runner.invoke(app, ["custody", "balance", "urn:epc:id:sgln:9999999.00001.0"])
    assert "no site has the identifier 'urn:epc:id:sgln:9999999.00001.0'; sites are named" in (
        unknown.stderr
    )


def _notes(stderr: str) -> str:
    """stderr without the line a long command prints once done when not on a terminal."""
    return "".join(line for line in stderr.splitlines(True) if ": done in " not in line)


def test_events_say_why_nothing_matched_and_when_a_page_is_capped(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``MATCH_anyEPC=*`` matches nothing, and the note says the pattern syntax; a perPage above
    the cap is said to be capped; a proper pattern gets no note."""
    files = [str(p) for p in sorted((ROOT / "examples").glob("0*"))]
    assert runner.invoke(app, ["capture", *files]).exit_code == 0
    star = runner.invoke(app, ["events", "--json", "MATCH_anyEPC=*"])
    body = json.loads(star.stdout)
    assert body["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    assert star.stderr.startswith("note: nothing matched MATCH_anyEPC=*: MATCH_ parameters take")
    assert "urn:epc:idpat:sgtin:0614141.112345.*" in star.stderr
    counted = runner.invoke(app, ["events", "--count", "MATCH_anyEPC=*"])
    assert counted.stdout == "0\n" and counted.stderr == star.stderr
    company = "MATCH_anyEPCClass=urn:epc:idpat:sgtin:0614141.*.*"
    pattern = runner.invoke(app, ["events", "--count", company])
    assert pattern.stderr == ""
    monkeypatch.setattr("batterytrace.store.query.MAX_PER_PAGE", 5)
    capped = runner.invoke(app, ["events", "--json", "perPage=6"])
    assert (
        len(json.loads(capped.stdout)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 5
    )
    assert capped.stderr == (
        "note: perPage 6 is capped at 5 events a page; follow nextPageToken, or use --all for "
        "every event\n"
    )


def test_events_all_streams_every_match_across_pages(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``events --all`` with a page of 5 events: every one of the 28 examples once (as
    ``events --count`` counts them), in the query's order, as JSON Lines or as one document."""
    files = [str(p) for p in sorted((ROOT / "examples").glob("0*"))]
    assert runner.invoke(app, ["capture", *files]).exit_code == 0
    monkeypatch.setattr("batterytrace.store.query.MAX_PER_PAGE", 5)
    count = int(runner.invoke(app, ["events", "--count"]).stdout)
    lines = runner.invoke(app, ["events", "--all", "orderBy=eventTime", "orderDirection=ASC"])
    events = [json.loads(line) for line in lines.stdout.splitlines()]
    assert count == 28 and len(events) == 28 == len({e["eventID"] for e in events})
    times = [e["eventTime"] for e in events]
    assert times == sorted(times)
    whole = runner.invoke(app, ["events", "--all", "--json", "eventType=TransformationEvent"])
    doc = json.loads(whole.stdout)
    listed = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert doc["type"] == "EPCISQueryDocument"
    assert len(listed) == int(
        runner.invoke(app, ["events", "--count", "eventType=TransformationEvent"]).stdout
    )
    assert {e["type"] for e in listed} == {"TransformationEvent"}
    xml = runner.invoke(app, ["events", "--all", "--xml"])
    assert xml.exit_code == 1 and "--all writes JSON" in xml.stderr


def test_organisations_their_sites_and_a_capture_for_one(env: Path, tmp_path: Path) -> None:
    """Issue 16.1 from the command line: org create, site assign and delegate, org list;
    `capture --org` refused whole at another's site (exit 1, one line); `client create`
    says whom the client acts for."""
    mine, plant = "urn:epc:id:sgln:6111111.00001.0", "urn:epc:id:sgln:6111111.00002.0"
    for args in (
        ["org", "create", "urn:epc:id:pgln:6111111.00000", "--name", "Mine company"],
        ["org", "create", "3012345000000", "--name", "Refiner"],
        ["site", "assign", mine, "--org", "6111111000002"],
        ["site", "assign", plant, "--org", "3012345000000"],
        ["site", "delegate", plant, "--to", "6111111000002"],
        ["site", "delegate", plant, "--to", "6111111000002", "--revoke"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "recorded in the ledger" in result.output, result.output
    listed = json.loads(runner.invoke(app, ["org", "list", "--json"]).stdout)
    assert [(o["name"], o["sites"], o["delegated_to_it"]) for o in listed] == [
        ("Refiner", ["https://id.gs1.org/414/6111111000026"], []),
        ("Mine company", ["https://id.gs1.org/414/6111111000019"], []),
    ]
    at_plant = write(
        tmp_path / "plant.jsonld", document([object_event(1, bizLocation={"id": plant})])
    )
    refused = runner.invoke(app, ["capture", "--org", "6111111000002", str(at_plant)])
    assert refused.exit_code == 1 and "is a site of https://id.gs1.org/417/3012345000000" in (
        refused.output
    )
    assert "Traceback" not in refused.output
    done = runner.invoke(app, ["capture", "--org", "3012345000000", str(at_plant)])
    assert done.exit_code == 1  # the event's readPoint is the mine's
    assert runner.invoke(app, ["capture", str(at_plant)]).exit_code == 0  # the operator may
    unsaid = runner.invoke(app, ["client", "create", "erp", "--scope", "query"])
    assert unsaid.exit_code == 1 and "--org GLN or --operator" in unsaid.output
    made = runner.invoke(app, ["client", "create", "erp", "--org", "3012345000000", "--json"])
    assert json.loads(made.stdout)["organisation"] == "https://id.gs1.org/417/3012345000000"


def test_pact_partners_are_kept_with_their_secret_sealed(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    monkeypatch.setenv("BATTERYTRACE_TOKEN_KEY", str(env / "token.key"))
    monkeypatch.setenv("BATTERYTRACE_PACT_SECRET", "partner-s3cret")
    added = runner.invoke(
        app, ["pact", "partner", "add", "https://pact.supplier.example/", "--client-id", "us"]
    )
    assert added.exit_code == 0, added.output
    assert "partner-s3cret" not in added.output
    listed = runner.invoke(app, ["pact", "partner", "list", "--json"])
    assert json.loads(listed.output) == [
        {"baseUrl": "https://pact.supplier.example", "clientId": "us"}
    ]
    with sqlite3.connect(env / "cli.db") as db:
        (sealed,) = db.execute("SELECT secret FROM pact_partner").fetchone()
    assert "partner-s3cret" not in sealed
    from batterytrace.api.security import Tokens

    assert Tokens(env / "token.key", 60).unseal(sealed) == "partner-s3cret"
    bad = runner.invoke(app, ["pact", "partner", "add", "ftp://x", "--client-id", "us"])
    assert bad.exit_code == 1 and "base URL" in bad.output
    gone = runner.invoke(app, ["pact", "partner", "remove", "https://pact.supplier.example"])
    assert gone.exit_code == 0, gone.output
    again = runner.invoke(app, ["pact", "partner", "remove", "https://pact.supplier.example"])
    assert again.exit_code == 1 and "no such partner" in again.output
