"""What the command prints into files and pipes (issue 13, points 9 and 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batterytrace.cli import app

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


def _readme_commands(*names: str) -> list[list[str]]:
    """The README's command-line lines of these commands, optional ``[...]`` parts and comments
    left out, split as the shell would (no quoting in them)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Command line", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    found = []
    for line in block.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] == ["batterytrace"] and words[1] in names:
            found.append([w for w in words[1:] if not w.startswith("[") and not w.endswith("]")])
    return found


def test_readme_examples_run_as_printed_against_the_examples(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the README names examples/ relative to the checkout
    commands = _readme_commands("events", "hash", "trace", "check", "verify", "imports")
    assert len(commands) >= 9
    for args in commands:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert result.stdout.strip(), args
        if any(a.startswith("MATCH_") for a in args):
            assert not result.stdout.rstrip().endswith(" 0 events"), result.stdout
            assert result.stdout.rstrip().splitlines()[-1].split()[0] != "0"


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
    from batterytrace.epcis.model import Document
    from batterytrace.repository import Repository
    from factories import CUSTODY_RULES, T0, custody_chain, custody_sites, write

    env = {"BATTERYTRACE_DB": f"sqlite:///{tmp_path / 'c.db'}",
           "BATTERYTRACE_KEY": str(tmp_path / "c.key")}  # fmt: skip
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    repo = Repository(env["BATTERYTRACE_DB"], Path(env["BATTERYTRACE_KEY"]))
    repo.import_master_data(custody_sites(), "test")  # the pCAM plant is named "precursor"
    rules = write(tmp_path / "rules.json", CUSTODY_RULES)
    assert runner.invoke(app, ["custody", "import", str(rules)], env=env).exit_code == 0
    repo.capture_document(Document(creationDate=T0, events=custody_chain()))
    table = runner.invoke(app, ["custody", "balance"], env=env).stdout
    rows = [line for line in table.splitlines() if "2025-Q1" in line]
    assert rows and all("(precursor)" in line for line in rows), table
