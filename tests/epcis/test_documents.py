"""Streaming reads equal whole reads at any buffer size; readers fail only with one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batterytrace.epcis import documents, json_ld
from batterytrace.epcis.documents import parse_bytes, read
from batterytrace.epcis.model import Document
from batterytrace.epcis.timestamps import format_timestamp, local_time, parse_timestamp
from batterytrace.epcis.xml import read_document
from batterytrace.errors import BatteryTraceError, InvalidDocument
from batterytrace.periods import Period
from factories import CONTEXT, document, object_event

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("0*"))

events_strategy = st.lists(
    st.builds(
        object_event,
        st.integers(1, 10**6),
        bizStep=st.sampled_from(["shipping", "urn:epcglobal:cbv:bizstep:receiving", None]),
        ilmd=st.none() | st.just({"bt:note": 'x\u00e9\u20ac"\\ y', "bt:n": 1.5e-7}),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=events_strategy,
    chunk=st.integers(1, 400),
    indent=st.sampled_from([None, 1, 4]),
    header_last=st.booleans(),
)
def test_streaming_equals_whole_document_at_any_buffer_size(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    events: list,
    chunk: int,
    indent: int | None,
    header_last: bool,
) -> None:
    doc = document(events)
    if header_last:  # the header after the body still streams (first pass reads it)
        doc = {"epcisBody": doc.pop("epcisBody"), **doc}
    path = tmp_path / "d.jsonld"
    path.write_text(json.dumps(doc, indent=indent, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(documents, "_CHUNK", chunk)
    streamed = read(path)
    whole = json_ld.document_from_json(doc)
    assert streamed == whole


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_stream_and_parse_bytes_agree_on_the_examples(path: Path) -> None:
    assert read(path) == parse_bytes(path.read_bytes())


@pytest.mark.parametrize(
    "name",
    [
        "epcis/gs1/examples-jsonld/EPCISQueryDocument.jsonld",
        "epcis-hash/examples/epcisQueryDocHavingEventWithIgnoreFields.jsonld",
        "epcis-hash/examples/epcisXmlQueryDocHavingEventWithIgnoreFields.xml",
        "epcis/gs1/examples-xml/WithFullCombinationOfFields/masterdata_all_possible_fields.xml",
    ],
)
def test_query_documents_and_extensions_stream_like_whole_reads(
    conformance: Path, name: str
) -> None:
    path = conformance / name
    streamed = read(path, check=False)
    assert streamed == parse_bytes_unchecked(path)
    assert streamed.queryName == "SimpleEventQuery" or "masterdata" in name
    if "IgnoreFields" in name:
        assert {e.name for e in streamed.extensions} == {"ignoreFields"}


def parse_bytes_unchecked(path: Path) -> Document:
    if path.suffix == ".xml":
        return read_document(path.read_bytes())
    return json_ld.document_from_json(json.loads(path.read_bytes()))


def test_trailing_garbage_and_truncation_are_named(tmp_path: Path) -> None:
    text = orjson.dumps(document([object_event(1)]))
    (tmp_path / "tail.json").write_bytes(text + b" {}")
    with pytest.raises(InvalidDocument, match="unexpected data after the document"):
        read(tmp_path / "tail.json")
    (tmp_path / "cut.json").write_bytes(text[:-30])
    with pytest.raises(InvalidDocument, match="JSON not well-formed"):
        read(tmp_path / "cut.json")


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.text(max_size=8) | st.integers(),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=5),
    max_leaves=20,
)
FIELDS = (
    "type", "epcList", "quantityList", "readPoint", "bizStep", "eventTime", "ilmd",
    "sensorElementList", "bizTransactionList", "persistentDisposition", "bt:x",
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_in_an_event_fails_cleanly(value: object) -> None:
    """Whatever a field holds, the reader and rules raise our one-line error or accept it."""
    for field in FIELDS:
        body = json.dumps(document([object_event(1, **{field: value})])).encode()
        try:
            parse_bytes(body)
        except BatteryTraceError as exc:
            assert "\n" not in str(exc)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_fail_cleanly(data: bytes) -> None:
    try:
        parse_bytes(data)
    except BatteryTraceError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="<>/=\"' abcEPCISDocumentObjectEvent:xmlns", max_size=120))
def test_xml_like_text_fails_cleanly(text: str) -> None:
    try:
        read_document(text.encode())
    except BatteryTraceError as exc:
        assert "\n" not in str(exc)


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(-14 * 60, 14 * 60),
)
def test_timestamps_round_trip(moment: datetime, offset_minutes: int) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    value = moment.replace(tzinfo=zone)
    text = format_timestamp(value)
    assert parse_timestamp(text, "t") == value
    assert parse_timestamp(text, "t").utcoffset() == value.utcoffset()


def test_nanosecond_timestamps_round_to_microseconds() -> None:
    parsed = parse_timestamp("2025-03-01T10:00:00.1234565Z", "t")
    assert parsed == datetime(2025, 3, 1, 10, 0, 0, 123457, tzinfo=UTC)


def test_context_prefixes_come_from_the_document() -> None:
    doc = json_ld.document_from_json(document([object_event(1, **{"bt:grade": "battery"})]))
    ext = doc.events[0].extensions[0]
    assert (ext.namespace, ext.name, ext.value) == (CONTEXT[1]["bt"], "grade", "battery")


def test_local_time_places_an_event_in_its_own_period() -> None:
    """The one period rule of custody and carbon (decision 014): 23:30 on New Year's Eve in
    New York (-05:00) is 04:30 on 1 January in UTC, and December, Q4 and 2025 where it happened."""
    moment = parse_timestamp("2026-01-01T04:30:00Z", "eventTime")
    local = local_time(moment, "-05:00")
    assert local == moment and local.isoformat() == "2025-12-31T23:30:00-05:00"
    assert [p.label(p.number(local)) for p in Period] == ["2025-12", "2025-Q4", "2025"]
    assert local_time(moment, "+14:00").isoformat() == "2026-01-01T18:30:00+14:00"
    assert local_time(moment, "-00:30").isoformat() == "2026-01-01T04:00:00-00:30"
