"""Size limits (issue 13, point 2): refused before the work they would cost, naming the limit,
its value and the variable that changes it; each limit changed both ways by its variable."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from batterytrace import limits
from batterytrace.carbon.footprint import rollup
from batterytrace.cli import app
from batterytrace.epcis import documents
from batterytrace.epcis.vocab import BIZ_STEP
from batterytrace.errors import FootprintError, InvalidDocument, InvalidIdentifier, SettingError
from batterytrace.identifiers import to_digital_link, validate_identifier
from batterytrace.limits import DRAWS, EVENT_SIZE, EXTENSION_VALUE, IDENTIFIER
from batterytrace.settings import Settings
from batterytrace.store.patterns import like_pattern
from carbon_chain import PACK, chain, interval_of
from factories import document, object_event, write

runner = CliRunner()
MB = 1_000_000


@pytest.fixture(autouse=True)
def _defaults() -> Iterator[None]:
    yield
    limits.configure({})  # the limits a test sets do not outlive it


def _set(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """Set a limit's variable and read the settings again, as an entry point does."""
    monkeypatch.setenv(name, value)
    limits.configure(Settings().limits)


def long_epc(size: int) -> str:
    """An SGTIN URN whose serial makes it ``size`` characters long."""
    head = "urn:epc:id:sgtin:6111111.000101."
    return head + "A" * (size - len(head))


def test_a_3_mb_epc_is_refused_by_its_length_without_matching_it() -> None:
    epc = long_epc(3 * MB)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidIdentifier) as refused:
            validate_identifier(epc)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(refused.value)
    assert message.endswith(
        ": 3,000,000 characters, more than the limit of 2,048 for an identifier or URI "
        "(set BATTERYTRACE_MAX_IDENTIFIER_LENGTH to change it)"
    )
    assert len(message) < 400  # the identifier is shown cut short
    # The old code matched the whole serial against CSET 82 first (hundreds of MB for 5 MB).
    assert peak < 100_000


@pytest.mark.parametrize("check", [validate_identifier, to_digital_link, like_pattern])
def test_every_entry_point_checks_the_length_first(check: object) -> None:
    link = "https://id.gs1.org/01/09506000134352/21/" + "x" * 3000
    with pytest.raises(InvalidIdentifier, match="BATTERYTRACE_MAX_IDENTIFIER_LENGTH"):
        check(link)  # type: ignore[operator]


def test_the_identifier_limit_is_changed_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    uri = "urn:x:" + "a" * 394  # 400 characters: a URI that is no GS1 key passes as it is
    assert IDENTIFIER.over(400) is None
    validate_identifier(uri)
    _set(monkeypatch, "BATTERYTRACE_MAX_IDENTIFIER_LENGTH", "300")
    with pytest.raises(InvalidIdentifier, match="400 characters, more than the limit of 300 "):
        validate_identifier(uri)
    longer = "urn:x:" + "a" * 2994
    _set(monkeypatch, "BATTERYTRACE_MAX_IDENTIFIER_LENGTH", "10_000")
    validate_identifier(longer)
    monkeypatch.delenv("BATTERYTRACE_MAX_IDENTIFIER_LENGTH")
    limits.configure(Settings().limits)
    with pytest.raises(InvalidIdentifier, match="3,000 characters, more than the limit of 2,048"):
        validate_identifier(longer)


@pytest.mark.parametrize("raw", ["many", "-5", "100"])
def test_a_limit_set_to_nonsense_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("BATTERYTRACE_MAX_IDENTIFIER_LENGTH", raw)
    with pytest.raises(SettingError) as refused:
        Settings()
    assert str(refused.value) == (
        f"BATTERYTRACE_MAX_IDENTIFIER_LENGTH: {raw!r} is not a whole number of characters "
        "of at least 256"
    )


def test_a_cbv_value_is_refused_by_its_length() -> None:
    with pytest.raises(ValueError, match="5,000 characters, more than the limit of 2,048"):
        BIZ_STEP.normalise("https://example.org/" + "s" * 4980)


def test_identifier_fields_of_events_are_refused_by_length_before_syntax(tmp_path: Path) -> None:
    # Whitespace makes it no URI at all; the length is what the error names.
    spaced = {"id": "urn:x:" + "a b" * 1000}
    event = object_event(1, readPoint=spaced, eventID="urn:x:" + "e" * 3000)
    path = write(tmp_path / "long.jsonld", document([event]))
    with pytest.raises(InvalidDocument) as refused:
        documents.read(path)
    assert str(refused.value).startswith(
        "event 0 (urn:x:eee"
    ) and "eventID: 3,006 characters, more than the limit of 2,048" in str(refused.value)
    event = object_event(1, readPoint={"id": "urn:x:" + "a b" * 1000})
    path = write(tmp_path / "long.jsonld", document([event]))
    with pytest.raises(InvalidDocument, match=r"readPoint\.id: 3,006 characters, more than"):
        documents.read(path)


def _with_note(tmp_path: Path, size: int, where: str = "top") -> Path:
    note = "n" * size
    if where == "top":
        event = object_event(1, **{"bt:note": note})
    else:
        event = object_event(1, ilmd={"bt:lab": {"bt:note": note}})
    return write(tmp_path / f"note-{where}.jsonld", document([event]))


def test_an_extension_value_over_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = EXTENSION_VALUE.default
    assert limit == 65_536
    assert documents.read(_with_note(tmp_path, limit)).events[0].extensions[0].value == "n" * limit
    with pytest.raises(InvalidDocument) as refused:
        documents.read(_with_note(tmp_path, limit + 1))
    assert str(refused.value) == (
        "event 0 (urn:uuid:00000000-0000-0000-0000-000000000001): note: 65,537 characters, "
        "more than the limit of 65,536 for an extension value "
        "(set BATTERYTRACE_MAX_EXTENSION_LENGTH to change it)"
    )
    with pytest.raises(InvalidDocument, match=r": ilmd\.lab\.note: 65,537 characters"):
        documents.read(_with_note(tmp_path, limit + 1, "ilmd"))
    _set(monkeypatch, "BATTERYTRACE_MAX_EXTENSION_LENGTH", "100000")
    documents.read(_with_note(tmp_path, limit + 1))
    _set(monkeypatch, "BATTERYTRACE_MAX_EXTENSION_LENGTH", "2000")
    with pytest.raises(InvalidDocument, match="2,001 characters, more than the limit of 2,000 "):
        documents.read(_with_note(tmp_path, 2001))


def test_an_extension_value_in_xml_obeys_the_same_limit(tmp_path: Path) -> None:
    xml = (
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" '
        'xmlns:ex="https://ns.example.com/" schemaVersion="2.0" '
        'creationDate="2024-05-01T10:00:00Z"><EPCISBody><EventList><ObjectEvent>'
        "<eventTime>2024-05-01T08:00:00.000+02:00</eventTime>"
        "<eventTimeZoneOffset>+02:00</eventTimeZoneOffset>"
        "<epcList><epc>urn:epc:id:sgtin:0614141.107346.2017</epc></epcList>"
        f"<action>OBSERVE</action><ex:note>{'n' * 70_000}</ex:note>"
        "</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    )
    path = tmp_path / "note.xml"
    path.write_text(xml)
    with pytest.raises(InvalidDocument, match=r"^event 0: note: 70,000 characters, more than"):
        documents.read(path)


def test_an_event_over_the_size_limit_is_refused_before_it_is_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, big = object_event(1), object_event(2, **{"bt:note": "n" * 100_000})
    path = write(tmp_path / "big.jsonld", document([small, big]))
    size = len(orjson.dumps(big))  # as write() dumps it
    decoded: list[object] = []
    real = documents.json_ld.event_at
    monkeypatch.setattr(documents.json_ld, "event_at", lambda *a: decoded.append(a[0]) or real(*a))
    _set(monkeypatch, "BATTERYTRACE_MAX_EVENT_SIZE", "70000")
    _set(monkeypatch, "BATTERYTRACE_MAX_EXTENSION_LENGTH", "200000")
    with pytest.raises(InvalidDocument) as refused:
        list(documents.stream(path).events)
    assert str(refused.value) == (
        f"event 1: {size:,} characters of JSON, more than the limit of 70,000 for one event "
        "(set BATTERYTRACE_MAX_EVENT_SIZE to change it)"
    )
    assert decoded == [0]  # the first event only
    _set(monkeypatch, "BATTERYTRACE_MAX_EVENT_SIZE", str(size))
    assert len(documents.read(path).events) == 2


def test_an_event_larger_than_the_buffer_is_refused_as_soon_as_it_passes_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert EVENT_SIZE.default == 16 * 1_048_576
    _set(monkeypatch, "BATTERYTRACE_MAX_EVENT_SIZE", "100000")
    path = write(tmp_path / "huge.jsonld", document([object_event(1, **{"bt:n": "n" * 3 * MB})]))
    with pytest.raises(InvalidDocument, match=r"^event 0: at least [0-9,]+ characters of JSON"):
        list(documents.stream(path).items)


def test_capture_refuses_a_3_mb_read_point_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATTERYTRACE_DB", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("BATTERYTRACE_KEY", str(tmp_path / "cli.key"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    event = object_event(1, readPoint={"id": "urn:epc:id:sgln:6111111.00001." + "x" * 3 * MB})
    path = write(tmp_path / "rp.jsonld", document([event]))
    result = runner.invoke(app, ["capture", str(path)])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert "readPoint.id: 3,000,030 characters, more than the limit of 2,048" in line
    assert "BATTERYTRACE_MAX_IDENTIFIER_LENGTH" in line
    events = json.loads(runner.invoke(app, ["events", "--json"]).stdout)
    assert events["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []


def test_draws_over_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    result = rollup(chain())
    assert DRAWS.default == 1_000_000
    with pytest.raises(FootprintError) as refused:
        interval_of(result, PACK, 100_000_000)
    assert str(refused.value) == (
        "draws: 100,000,000 draws, more than the limit of 1,000,000 for Monte Carlo draws "
        "(set BATTERYTRACE_MAX_DRAWS to change it)"
    )
    _set(monkeypatch, "BATTERYTRACE_MAX_DRAWS", "1000")
    with pytest.raises(FootprintError, match="1,001 draws, more than the limit of 1,000 "):
        interval_of(result, PACK, 1001)
    assert interval_of(result, PACK, 1000).draws == 1000


def test_draws_in_blocks_give_the_interval_of_one_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    result = rollup(chain())
    whole = interval_of(result, PACK, 5000, seed=3)
    monkeypatch.setattr("batterytrace.carbon.uncertainty._BLOCK", 777)
    assert interval_of(result, PACK, 5000, seed=3) == whole


def test_footprint_refuses_too_many_draws_before_any_work(tmp_path: Path) -> None:
    # No store at all: the draws are refused before the store is opened.
    env = {"BATTERYTRACE_DB": f"sqlite:///{tmp_path / 'none.db'}"}
    result = runner.invoke(app, ["footprint", PACK, "--draws", "100000000"], env=env)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: draws: 100,000,000 draws, more than the limit of 1,000,000 for Monte Carlo "
        "draws (set BATTERYTRACE_MAX_DRAWS to change it)"
    )
    assert not (tmp_path / "none.db").exists()
