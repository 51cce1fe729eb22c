"""Careless and hostile input (issue 13, points 1 and 3): each is refused by one line that
names the file, the place and the rule, exit 1, no traceback, the store unchanged."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

import batterytrace.cli.ledger as cli_ledger
from batterytrace.cli import app
from batterytrace.json_input import MAX_DEPTH
from batterytrace.services import events
from batterytrace.services.bootstrap import unit_of_work
from factories import document, object_event

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
runner = CliRunner()


@pytest.fixture
def env(env: Path) -> Path:
    """The store of conftest's ``env``, holding examples/01."""
    first = runner.invoke(app, ["capture", str(EXAMPLES / "01-mine-to-sulfate.jsonld")])
    assert first.exit_code == 0, first.output
    return env


def _stored(env: Path) -> int:
    uow = unit_of_work(f"sqlite:///{env / 'cli.db'}", env / "cli.key")
    return sum(n for _, _, n in events.event_counts(uow))


def _refused(env: Path, args: list[str], *needles: str) -> str:
    """Run a command that must refuse: exit 1, one line holding every needle, store unchanged."""
    before = _stored(env)
    result = runner.invoke(app, args)
    lines = [line for line in result.output.splitlines() if not line.startswith("total:")]
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert _stored(env) == before == 9
    return lines[0]


def _event_text(**extra: Any) -> str:
    """One valid event of a document, as JSON text with ``"@X@"`` where ``extra`` goes."""
    return orjson.dumps(document([object_event(1, **extra)])).decode()


def _nested(depth: int) -> str:
    return '{"bt:n": ' * depth + '"x"' + "}" * depth


def _doc_with(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(_event_text(**{"bt:deep": "@X@"}).replace('"@X@"', text))
    return path


@pytest.mark.parametrize("command", ["capture", "hash"])
@pytest.mark.parametrize("depth", [1000, 200])
def test_json_nested_deep_is_refused_with_the_limit(env: Path, command: str, depth: int) -> None:
    # 1000 levels: Python's JSON scanner hit its recursion limit; 200: the readers' recursion
    path = _doc_with(env, "deep.jsonld", _nested(depth))
    _refused(env, [command, str(path)], "deep.jsonld", "event 0", f"nested deeper than {MAX_DEPTH}")


def test_a_bare_nested_document_is_refused(env: Path) -> None:
    path = env / "bare.json"
    path.write_text('{"a": ' * 1000 + "1" + "}" * 1000)
    for command in ("capture", "hash"):
        _refused(env, [command, str(path)], "bare.json", f"nested deeper than {MAX_DEPTH}")


@pytest.mark.parametrize("command", ["capture", "hash"])
def test_xml_nested_deep_is_refused_with_the_limit(env: Path, command: str) -> None:
    text = (EXAMPLES / "02-sulfate-to-cells.xml").read_text()
    cut = text.index("</ObjectEvent>")
    deep = '<bt:d xmlns:bt="https://batterytrace.org/voc/">' * 100 + "x" + "</bt:d>" * 100
    path = env / "deep.xml"
    path.write_text(text[:cut] + deep + text[cut:])
    # the element past the limit: the event at depth 4 (EPCISDocument, EPCISBody, EventList)
    _refused(env, [command, str(path)], "deep.xml", "bt:d", f"nested deeper than {MAX_DEPTH}")


@pytest.mark.parametrize("command", ["capture", "hash"])
def test_an_integer_of_5001_digits_is_refused_with_its_field(env: Path, command: str) -> None:
    quantity = [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": "@X@"}]
    path = env / "big.jsonld"
    path.write_text(_event_text(quantityList=quantity).replace('"@X@"', "1" * 5001))
    _refused(env, [command, str(path)], "big.jsonld", "quantityList[0].quantity", "5,001 digits")


@pytest.mark.parametrize("digits", [5001, 30])
def test_an_xsd_integer_too_large_is_refused(env: Path, digits: int) -> None:
    # 5,001 digits: Python's ValueError; 30: orjson could not store it (TypeError)
    text = (EXAMPLES / "02-sulfate-to-cells.xml").read_text()
    cut = text.index("</ObjectEvent>")
    element = (
        '<bt:n xmlns:bt="https://batterytrace.org/voc/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xsi:type="xsd:integer">'
        + "1" * digits
        + "</bt:n>"
    )
    path = env / "int.xml"
    path.write_text(text[:cut] + element + text[cut:])
    for command in ("capture", "hash"):
        _refused(env, [command, str(path)], "int.xml", "bt:n", "beyond the 64 bits")


@pytest.mark.parametrize(
    ("after", "returned"),
    [([1e300, 1], 1), ([2**63, 1], 1), ([1, 1], -5), ([True, 1], 1)],  # 1e300: OverflowError
)
def test_a_forged_page_token_is_refused(env: Path, after: list[Any], returned: Any) -> None:
    # the token of this very query (no parameter): only its numbers are forged
    query = hashlib.sha256(orjson.dumps({})).hexdigest()[:16]
    forged = {"q": query, "a": after, "n": returned}
    token = base64.urlsafe_b64encode(orjson.dumps(forged)).decode()
    _refused(env, ["events", f"nextPageToken={token}"], "nextPageToken")


def test_a_repeated_key_in_an_event_is_refused_with_its_path(env: Path) -> None:
    # before: the last "action" won, silently (DELETE)
    text = _event_text().replace('"action":"ADD"', '"action":"ADD","action":"DELETE"')
    assert text.count('"action"') == 2
    path = env / "twice.jsonld"
    path.write_text(text)
    for command in ("capture", "hash"):
        _refused(env, [command, str(path)], "twice.jsonld", "event 0: action", "key repeated")


def test_a_repeated_key_deep_in_an_event_or_in_the_header_is_refused(env: Path) -> None:
    quantity = [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 1}]
    text = _event_text(quantityList=quantity).replace('"quantity":1', '"quantity":1,"quantity":2')
    (env / "q.jsonld").write_text(text)
    _refused(env, ["capture", str(env / "q.jsonld")], "q.jsonld", "quantityList[0].quantity")
    header = _event_text().replace('"schemaVersion"', '"type":"EPCISDocument","schemaVersion"')
    (env / "h.jsonld").write_text(header)
    _refused(env, ["capture", str(env / "h.jsonld")], "h.jsonld", "type: key repeated")


def test_repeated_keys_in_import_files_are_refused(env: Path) -> None:
    cases = {
        ("masterdata", "import"): '{"parties": [], "parties": []}',
        ("custody", "import"): '{"origins": [], "policies": [], "origins": []}',
        ("contract", "import"): '{"id": "a", "id": "b"}',
        ("carbon", "import"): '{"activities": [{"site": "x", "site": "y"}]}',
    }
    for (group, command), text in cases.items():
        path = env / f"{group}.json"
        path.write_text(text)
        _refused(env, [group, command, str(path)], f"{group}.json", "key repeated")
    head = env / "head.json"
    head.write_text('{"format": "x", "checkpoint": 1, "format": "y"}')
    _refused(env, ["verify", "--against", str(head)], "head.json", "format: key repeated")
    pact = env / "pact.json"
    pact.write_text('{"id": "a", "pcf": {"declaredUnit": "kg", "declaredUnit": "liter"}}')
    _refused(
        env, ["pact", "import", str(pact), "--product", "urn:epc:class:lgtin:4012345.012345.*"],
        "pact.json", "pcf.declaredUnit: key repeated",
    )  # fmt: skip


def test_an_internal_error_is_one_line_unless_debug_asks(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(cli_ledger, "make_uow", broken)  # `imports`
    result = runner.invoke(app, ["imports"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [
        "internal error: KeyError: 'a bug' (a bug: please report it, with the traceback "
        "BATTERYTRACE_DEBUG=1 shows)"
    ]
    monkeypatch.setenv("BATTERYTRACE_DEBUG", "1")
    assert isinstance(runner.invoke(app, ["imports"]).exception, KeyError)


@pytest.mark.parametrize("raised", [RecursionError("deep"), MemoryError(), OSError(28, "full")])
def test_resource_errors_reaching_the_top_are_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, raised: BaseException
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(cli_ledger, "make_uow", broken)  # `imports`
    result = runner.invoke(app, ["imports"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ")


def test_a_repeated_key_is_found_whatever_the_strings_hold(env: Path) -> None:
    # an escaped quote before a colon in a string, and \\u0022: the key counts still tell
    event = object_event(1, **{"bt:note": 'a": b \u0022: c'})
    text = orjson.dumps(document([event])).decode()
    text = text.replace('"action":"ADD"', '"action" :"ADD" , "action":"ADD"')
    (env / "s.jsonld").write_text(text)
    _refused(env, ["hash", str(env / "s.jsonld")], "s.jsonld", "action: key repeated")
    json.loads(text)  # well-formed JSON: only the repetition is wrong
