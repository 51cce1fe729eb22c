"""What the command prints into files and pipes (issue 13, points 9 and 10)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.services import custody as custody_service

ROOT = Path(__file__).resolve().parents[1]
PACK = "urn:epc:id:sgtin:3700000.030001.P2503130001"
runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{tmp_path / 'out.db'}")
    monkeypatch.setenv("BATTERYTRACE_KEY", str(tmp_path / "out.key"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    files = [str(p) for p in sorted((ROOT / "examples").glob("0*"))]
    assert runner.invoke(app, ["capture", *files]).exit_code == 0
    return tmp_path


def test_events_table_in_a_pipe_keeps_lines_whole_and_shows_event_ids(store: Path) -> None:
    body = json.loads(runner.invoke(app, ["events", "--json", "perPage=5"]).stdout)
    events = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    ids = [e["eventID"] for e in events]
    assert len(ids) == 5 and all(ids)
    table = runner.invoke(app, ["events", "perPage=5"]).stdout.splitlines()
    for event_id in ids:  # each on its own row, whole, beside the event's first object
        assert sum(event_id in line for line in table) == 1
    token = body["nextPageToken"]
    assert any(line.endswith(f"nextPageToken={token}") for line in table)
    assert max(map(len, table)) > 80


def test_trace_back_items_lists_the_pack_contents_by_serial(store: Path) -> None:
    # examples/03: the pack holds 2 modules of 4 cells each (C2503100001..08).
    result = runner.invoke(app, ["trace", "back", PACK, "--json", "--items"])
    assert result.exit_code == 0, result.output
    held = json.loads(result.stdout)["held"]
    modules = [h["id"] for h in held if h["level"] == 1]
    cells = [h["id"] for h in held if h["level"] == 2]
    assert [m.rsplit("/", 1)[1] for m in modules] == ["M2503120001", "M2503120002"]
    assert [c.rsplit("/", 1)[1] for c in cells] == [f"C250310000{i}" for i in range(1, 9)]
    same = runner.invoke(app, ["trace", "back", PACK, "--format", "json"]).stdout
    assert json.loads(same)["objects"] == json.loads(result.stdout)["objects"]
    tree = runner.invoke(app, ["trace", "back", PACK, "--items"]).stdout
    assert all(c in tree for c in cells) and "10 objects held by" in tree
    clash = runner.invoke(app, ["trace", "forward", PACK, "--json", "--format", "dot"])
    assert clash.exit_code == 2


def test_check_says_when_it_is_done_on_stderr_when_not_a_terminal(store: Path) -> None:
    result = runner.invoke(app, ["check"])
    assert "transformations" in result.stdout
    assert "checking element mass balances: done in" in result.stderr


def _shell_words(command: str, optional: bool = False) -> list[str]:
    """``command`` split as the shell would (quotes as ``shlex`` reads them), its optional
    ``[...]`` parts left out, or given (``optional``: the first of ``a|b``, no ``...``)."""
    words, depth = [], 0
    for word in shlex.split(command):
        opened = depth > 0 or word.startswith("[")
        depth += word.count("[") - word.count("]")
        if not opened:
            words.append(word)
        elif optional and word.strip("[]") != "...":
            words.append(word.strip("[]").split("|", 1)[0])
    return words


def _readme_commands(optional: bool = False) -> list[list[str]]:
    """Every command of the README's command-line block, in order: each line starting with
    ``batterytrace`` (several per line when separated by ``;``), comments left out; with
    ``optional``, only those that have optional parts, with them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Command line", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    found = []
    for line in block.splitlines():
        if not line.startswith("batterytrace "):
            continue
        for command in line.split("#", 1)[0].split(";"):
            words = _shell_words(command, optional)
            assert words[0] == "batterytrace", line
            if not optional or "[" in command:
                found.append(words[1:])
    return found


# The README's placeholders, each given the value a reader would take from the store built as
# it says (scenario seed 2025): found by the commands before them, fixed here.
SCENARIO_PACK = "urn:epc:id:sgtin:3700000.030001.P000007556"  # a 2025 pack
PLACEHOLDERS = {
    "LOT": "urn:epc:class:lgtin:3012345.000810.P2026-0000",  # a precursor lot
    "PACK": SCENARIO_PACK,
    "SITE": "urn:epc:id:sgln:3012345.00100.0",  # the precursor plant
    "SGLN": "urn:epc:id:sgln:3012345.00100.0",
    "ID": "urn:epc:class:lgtin:3012345.000810.P2026-0000",  # pact export: a lot (per kg)
    "name@version": "batterytrace@2026.1",  # the shipped factor set
    "VERSION": "1",  # a ledger version: the first checkpoint
    "GLN": "urn:epc:id:pgln:3012345.00000",  # the precursor plant's company
    "CARRIER": "0614141000005",  # a logistics provider, as 13 digits
}
AGREEMENT = "https://batterytrace.org/agreement/renault-managem-2022"  # the scenario's


def _placeholder(word: str, printed: list[str]) -> str:
    if word == "ID" and printed[:2] == ["carbon", "remove"]:  # the import `carbon list` shows
        listed = runner.invoke(app, ["carbon", "list", "--json"])
        return str(json.loads(listed.stdout)[-1]["id"])
    if word == "ID" and printed[:2] == ["contract", "status"]:
        return AGREEMENT
    if word == "SHARE_ID":  # the share `share grant` made, as `share list` shows it
        listed = runner.invoke(app, ["share", "list", "--json"])
        return str(json.loads(listed.stdout)[-1]["id"])
    if word == "CLIENT_ID":  # the client `client create` made, as `client list` shows it
        listed = runner.invoke(app, ["client", "list", "--json"])
        return str(json.loads(listed.stdout)[-1]["client_id"])
    return PLACEHOLDERS.get(word, word)


# Commands that cannot run as printed here, each with its reason (by their first words).
NOT_RUN = {
    ("custody", "transfer"): "the scenario has no book-and-claim site to move credits between; "
    "tests/store/test_custody.py::test_a_transfer_at_a_date_moves_credits_then runs one",
    ("serve",): "serves until stopped; tests/api/test_server.py runs it on a real socket",
}
# Commands whose documented exit code for the README's store is not 0, with why.
EXIT = {
    ("diligence",): 1,  # a high-severity red flag: sites with no assurance recorded
}
# The scenario line runs at this scale rather than its default (0.001), to keep the test short.
SCENARIO_SCALE = ["--scale", "0.0003"]


def _glob(words: list[str], cwd: Path) -> list[str]:
    """Words with ``*`` expanded as the shell does (left as they are when nothing matches)."""
    expanded = []
    for word in words:
        matches = sorted(cwd.glob(word)) if "*" in word and ":" not in word else []
        expanded.extend(str(m.relative_to(cwd)) for m in matches) if matches else (
            expanded.append(word)
        )
    return expanded


def test_readme_examples_run_as_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13.11: every README command line runs as printed, in order, in a folder holding
    examples/ (the README names it relative to the checkout), with the default store."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATTERYTRACE_DB", raising=False)
    monkeypatch.delenv("BATTERYTRACE_KEY", raising=False)
    monkeypatch.setenv("BATTERYTRACE_PACT_SECRET", "secret")  # pact partner add reads it
    monkeypatch.setenv("BATTERYTRACE_TOKEN_KEY", str(tmp_path / "token.key"))
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    shipped = ROOT / "src" / "batterytrace" / "contracts" / "cobalt_intensity.csv"
    (tmp_path / "kg-co-per-kwh.csv").write_bytes(shipped.read_bytes())  # a user's own table
    commands = _readme_commands()
    assert len(commands) >= 35
    # then each line with optional parts once more, with them (the carbon model back first)
    again = [["carbon", "import", "scenario/carbon.json"], *_readme_commands(optional=True)]
    assert len(again) >= 15
    for printed in commands + again:
        if any(tuple(printed[: len(first)]) == first for first in NOT_RUN):
            continue
        args = [_placeholder(w, printed) for w in _glob(printed, tmp_path)]
        if printed[0] == "scenario":
            args += SCENARIO_SCALE
        result = runner.invoke(app, args)
        expected = next(
            (c for first, c in EXIT.items() if tuple(printed[: len(first)]) == first), 0
        )
        assert result.exit_code == expected, (printed, result.output)
        supplier = tmp_path / "supplier-pcf.json"  # the file `pact import` names: the first
        if printed[:2] == ["pact", "export"] and not supplier.exists():  # export (PACT v3)
            supplier.write_text(result.stdout, encoding="utf-8")
        if any(a.startswith("MATCH_") for a in args):
            assert not result.stdout.rstrip().endswith(" 0 events"), result.stdout
            assert result.stdout.rstrip().splitlines()[-1].split()[0] != "0"
    assert (tmp_path / "batterytrace.db").exists()
    for args in _help_examples():
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        if args[0] == "events":
            assert result.stdout.rstrip().splitlines()[-1].split()[0] != "0", result.stdout


def test_readme_library_example_runs_as_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13.11: the README's Python example, as printed, in a folder holding examples/."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATTERYTRACE_DB", raising=False)
    monkeypatch.delenv("BATTERYTRACE_KEY", raising=False)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = text.split("## Library", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "9 0"  # examples/01 holds 9 events, none stored before
    hashes = runner.invoke(app, ["hash", "examples/02-sulfate-to-cells.xml"]).stdout.split()
    assert printed[1] == str(hashes)


def _help(*path: str) -> dict[str, str]:
    """The --help text of each option and argument of a command, by parameter name."""
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return {str(p.name): getattr(p, "help", None) or "" for p in command.params}


def _help_examples() -> list[list[str]]:
    """The commands the --help texts give as examples, taken from the texts as printed."""
    query = _help("events")["params"].split("e.g. ", 1)[1].split(";", 1)[0]
    levers = _help("targets")["what_if"].split(":", 1)[1].split("(", 1)[0]
    periods = _help("custody", "balance")["period"].split(":", 1)[1]
    moment = _help("custody", "allocate")["at"].split("zone (", 1)[1].split(")", 1)[0]
    field = _help("hash")["ignore_field"].split("(e.g. ", 1)[1].split(")", 1)[0]
    lot, site = PLACEHOLDERS["LOT"], PLACEHOLDERS["SGLN"]
    return [
        ["hash", "--ignore-field", field, "examples/01-mine-to-sulfate.jsonld"],
        ["custody", "allocate", lot, "low-carbon", "--site", site, "--co", "1", "--at", moment],
        ["events", *query.split()],
        *(["targets", "--what-if", lever] for lever in levers.replace(",", " ").split()),
        *(["custody", "balance", "--period", p] for p in periods.strip(" .").split(", ")),
    ]


def test_hash_takes_several_files_each_under_its_name() -> None:
    files = [str(p) for p in sorted((ROOT / "examples").glob("0*"))]
    alone = [runner.invoke(app, ["hash", f]).stdout.splitlines() for f in files]
    assert [len(lines) for lines in alone] == [9, 11, 8]
    together = runner.invoke(app, ["hash", *files])
    assert together.exit_code == 0
    expected = "\n".join(
        f"==> {f} <==\n" + "\n".join(lines) for f, lines in zip(files, alone, strict=True)
    )
    assert together.stdout == expected.replace("\n==> ", "\n\n==> ") + "\n"


def test_utf16_xml_is_read_as_its_utf8_original(tmp_path: Path) -> None:
    original = ROOT / "examples" / "02-sulfate-to-cells.xml"
    text = original.read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    utf16 = tmp_path / "utf16.xml"
    utf16.write_bytes(text.encode("utf-16"))  # with its byte order mark
    assert utf16.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    expected = runner.invoke(app, ["hash", str(original)]).stdout
    result = runner.invoke(app, ["hash", str(utf16)])
    assert result.exit_code == 0, result.output
    assert result.stdout == expected and len(expected.splitlines()) == 11


def test_libxml_errors_are_one_plain_line_with_the_place(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "02-sulfate-to-cells.xml").read_text(encoding="utf-8")
    at = text.index("<EventList>") + len("<EventList>")
    huge = tmp_path / "huge.xml"  # a text node past libxml's 10,000,000-character limit
    huge.write_text(text[:at] + "<ObjectEvent><x>" + "a" * 10_000_001 + "</x>" + text[at:])
    cut = tmp_path / "cut.xml"
    cut.write_text(text[:600])  # ends inside the opening comment
    for path, rule in ((huge, "Text node too long"), (cut, "Comment not terminated")):
        result = runner.invoke(app, ["hash", str(path)])
        assert result.exit_code == 1
        line = result.stderr.strip()
        assert len(line.splitlines()) == 1 and rule in line and "line " in line, line
        assert "XML_PARSE" not in line and "\\n" not in line and "<!--" not in line


def test_custody_balance_names_the_site_beside_its_identifier(tmp_path: Path) -> None:
    from batterytrace.custody.rules import CustodyRules
    from batterytrace.epcis.model import Document
    from batterytrace.masterdata import MasterData, Party, Site, SiteRole
    from batterytrace.services import events as events_service
    from batterytrace.services import masterdata
    from batterytrace.services.bootstrap import unit_of_work
    from factories import CERTIFIED_MINE, CUSTODY_RULES, PCAM, REFINERY, T0, custody_chain

    env = {"BATTERYTRACE_DB": f"sqlite:///{tmp_path / 'c.db'}",
           "BATTERYTRACE_KEY": str(tmp_path / "c.key")}  # fmt: skip
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    uow = unit_of_work(env["BATTERYTRACE_DB"], Path(env["BATTERYTRACE_KEY"]))
    data = MasterData()
    data.add_party(Party("urn:epc:id:pgln:6111111.00000", "Managem", "MA"))
    data.add_site(
        Site(PCAM, "Precursor plant X", "urn:epc:id:pgln:6111111.00000", SiteRole.PRECURSOR, "MA")
    )
    for site in (CERTIFIED_MINE, REFINERY):  # the other sites the rules name
        data.add_site(Site(site, "", "urn:epc:id:pgln:6111111.00000", SiteRole.MINE, "MA"))
    masterdata.import_master_data(uow, data, "test")
    custody_service.import_rules(uow, CustodyRules.from_json(CUSTODY_RULES))
    events_service.capture_document(uow, Document(creationDate=T0, events=custody_chain()))
    table = runner.invoke(app, ["custody", "balance"], env=env).stdout
    rows = [line for line in table.splitlines() if "2025-Q1" in line]
    assert rows and all("(Precursor plant X)" in line for line in rows), table


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from batterytrace.scenario.generator import generate

    out = tmp_path_factory.mktemp("scenario")
    generate(out, 0.0003, seed=2025)
    return out


@pytest.mark.parametrize("master_data", [True, False])
def test_contract_status_and_custody_report_name_parties_and_sites(
    scenario: Path, tmp_path: Path, master_data: bool
) -> None:
    """Issue 13.9: seller, buyer and delivery site of a contract, and the sites a custody
    report's backing and notes name, show as ``id (name)`` from the stored master data; a
    contract's are bare without it (custody rules cannot be imported without the master data
    of the sites they name); JSON keeps the identifiers as they are."""
    from batterytrace.contracts.agreement import Agreement
    from batterytrace.custody.rules import CustodyRules
    from batterytrace.masterdata import read_master_data
    from batterytrace.services import contracts, ledger, masterdata
    from batterytrace.services import events as events_service
    from batterytrace.services.bootstrap import unit_of_work

    env = {"BATTERYTRACE_DB": f"sqlite:///{tmp_path / 's.db'}",
           "BATTERYTRACE_KEY": str(tmp_path / "s.key")}  # fmt: skip
    uow = unit_of_work(env["BATTERYTRACE_DB"], Path(env["BATTERYTRACE_KEY"]))
    ledger.init(uow)
    if master_data:
        masterdata.import_master_data(
            uow, read_master_data(scenario / "masterdata.json"), "masterdata"
        )
    for year in (2025, 2026):
        events_service.capture(uow, scenario / f"events-{year}.jsonld")
    raw = json.loads((scenario / "contracts.json").read_text(encoding="utf-8"))
    contracts.import_contracts(uow, [Agreement.from_json(a, "$") for a in raw], "contracts.json")
    rules = json.loads((scenario / "custody.json").read_text(encoding="utf-8"))
    if master_data:  # the custody rules need the sites they name in the master data
        custody_service.import_rules(uow, CustodyRules.from_json(rules))
    names = json.loads((scenario / "masterdata.json").read_text(encoding="utf-8"))
    seller, buyer = raw[0]["seller"], raw[0]["buyer"]
    party = {p["id"]: p["name"] for p in names["parties"]}
    precursor = next(s for s in names["sites"] if s["id"] == "urn:epc:id:sgln:3012345.00100.0")
    expected = [f"{seller} ({party[seller]})", f"{buyer} ({party[buyer]})",
                "https://id.gs1.org/414/3016666000015 (Port of Dunkirk)"]  # fmt: skip

    status = runner.invoke(app, ["contract", "status"], env=env)
    assert status.exit_code == 0, status.output
    assert "contract status: done in" in status.stderr  # one line when not a terminal
    summary = status.stdout.splitlines()[1]
    assert all((e in summary) is master_data for e in expected), summary
    assert f"{seller} -> {buyer}" in summary or master_data
    body = json.loads(runner.invoke(app, ["contract", "status", "--json"], env=env).stdout)
    assert body["contracts"][0]["agreement"]["seller"] == seller  # JSON: the id as it is

    if not master_data:
        return
    lot = "urn:epc:class:lgtin:3012345.000810.P2026-0000"
    report = runner.invoke(app, ["custody", "report", lot], env=env).stdout
    site = "https://id.gs1.org/414/3012345001007"  # the precursor plant, as the report names it
    at = [line for line in report.splitlines() if site in line]
    assert at and all(f"{site} ({precursor['name']})" in line for line in at)
    shown = runner.invoke(app, ["masterdata", "show"], env=env).stdout
    owner = precursor["party"]  # the party of each site in `masterdata show`
    row = next(line for line in shown.splitlines() if precursor["id"] in line)
    assert f"{owner} ({party[owner]})" in row, row
