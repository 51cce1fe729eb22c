"""batterytrace's own routes (issue 15 point 4): each answers what its command's ``--json``
prints on the same store (the command run through Typer's runner, pointed at the API's store),
refuses callers without a token (401) or the scope (403), bad parameters and bodies (400
naming the field), unknown identifiers (404), and a refused custody act writes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
import pytest
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis.model import Document
from batterytrace.scenario.generator import AGREEMENT_ID, ORE
from batterytrace.services import custody, events, masterdata
from batterytrace.services.unit_of_work import UnitOfWork, version
from batterytrace.trace.lineage import node_id
from factories import (
    CERTIFIED_MINE,
    PCAM,
    REFINERY,
    T0,
    custody_chain,
    custody_sites,
    lot,
    scenario_store,
)

if TYPE_CHECKING:
    from api.conftest import Api

runner = CliRunner()
PROBLEM = "application/problem+json"


@pytest.fixture
def cli(api: Api, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """The command, run on the API's store: its stdout parsed as JSON (``parse`` False: the
    result itself)."""
    monkeypatch.setenv("BATTERYTRACE_DB", api.uow.url)
    monkeypatch.setenv("BATTERYTRACE_KEY", str(api.uow.key_path))

    def run(*args: str, parse: bool = True, code: int = 0) -> Any:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return json.loads(result.stdout) if parse else result

    return run


def get(api: Api, path: str, status: int = 200, **params: Any) -> Any:
    answer = api.http.get(path, params=params, headers=api.headers["query"])
    assert answer.status_code == status, answer.text
    expected = "application/json" if status < 400 else PROBLEM
    assert answer.headers["content-type"] == expected
    return answer.json()


# --- each route answers its command's --json ---------------------------------------------------


def test_trace_check_and_summary_answer_the_commands_json(
    api: Api, cli: Callable[..., Any], scenario: Path
) -> None:
    pack = scenario_store(api.uow, scenario)
    link = node_id(pack)  # https://id.gs1.org/01/…/21/…: slashes in the path
    back = get(api, f"/trace/back/{link}", items="true")
    assert back == cli("trace", "back", pack, "--json", "--items")
    assert back["start"] == link and back["held"] and back["objects"]
    assert get(api, f"/trace/back/{quote(pack, safe='')}", element="Ni") == cli(
        "trace", "back", pack, "--element", "Ni", "--format", "json"
    )
    ore = ORE.lot("BA2025-0000")
    forward = get(api, f"/trace/forward/{ore}")
    assert forward == cli("trace", "forward", ore, "--json")
    assert forward["direction"] == "forward" and len(forward["objects"]) > 1
    check = get(api, "/check", tolerance="0.01")
    assert check == cli("check", "--tolerance", "0.01", "--json", code=0 if check["ok"] else 1)
    assert check["steps"] > 0
    summary = get(api, f"/summary/{link}")
    assert summary == cli("summary", pack, "--json")
    assert summary["id"] == link and summary["footprint"] is not None
    assert get(api, f"/summary/{quote(link, safe='')}") == summary  # its slashes as %2F
    recycled = get(api, f"/custody/recycled/{pack}")
    assert recycled == cli("custody", "recycled", pack, "--json")
    assert recycled["battery"] == link and len(recycled["shares"]) == 3


def test_custody_contract_and_carbon_reads_answer_the_commands_json(
    api: Api, cli: Callable[..., Any], scenario: Path
) -> None:
    pack = scenario_store(api.uow, scenario)
    every = get(api, "/custody/balances")
    assert every == cli("custody", "balance", "--json")
    assert every["accounts"] and every["version"] == _version(api.uow)
    account = every["accounts"][0]
    period = account["statements"][0]["period"]
    one = api.http.get("/custody/balances", params={"site": account["site"], "period": period},
                       headers=api.headers["query"])  # fmt: skip
    assert one.status_code == 200 and one.headers["etag"] == f'"{every["version"]}"'
    assert one.json() == cli("custody", "balance", account["site"], "--period", period, "--json")
    assert {s["period"] for a in one.json()["accounts"] for s in a["statements"]} == {period}
    lots = [o for o in get(api, f"/trace/back/{pack}")["objects"] if "/10/" in o["id"]]
    claimed = next(
        report
        for report in (get(api, f"/custody/lots/{o['id']}") for o in lots)
        if report["claims"]
    )  # a lot upstream of the pack that carries a claim
    assert claimed == cli("custody", "report", claimed["lot"], "--json")

    status = get(api, "/contracts/status")
    assert status == cli("contract", "status", "--json")
    assert [c["agreement"]["id"] for c in status["contracts"]] == [AGREEMENT_ID]
    dated = get(api, f"/contracts/{AGREEMENT_ID}/status", **{"as-of": "2026-06-30"})
    assert dated == cli("contract", "status", AGREEMENT_ID, "--as-of", "2026-06-30", "--json")
    assert dated["asOf"].startswith("2026-06-30T23:59:59") and dated["asOfSource"] == "--as-of"

    footprint = get(api, f"/footprints/{pack}", explain="true", draws="500", seed="3")
    command = ("footprint", pack, "--json", "--explain", "--draws", "500", "--seed", "3")
    assert footprint == cli(*command)
    assert footprint["explain"]["children"] and footprint["uncertainty"]["draws"] == 500
    assert get(api, f"/footprints/{node_id(pack)}") == cli("footprint", pack, "--json")
    levers = ("wind=0.5", "recycled=0.2")
    targets = api.http.get("/targets", params=[("what-if", v) for v in levers],
                           headers=api.headers["query"])  # fmt: skip
    assert targets.status_code == 200, targets.text
    assert targets.json() == cli(
        "targets", "--json", *(a for v in levers for a in ("--what-if", v))
    )
    assert len(targets.json()["levers"]) == 3  # each, and all together
    pact = get(api, f"/products/{pack}/pact", version="2")
    assert _made_now(pact) == _made_now(cli("pact", "export", pack, "--version", "2"))
    assert pact["specVersion"] == "2.3.0"
    pact = get(api, f"/products/{node_id(pack)}/pact")
    assert _made_now(pact) == _made_now(cli("pact", "export", pack))


def _made_now(document: dict[str, Any]) -> dict[str, Any]:
    """A PACT document without ``created``: the time it was exported."""
    return {k: v for k, v in document.items() if k != "created"}


def test_masterdata_and_ledger_answer_the_commands_json(
    api: Api, cli: Callable[..., Any], tmp_path: Path
) -> None:
    assert get(api, "/masterdata") == {"parties": [], "sites": [], "materials": []}
    assert get(api, "/ledger/checkpoint", 404)["type"] == "epcisException:NoSuchResourceException"
    data = custody_sites().to_json()
    imported = api.http.post("/masterdata", json=data, headers=api.headers["admin"])
    assert imported.status_code == 200, imported.text
    assert imported.json()["sites"] == {"added": 3, "replaced": 0, "unchanged": 0, "removed": 0,
                                        "id": None, "changed": True}  # fmt: skip
    again = api.http.post("/masterdata", json=data, headers=api.headers["admin"])
    assert not any(effect["changed"] for effect in again.json().values())
    cli("masterdata", "export", str(tmp_path / "md.json"), parse=False)
    exported = get(api, "/masterdata")
    assert exported == orjson.loads((tmp_path / "md.json").read_bytes())
    assert len(exported["sites"]) == 3
    (record,) = cli("imports", "--json")  # the second import changed nothing: not recorded
    assert record["source"].startswith("POST /masterdata (")
    events.capture_document(api.uow, Document(creationDate=T0, events=custody_chain()))
    verified = get(api, "/ledger/verify")
    assert verified == cli("verify", "--json")
    assert verified["ok"] and "derived" not in verified
    deep = get(api, "/ledger/verify", derived="true")
    assert deep == cli("verify", "--json", "--derived")
    assert deep["derived"] == "equal to a recomputation"
    head = get(api, "/ledger/checkpoint")
    assert head == cli("checkpoint", "export")
    assert head["signature"]


# --- custody acts --------------------------------------------------------------------------------

BOOKED = {
    "origins": [{"claim": "recycled", "site": REFINERY, "evidence": {"reference": "R-1"}}],
    "policies": [
        {"site": site, "claim": "recycled", "model": model, "period": "year"}
        for site, model in ((REFINERY, "book-and-claim"), (PCAM, "book-and-claim"),
                            (CERTIFIED_MINE, "mass-balance"))
    ],
}  # fmt: skip


def _booked(uow: UnitOfWork) -> None:
    """The custody chain with the refinery's output recycled and booked: 18 kg of recycled
    cobalt credits at the refinery (tests/store/test_custody.py)."""
    masterdata.import_master_data(uow, custody_sites())
    custody.import_rules(uow, CustodyRules.from_json(BOOKED))
    events.capture_document(uow, Document(creationDate=T0, events=custody_chain()))


def _version(uow: UnitOfWork) -> int:
    with uow.reading() as conn:
        return version(conn)


def _balance(api: Api, site: str) -> float:
    accounts = get(api, "/custody/balances", site=site)["accounts"]
    return float(next(a["balance"] for a in accounts if a["claim"] == "recycled"))


def test_allocations_and_transfers_write_what_the_commands_write(
    api: Api, cli: Callable[..., Any]
) -> None:
    _booked(api.uow)
    capture = api.headers["capture"]
    move = {"source": REFINERY, "target": PCAM, "claim": "recycled", "co": 3.0,
            "at": "2025-02-01"}  # fmt: skip
    moved = api.http.post("/custody/transfers", json=move, headers=capture)
    assert moved.status_code == 201, moved.text
    done = moved.json()
    assert (done["source"], done["target"], done["claim"]) == (node_id(REFINERY), node_id(PCAM),
                                                               "recycled")  # fmt: skip
    assert done["at"].startswith("2025-02-01T23:59:59") and done["ref"].startswith("urn:uuid:")
    assert moved.headers["etag"] == f'"{done["version"]}"' == f'"{_version(api.uow)}"'
    assert (_balance(api, REFINERY), _balance(api, PCAM)) == (pytest.approx(15), pytest.approx(3))

    claim = {"lot": lot("O2"), "claim": "recycled", "site": PCAM, "co": 3.0,
             "at": "2025-03-01T12:00:00+01:00"}  # fmt: skip
    made = api.http.post("/custody/allocations", json=claim, headers=capture)
    assert made.status_code == 201, made.text
    allocated = made.json()
    assert allocated["recorded"] and allocated["lot"] == node_id(lot("O2"))
    assert made.headers["location"] == f"/events/{quote(allocated['event_id'], safe='')}"
    report = get(api, f"/custody/lots/{lot('O2')}")
    assert report == cli("custody", "report", lot("O2"), "--json")
    (carried,) = report["claims"]
    assert carried["claim"] == "recycled" and carried["elements"]["Co"]["kg"] == pytest.approx(3)
    retried = api.http.post("/custody/allocations", json=claim, headers=capture)
    assert retried.status_code == 200 and retried.json()["recorded"] is False
    assert retried.json()["event_id"] == allocated["event_id"]

    # the same acts through the command: the same state
    cli("custody", "transfer", REFINERY, PCAM, "recycled", "--co", "1", "--at", "2025-02-02",
        parse=False)  # fmt: skip
    assert _balance(api, REFINERY) == pytest.approx(14)


def test_a_refused_custody_act_writes_nothing(api: Api) -> None:
    _booked(api.uow)
    capture = api.headers["capture"]
    first = {"lot": lot("O1"), "claim": "recycled", "site": REFINERY, "co": 10.0}
    assert api.http.post("/custody/allocations", json=first, headers=capture).status_code == 201
    assert _balance(api, REFINERY) == pytest.approx(8)
    events_before = _events(api)
    before = (_version(api.uow), get(api, "/custody/balances"), get(api, "/ledger/checkpoint"))
    overdraft = {"lot": lot("O2"), "claim": "recycled", "site": REFINERY, "co": 9.0}
    refused = api.http.post("/custody/allocations", json=overdraft, headers=capture)
    assert refused.status_code == 400 and refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["type"] == "batterytrace:CustodyError"  # custody.flows.Note.error
    assert "exceeds the balance of 8 kg by 1 kg" in problem["detail"]
    more_than_the_lot = overdraft | {"co": 100.0}
    refused = api.http.post("/custody/allocations", json=more_than_the_lot, headers=capture)
    assert refused.status_code == 400 and "which holds 10 kg Co" in refused.json()["detail"]
    too_much = {"source": REFINERY, "target": PCAM, "claim": "recycled", "co": 20.0}
    refused = api.http.post("/custody/transfers", json=too_much, headers=capture)
    assert refused.status_code == 400
    assert "exceeds the balance of 8 kg by 12 kg" in refused.json()["detail"]
    mass_balance = {"source": REFINERY, "target": CERTIFIED_MINE, "claim": "recycled", "co": 1}
    refused = api.http.post("/custody/transfers", json=mass_balance, headers=capture)
    assert refused.status_code == 400 and "not book-and-claim" in refused.json()["detail"]
    read = _version(api.uow)
    stale = api.http.post("/custody/transfers", headers=capture | {"If-Match": f'"{read - 1}"'},
                          json=too_much | {"co": 1.0})  # fmt: skip
    assert stale.status_code == 412 and stale.json()["type"] == "batterytrace:StaleVersion"
    after = (_version(api.uow), get(api, "/custody/balances"), get(api, "/ledger/checkpoint"))
    assert after == before and _events(api) == events_before
    current = api.http.post("/custody/transfers", headers=capture | {"If-Match": f'"{read}"'},
                            json=too_much | {"co": 1.0})  # fmt: skip
    assert current.status_code == 201, current.text
    assert current.json()["version"] == read + 1


def _events(api: Api) -> int:
    """How many events the store holds."""
    return events.count(api.uow, {})


# --- who may ask -----------------------------------------------------------------------------

READS = [
    "/trace/back/urn:epc:id:sgtin:3700000.030001.P1",
    "/trace/forward/urn:epc:class:lgtin:6111111.000101.A",
    "/check",
    "/custody/balances",
    "/custody/lots/urn:epc:class:lgtin:6111111.000101.A",
    "/custody/recycled/urn:epc:id:sgtin:3700000.030001.P1",
    "/contracts/status",
    f"/contracts/{AGREEMENT_ID}/status",
    "/footprints/urn:epc:id:sgtin:3700000.030001.P1",
    "/targets",
    "/products/urn:epc:id:sgtin:3700000.030001.P1/pact",
    "/summary/urn:epc:id:sgtin:3700000.030001.P1",
    "/masterdata",
    "/ledger/verify",
    "/ledger/checkpoint",
]
WRITES = [
    ("/custody/allocations", "capture",
     {"lot": lot("O2"), "claim": "recycled", "site": PCAM, "co": 1.0}),
    ("/custody/transfers", "capture",
     {"source": REFINERY, "target": PCAM, "claim": "recycled", "co": 1.0}),
    ("/masterdata", "admin", {"parties": []}),
]  # fmt: skip


@pytest.mark.parametrize("path", READS)
def test_a_read_needs_a_token(api: Api, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer forged"}):
        answer = api.http.get(path, headers=headers)
        assert answer.status_code == 401 and answer.headers["content-type"] == PROBLEM
        assert answer.json()["type"] == "epcisException:SecurityException"


@pytest.mark.parametrize(("path", "scope", "body"), WRITES)
def test_a_write_needs_a_token_and_its_scope(
    api: Api, path: str, scope: str, body: dict[str, Any]
) -> None:
    assert api.http.post(path, json=body).status_code == 401
    others = [s for s in ("query", "capture") if s != scope]
    for other in others:
        answer = api.http.post(path, json=body, headers=api.headers[other])
        assert answer.status_code == 403 and answer.headers["content-type"] == PROBLEM
        assert f"needs the {scope!r} scope" in answer.json()["detail"]
    assert _version(api.uow) == 0  # nothing written (a fresh store is at version 0)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/check", {"tolerence": "0.1"}, "tolerence: not a parameter of /check"),
        ("/check", {"tolerance": "-1"}, "tolerance: -1.0 is not a finite number"),
        ("/check", {"tolerance": "lots"}, "tolerance: Input should be a valid number"),
        ("/custody/balances", {"period": "2025-13"}, "period: "),
        ("/custody/balances", {"month": "2025-03"}, "month: not a parameter"),
        ("/trace/back/urn:epc:id:sgtin:3700000.030001.P1", {"element": "Fe"}, "element: 'Fe'"),
        ("/trace/back/urn:epc:id:sgtin:3700000.030001.P1", {"items": "maybe"}, "items: "),
        ("/trace/forward/urn:epc:id:sgtin:3700000.030001.P1", {"items": "true"}, "items: not a"),
        ("/trace/back/urn:epc:id:sgtin:x", {}, "urn:epc:id:sgtin:x"),
        ("/contracts/status", {"as-of": "2025-13-01"}, "as-of: '2025-13-01' is not a date"),
        ("/footprints/urn:epc:id:sgtin:3700000.030001.P1", {"draws": "1"}, "draws: 1 is too few"),
        ("/footprints/urn:epc:id:sgtin:3700000.030001.P1", {"draws": "x"}, "draws: Input should"),
        ("/targets", {"what-if": "sun=1"}, "what-if: 'sun=1' is not LEVER=VALUE"),
        ("/targets", {"baseline": "nan"}, "baseline: nan is not a positive finite number"),
        ("/ledger/verify", {"against": "/etc/passwd"}, "against: not a parameter"),
        ("/masterdata", {"format": "csv"}, "format: not a parameter"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    api: Api, path: str, params: dict[str, str], named: str
) -> None:
    problem = get(api, path, 400, **params)
    assert named in problem["detail"], problem
    assert problem["status"] == 400 and problem["type"] in (
        "epcisException:QueryParameterException",
        "epcisException:ValidationException",
        "batterytrace:CustodyError",
        "batterytrace:FootprintError",
    )


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/custody/allocations", {"lot": lot("O2"), "claim": "recycled", "site": PCAM},
         "give the kg of co, ni or li"),
        ("/custody/allocations", {"lot": lot("O2"), "claim": "recycled", "co": 1}, "site: Field"),
        ("/custody/allocations", {"lot": lot("O2"), "claim": "recycled", "site": PCAM,
                                  "co": 1, "kg": {"Co": 1}}, "kg: Extra inputs"),
        ("/custody/allocations", {"lot": lot("O2"), "claim": "recycled", "site": PCAM,
                                  "co": -1}, "co: Input should be greater than 0"),
        ("/custody/transfers", {"source": REFINERY, "target": PCAM, "claim": "recycled",
                                "ni": "Infinity"}, "ni: Input should be a finite number"),
        ("/custody/transfers", {"source": REFINERY, "target": PCAM, "claim": "recycled",
                                "li": 1, "at": "yesterday"}, "at: 'yesterday' is not a date"),
        ("/custody/transfers", {"source": REFINERY, "target": PCAM, "claim": "unheard-of",
                                "li": 1}, "unheard-of"),
        ("/custody/transfers", [], "Input should be a valid dictionary"),
        ("/masterdata", {"parties": [{"id": "urn:epc:id:pgln:6111111.00000"}]}, "name"),
        ("/masterdata", {"sites": [], "people": []}, "people"),
        ("/masterdata", [1, 2], "body: "),
    ],
)  # fmt: skip
def test_a_bad_body_is_a_400_naming_the_field(api: Api, path: str, body: Any, named: str) -> None:
    scope = "admin" if path == "/masterdata" else "capture"
    answer = api.http.post(path, json=body, headers=api.headers[scope])
    assert answer.status_code == 400 and answer.headers["content-type"] == PROBLEM, answer.text
    assert named in answer.json()["detail"], answer.json()
    assert _version(api.uow) == 0  # nothing written


@pytest.mark.parametrize("path", ["/custody/allocations", "/custody/transfers", "/masterdata"])
def test_a_body_that_is_not_json_is_a_400(api: Api, path: str) -> None:
    headers = api.headers["admin"] | {"Content-Type": "application/json"}
    answer = api.http.post(path, content=b'{"lot": ', headers=headers)
    assert answer.status_code == 400 and answer.headers["content-type"] == PROBLEM, answer.text
    assert _version(api.uow) == 0


def test_a_bad_if_match_is_a_400_naming_it(api: Api) -> None:
    body = {"source": REFINERY, "target": PCAM, "claim": "recycled", "co": 1.0}
    headers = api.headers["capture"] | {"If-Match": "yesterday's"}
    answer = api.http.post("/custody/transfers", json=body, headers=headers)
    assert answer.status_code == 400 and answer.json()["detail"].startswith("If-Match: ")


# --- unknown identifiers ----------------------------------------------------------------------


def test_unknown_identifiers_are_404(api: Api, scenario: Path) -> None:
    pack = scenario_store(api.uow, scenario)
    unknown = "urn:epc:id:sgtin:3700000.030001.NOSUCHPACK"
    for path in (f"/trace/back/{unknown}", f"/trace/forward/{unknown}",
                 f"/summary/{unknown}", f"/custody/recycled/{unknown}",
                 f"/footprints/{unknown}", f"/products/{unknown}/pact",
                 "/contracts/urn:x/status"):  # fmt: skip
        problem = get(api, path, 404)
        assert problem["type"] == "epcisException:NoSuchResourceException", path
        assert problem["status"] == 404 and problem["detail"], path
    assert "'urn:x' is not a stored agreement" in get(api, "/contracts/urn:x/status", 404)["detail"]
    report = get(api, f"/custody/lots/{unknown}")  # a lot that carries nothing: no claims
    assert report["claims"] == [] and report["notes"] == []
    problem = get(api, f"/products/{pack}/pact", 400, version="4")  # a known one, a bad version
    assert problem["detail"].startswith("version: '4' is not 2")
