"""GS1's example documents and the tool's own exports through the `capture` command's own path
(Typer's runner runs the same code as the console script), each into a fresh store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from lxml import etree
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.epcis import documents, json_ld, xml
from factories import document, write

ROOT = Path(__file__).resolve().parents[2]
GS1 = ROOT.parent / "shared" / "conformance" / "epcis" / "gs1"
runner = CliRunner()

# Shipped among GS1's examples but not EPCIS documents (the reason: what the file is).
NOT_DOCUMENTS = {
    f"examples-xml/CaptureJob/{name}.xml": "an EPCISCaptureJob: the REST binding's report on "
    "a capture job (GET /capture/{captureID}), not an EPCIS document"
    for name in (
        "Example-CaptureJobRunning",
        "Example-CaptureJobSuccess",
        "Example-CaptureJobWithErrorFile",
        "Example-CaptureJobWithErrors",
    )
}
# Master data and no events: the vocabulary elements it carries, counted in the file.
MASTER_DATA_ONLY = {
    # a BusinessLocation and a ReadPoint, each with one element (urn:epc:id:sgln:0037000.00729.0)
    "examples-xml/WithFullCombinationOfFields/masterdata_all_possible_fields.xml": 2,
}

# Refused (decision 019): the file names a key twice in one object (counted with the standard
# library's object_pairs_hook in the test below); which one was meant is not ours to guess.
REPEATED_KEYS = {
    # its event 0 states two different eventIDs (a hash ID and a UUID)
    "examples-jsonld/AssociationEvent/AssociationEvent-h.jsonld": "event 0: eventID: key repeated",
}


def _examples() -> list[str]:
    found = sorted(
        str(p.relative_to(GS1))
        for folder in ("examples-jsonld", "examples-xml")
        for p in (GS1 / folder).rglob("*")
        if p.is_file()
    )
    return found or ["(missing)"]


EXAMPLES = _examples()


def _events_in(path: Path) -> int:
    """The events the file holds, counted on its syntax tree (not by our reader)."""
    if path.read_bytes().lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        tree = etree.parse(str(path))
        return len(tree.xpath("//*[local-name()='EventList']/*"))
    body = json.loads(path.read_text())["epcisBody"]
    results = body.get("queryResults")
    return len((results["resultsBody"] if results else body)["eventList"])


def _capture(*paths: Path) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["capture", "--json", *map(str, paths)])
    assert result.exit_code == 0, result.output
    counts: list[dict[str, Any]] = json.loads(result.stdout)
    return counts


def _verified() -> dict[str, Any]:
    result = runner.invoke(app, ["verify", "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["ok"] is True
    return report


@pytest.mark.parametrize("name", sorted(REPEATED_KEYS))
def test_a_gs1_example_with_a_repeated_key_is_refused(
    conformance: Path, env: Path, name: str
) -> None:
    repeated: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        repeated.extend(k for k in set(keys) if keys.count(k) > 1)
        return dict(items)

    json.loads((GS1 / name).read_text(), object_pairs_hook=pairs)
    assert repeated == ["eventID"]
    result = runner.invoke(app, ["capture", "--json", str(GS1 / name)])
    assert result.exit_code == 1
    [counts] = json.loads(result.stdout)
    assert counts["rejected"] and REPEATED_KEYS[name] in counts["error"]
    assert _verified()["entries"] == 0


@pytest.mark.parametrize(
    "name", [n for n in EXAMPLES if n not in NOT_DOCUMENTS and n not in REPEATED_KEYS]
)
def test_every_gs1_example_captures_through_the_cli(
    conformance: Path, env: Path, name: str
) -> None:
    path = GS1 / name
    [counts] = _capture(path)
    events = _events_in(path)
    assert counts["captured"] == events - counts["duplicates"]
    assert counts["master_data_elements"] == MASTER_DATA_ONLY.get(name, 0)
    if name in MASTER_DATA_ONLY:
        assert events == 0
    else:
        assert counts["captured"] >= 1
    assert _verified()["entries"] == counts["captured"]


@pytest.mark.parametrize("name", sorted(NOT_DOCUMENTS))
def test_gs1_files_that_are_not_documents_are_refused_in_one_line(
    conformance: Path, env: Path, name: str
) -> None:
    result = runner.invoke(app, ["capture", str(GS1 / name)])
    assert result.exit_code == 1
    assert "EPCISCaptureJob" in result.stderr and "not an EPCIS document" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_master_data_alone_is_reported(conformance: Path, env: Path) -> None:
    [name] = MASTER_DATA_ONLY
    result = runner.invoke(app, ["capture", str(GS1 / name)])
    assert result.exit_code == 0, result.output
    line = " ".join(result.stdout.split())  # the console wraps long lines
    assert "captured 0, duplicates 0, master data elements 2, ledger at entry 0" in line


def test_a_document_with_neither_events_nor_master_data_is_refused(env: Path) -> None:
    empty = write(env / "empty.jsonld", document([]))
    result = runner.invoke(app, ["capture", str(empty)])
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        "document: has neither events nor master data; nothing to capture"
    )
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("syntax", ["--json", "--xml"])
def test_own_export_captures_back_as_duplicates(env: Path, syntax: str) -> None:
    """`events --json` is an EPCISQueryDocument; `events --xml` writes the extension prefixes
    as ns1, ns2… where the captured documents said bt: the same events either way."""
    counts = _capture(*sorted((ROOT / "examples").glob("0*")))
    stored = sum(c["captured"] for c in counts)
    exported = runner.invoke(app, ["events", syntax, "perPage=1000"])
    assert exported.exit_code == 0, exported.output
    path = env / f"export{syntax.replace('--', '.')}"
    path.write_text(exported.stdout)
    [again] = _capture(path)
    assert (again["captured"], again["duplicates"]) == (0, stored)
    assert _verified()["entries"] == stored


def _other_syntax(path: Path, into: Path) -> Path:
    """The document as our writers put it in the other syntax (XML for JSON-LD and back)."""
    doc = documents.read(path)
    if documents.sniff_syntax(path) == "json":
        out, data = into / f"{path.stem}.xml", xml.write_document(doc)
    else:
        out, data = into / f"{path.stem}.jsonld", orjson.dumps(json_ld.document_to_json(doc))
    out.write_bytes(data)
    return out


@pytest.mark.parametrize(
    "name",
    [n for n in EXAMPLES if n not in NOT_DOCUMENTS | MASTER_DATA_ONLY | REPEATED_KEYS],
)
def test_every_gs1_example_re_sent_in_the_other_syntax_is_all_duplicates(
    conformance: Path, env: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    original = GS1 / name
    other = _other_syntax(original, env)
    [first] = _capture(original)
    [again] = _capture(other)
    assert (again["captured"], again["duplicates"]) == (0, _events_in(original))
    # the other way round, into a fresh store
    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{env / 'reverse.db'}")
    assert runner.invoke(app, ["init"]).exit_code == 0
    [first_other] = _capture(other)
    [again_original] = _capture(original)
    assert first_other["captured"] == first["captured"]
    assert (again_original["captured"], again_original["duplicates"]) == (0, _events_in(original))


def test_an_error_declaration_not_applied_is_a_warning(conformance: Path, env: Path) -> None:
    name = "examples-xml/AssociationEvent/AssociationEventExamples.xml"
    result = runner.invoke(app, ["capture", str(GS1 / name)])
    assert result.exit_code == 0, result.output
    warning = " ".join(result.stderr.split())
    assert warning.startswith("warning")
    assert "1 duplicates carry an errorDeclaration, not applied to the stored event" in warning
