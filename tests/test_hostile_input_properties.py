"""Every reader and import format, fed random and mutated input, raises nothing but the
project's own errors (issue 13, point 1): real inputs (examples/, GS1's conformance documents,
the scenario's import files) with bytes flipped, cut short, keys repeated or dropped, values
swapped for deep nesting, huge integers, NaN and Infinity."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from batterytrace import identifiers, json_input
from batterytrace.carbon import activity, factors, pact
from batterytrace.contracts.agreement import Agreement
from batterytrace.custody.rules import CustodyRules
from batterytrace.epcis import documents
from batterytrace.errors import BatteryTraceError
from batterytrace.masterdata import MasterData
from batterytrace.scenario import generator
from batterytrace.store import patterns
from batterytrace.store.query import SimpleEventQuery

ROOT = Path(__file__).resolve().parents[1]
GS1 = ROOT.parent / "shared" / "conformance" / "epcis" / "gs1"
SEEDS = [p.read_bytes() for p in sorted((ROOT / "examples").glob("0*"))] + [
    p.read_bytes()
    for folder in ("examples-jsonld", "examples-xml")
    for p in sorted((GS1 / folder).rglob("*"))[:6]
    if p.is_file()
]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values that broke a reader before (decision 019).
HOSTILE = [
    b"[" * 1000 + b"]" * 1000,
    b'{"a":' * 1000 + b"1" + b"}" * 1000,
    b"1" * 5001,
    b"NaN",
    b"-Infinity",
    b"1e999",
    b'{"k": 1, "k": 2}',
    b'"\xff\xfe"',
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with a few bytes flipped, a piece cut, a hostile value put in, or a key copied."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "repeat"]))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(HOSTILE))
        else:  # a key and its value written again after itself
            start = data.find(b'"', at)
            end = data.find(b",", start)
            if 0 <= start < end:
                data[end:end] = b"," + data[start:end]
    return bytes(data)


def _only_our_errors(fn: Callable[[], object]) -> None:
    with contextlib.suppress(BatteryTraceError):  # anything else fails the test
        fn()


@SETTINGS
@given(mutated(SEEDS))
@example(b'{"@context": [], "type": "EPCISDocument", "a": ' + b"[" * 1000 + b"]" * 1000 + b"}")
@example(b'{\x80 "type": "EPCISDocument"}')  # UnicodeDecodeError from the stream before
@example(b"<a>" * 300 + b"</a>" * 300)
@example(
    b'<EPCISDocument xmlns:x="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    b'<EPCISBody><EventList><ObjectEvent><x:n xsi:type="xsd:integer">'
    + b"1" * 5001
    + b"</x:n></ObjectEvent></EventList></EPCISBody></EPCISDocument>"
)
def test_document_readers_raise_only_our_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc"
        path.write_bytes(data)
        _only_our_errors(lambda: documents.read(path))
        _only_our_errors(lambda: documents.hashes(path))
        _only_our_errors(lambda: list(documents.stream(path).events))
    _only_our_errors(lambda: documents.parse_bytes(data))


@SETTINGS
@given(
    st.one_of(st.binary(max_size=300), st.sampled_from(HOSTILE), mutated([b'{"a": [1, 2.5, "x"]}']))
)
def test_json_input_raises_only_our_errors(data: bytes) -> None:
    _only_our_errors(lambda: json_input.loads(data, "f", BatteryTraceError))


@SETTINGS
@given(st.one_of(st.text(max_size=80), st.sampled_from([
    "urn:epc:id:sgtin:4012345.011111.987", "https://id.gs1.org/01/09520123456788/21/12345",
    "urn:epc:class:lgtin:4012345.012345.*", "urn:epc:id:sgln:4012345.00001.0",
])).map(lambda s: s[: len(s) // 2] + "\x00" + s[len(s) // 2 :] if len(s) % 3 else s))  # fmt: skip
def test_identifier_parsers_raise_only_our_errors(text: str) -> None:
    for parse in (identifiers.validate_identifier, identifiers.to_digital_link,
                  patterns.like_pattern, patterns.class_like_patterns,
                  identifiers.parent_location, identifiers.gtin_of):  # fmt: skip
        _only_our_errors(lambda: parse(text))  # noqa: B023
    _only_our_errors(lambda: identifiers.epc_urn(text, None))


PARAMS = ["eventType", "GE_eventTime", "LT_recordTime", "EQ_action", "EQ_bizStep", "MATCH_anyEPC",
          "MATCH_epcClass", "EQ_readPoint", "WD_bizLocation", "perPage", "nextPageToken",
          "eventCountLimit", "maxEventCount", "orderBy", "orderDirection", "EQ_eventID",
          "GE_quantity", "EQ_bizTransaction_po", "EQ_INNER_ILMD_bt_x",
          "EXISTS_errorDeclaration"]  # fmt: skip


@SETTINGS
@given(st.dictionaries(
    st.one_of(st.sampled_from(PARAMS), st.text(max_size=20)),
    st.one_of(st.text(max_size=30), st.lists(st.text(max_size=20), max_size=3),
              st.sampled_from(["1" * 5001, "9" * 30, "-1", "nan", "1e999", "2025-13-40T00:00Z"])),
    max_size=4,
))  # fmt: skip
def test_query_parameters_raise_only_our_errors(params: dict[str, Any]) -> None:
    _only_our_errors(lambda: SimpleEventQuery(params))


def _seed_imports() -> dict[str, bytes]:
    return {
        "masterdata": orjson.dumps(generator.master_data().to_json()),
        "contract": orjson.dumps(generator.contract(0.001)),
        "custody": orjson.dumps(generator.custody_rules()),
        "carbon": orjson.dumps(generator.carbon_model(0.001)),
        "pact": b'{"id": "3f1c0c44-0b3a-4a8e-9a6f-0d6b2f1f5a11", "specVersion": "2.2.0", '
        b'"companyName": "x", "pcf": {"declaredUnit": "kilogram", "unitaryProductAmount": "1", '
        b'"pCfExcludingBiogenic": "2.5", "referencePeriodStart": "2024-01-01T00:00:00Z"}}',
    }


IMPORTS = _seed_imports()
READERS: dict[str, Callable[[Any], object]] = {
    "masterdata": MasterData.from_json,
    "contract": Agreement.from_json,
    "custody": CustodyRules.from_json,
    "carbon": activity.from_json,
    "pact": pact.read,
}


@pytest.mark.parametrize("kind", sorted(READERS))
def test_import_formats_raise_only_our_errors(kind: str) -> None:
    @SETTINGS
    @given(mutated([IMPORTS[kind]]))
    def check(data: bytes) -> None:
        def read() -> object:
            value = json_input.loads(data, kind, BatteryTraceError)
            if not isinstance(value, dict):
                raise BatteryTraceError("not an object")  # what the CLI's import says
            return READERS[kind](value)

        _only_our_errors(read)

    check()


CSV_SEEDS = [
    b"id,name,kind,mode,unit,kgco2e_per_unit,geography,year,gsd,low,high,source\n"
    b"diesel,Diesel,fuel,,L,2.7,GLO,2024,1.1,,,x\n",
    b"site,period,kind,factor,amount,unit\nurn:epc:id:sgln:6111111.00001.0,2025-01,fuel,diesel,10,L\n",
]


@SETTINGS
@given(mutated(CSV_SEEDS))
def test_csv_import_formats_raise_only_our_errors(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    _only_our_errors(lambda: factors.read_csv(text, "mine", "1"))
    _only_our_errors(lambda: activity.from_csv(text, "a.csv"))
    _only_our_errors(lambda: MasterData.from_csv({"parties": text, "sites": text}))
