"""Capture: atomic, idempotent, recordTime set by the store; bad input changes nothing."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psutil
import pytest
from sqlalchemy import func, select

from batterytrace.epcis import documents, json_ld, xml
from batterytrace.epcis.hash import event_hash
from batterytrace.epcis.json_ld import event_from_json
from batterytrace.epcis.model import Document
from batterytrace.errors import DuplicateEventConflict, InvalidDocument, StoreError
from batterytrace.services import events as events_service
from batterytrace.services import ledger
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import events, schema
from factories import broken_workers, document, object_event, write


def _counts(uow: UnitOfWork) -> tuple[int, int, int, int]:
    with uow.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (schema.event, schema.event_key, schema.capture, schema.checkpoint)
        )


def test_capture_stores_every_event_and_a_signed_checkpoint(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    path = write(tmp_path / "d.jsonld", document([object_event(n) for n in range(1, 6)]))
    result = events_service.capture(uow, path)
    assert (result.captured, result.duplicates) == (5, 0)
    assert result.head_seq == 5
    events, keys, captures, checkpoints = _counts(uow)
    assert (events, captures, checkpoints) == (5, 1, 1)
    assert keys == 5  # one epcClass key per event
    assert ledger.verify(uow).ok


def test_recapture_is_idempotent_and_reports_duplicates(uow: UnitOfWork, tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonld", document([object_event(n) for n in range(1, 4)]))
    events_service.capture(uow, path)
    again = events_service.capture(uow, path)
    assert (again.captured, again.duplicates) == (0, 3)
    assert _counts(uow)[0] == 3
    # a document repeating one event inside itself: the second copy is a duplicate
    twice = write(tmp_path / "t.jsonld", document([object_event(9), object_event(9)]))
    result = events_service.capture(uow, twice)
    assert (result.captured, result.duplicates) == (1, 1)


def test_event_without_event_id_is_identified_by_its_hash(uow: UnitOfWork, tmp_path: Path) -> None:
    event = object_event(1, eventID=None)
    path = write(tmp_path / "d.jsonld", document([event]))
    events_service.capture(uow, path)
    page = events_service.query(uow, {"EQ_eventID": event_hash(event_from_json(event, {}))})
    assert len(page.events) == 1
    assert events_service.capture(uow, path).duplicates == 1


def test_same_event_id_with_other_content_rejects_the_whole_capture(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    events_service.capture(uow, write(tmp_path / "a.jsonld", document([object_event(1)])))
    before = _counts(uow)
    changed = object_event(1, bizStep="shipping")
    doc = document([object_event(2), changed])
    with pytest.raises(DuplicateEventConflict, match=r"event urn:uuid:\S+: eventID already stored"):
        events_service.capture(uow, write(tmp_path / "b.jsonld", doc))
    assert _counts(uow) == before


def test_record_time_is_set_by_the_store(uow: UnitOfWork, tmp_path: Path) -> None:
    event = object_event(1, recordTime="2001-01-01T00:00:00Z")
    before = datetime.now(UTC)
    events_service.capture(uow, write(tmp_path / "d.jsonld", document([event])))
    stored = events_service.query(uow, {}).events[0]
    assert stored.recordTime is not None
    assert (
        before - timedelta(seconds=1)
        <= stored.recordTime
        <= datetime.now(UTC) + timedelta(seconds=1)
    )


def test_stored_event_reads_back_equal_apart_from_record_time(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    event = object_event(
        1,
        ilmd={"bt:cobaltMassFraction": 0.0112, "cbvmda:countryOfOrigin": "MA"},
        **{"bt:assay": {"bt:method": "ICP-OES", "bt:lab": "Guemassa"}},
    )
    events_service.capture(uow, write(tmp_path / "d.jsonld", document([event])))
    stored = events_service.query(uow, {}).events[0]
    original = event_from_json(event, {"bt": "https://batterytrace.org/voc/"})
    assert stored.recordTime is not None
    assert stored == dataclasses.replace(original, recordTime=stored.recordTime)


BAD_DOCUMENTS = {
    "malformed JSON": (b'{"type": "EPCISDocument", "epcisBody": {', "JSON not well-formed"),
    "malformed XML": (
        b"<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:2'><EPCISBody>",
        "XML",
    ),
    "JSON of the wrong shape": (b'{"hello": "world"}', "type"),
    "JSON array": (b"[1, 2, 3]", "document: must be a JSON object"),
}


@pytest.mark.parametrize("name", BAD_DOCUMENTS)
def test_malformed_documents_are_rejected(uow: UnitOfWork, tmp_path: Path, name: str) -> None:
    data, message = BAD_DOCUMENTS[name]
    path = tmp_path / "bad"
    path.write_bytes(data)
    before = _counts(uow)
    with pytest.raises(InvalidDocument, match=message) as info:
        events_service.capture(uow, path)
    assert "\n" not in str(info.value)
    assert _counts(uow) == before


BAD_EVENTS = {
    "unknown event type": (
        {"type": "MiningEvent"},
        "type: 'MiningEvent' is not an EPCIS 2.0 event type",
    ),
    "timestamp without zone": (
        {"eventTime": "2025-01-02T08:00:00"},
        "eventTime: '2025-01-02T08:00:00' is not",
    ),
    "timestamp as date": ({"eventTime": "02/01/2025"}, "eventTime: '02/01/2025' is not"),
    "offset out of range": (
        {"eventTimeZoneOffset": "+15:00"},
        "eventTimeZoneOffset: '\\+15:00' is not",
    ),
    "offset without colon": ({"eventTimeZoneOffset": "+0100"}, "eventTimeZoneOffset"),
    "malformed EPC URI": (
        {
            "quantityList": [
                {"epcClass": "urn:epc:class:lgtin:6111111.ORE", "quantity": 1, "uom": "KGM"}
            ]
        },
        r"quantityList\[0\].epcClass",
    ),
    "digital link with a bad check digit": (
        {"quantityList": [], "epcList": ["https://id.gs1.org/01/09520123456789/21/1"]},
        r"epcList\[0\].*check digit",
    ),
    "negative quantity": (
        {
            "quantityList": [
                {"epcClass": "urn:epc:class:lgtin:6111111.000001.A", "quantity": -5, "uom": "KGM"}
            ]
        },
        r"quantityList\[0\].quantity: -5.0 must not be negative",
    ),
    "non-numeric quantity": (
        {
            "quantityList": [
                {
                    "epcClass": "urn:epc:class:lgtin:6111111.000001.A",
                    "quantity": "5 t",
                    "uom": "KGM",
                }
            ]
        },
        r"quantityList\[0\].quantity: must be a number",
    ),
    "unknown unit code": (
        {
            "quantityList": [
                {"epcClass": "urn:epc:class:lgtin:6111111.000001.A", "quantity": 5, "uom": "KILO"}
            ]
        },
        r"quantityList\[0\].uom: 'KILO' is not a known UN/CEFACT",
    ),
    "non-CBV bizStep": ({"bizStep": "mining"}, "bizStep: 'mining' is neither a CBV bizStep term"),
    "un-namespaced extension": ({"cobalt": 1}, "cobalt: not an EPCIS 2.0 field"),
    "NUL in a term": ({"bizStep": "ship\x00ping"}, r"bizStep: a NUL character \(U\+0000\)"),
    "NUL in an extension's name": (
        {"bt:a\x00": 1},
        r"bt:a\\x00: a NUL character .* \(in the key\)",
    ),
    "before year 1 on its own clock": (
        {"eventTime": "0001-01-01T03:00:00.000Z", "eventTimeZoneOffset": "-12:00"},
        "eventTime: falls outside the years 1 to 9999 on the clock of its eventTimeZoneOffset",
    ),
}


@pytest.mark.parametrize("name", BAD_EVENTS)
def test_bad_events_are_rejected_naming_event_field_and_rule(
    uow: UnitOfWork, tmp_path: Path, name: str
) -> None:
    fields, message = BAD_EVENTS[name]
    events = [object_event(1), object_event(2), object_event(3, **fields)]
    path = write(tmp_path / "d.jsonld", document(events))
    before = _counts(uow)
    with pytest.raises(InvalidDocument) as info:
        events_service.capture(uow, path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"event 2 ({events[2].get('eventID')}): ")
    assert re.search(message, text), text
    assert _counts(uow) == before


def test_document_without_events_or_master_data_is_rejected(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    with pytest.raises(InvalidDocument, match="neither events nor master data"):
        events_service.capture(uow, write(tmp_path / "d.jsonld", document([])))
    assert _counts(uow) == (0, 0, 0, 0)


def test_capture_needs_an_initialised_store(tmp_path: Path) -> None:
    uow = unit_of_work(f"sqlite:///{tmp_path / 'none.db'}", tmp_path / "k")
    with pytest.raises(StoreError, match="run `batterytrace init`"):
        events_service.capture(uow, write(tmp_path / "d.jsonld", document([object_event(1)])))


def test_capture_of_a_parsed_document(uow: UnitOfWork) -> None:
    doc = json_ld.document_from_json(document([object_event(n) for n in range(1, 4)]))
    result = events_service.capture_document(uow, doc)
    assert (result.captured, result.duplicates) == (3, 0)
    assert events_service.count(uow, {"eventType": "ObjectEvent"}) == 3
    negative = [{"epcClass": "urn:epc:class:lgtin:6111111.000001.A", "quantity": -5, "uom": "KGM"}]
    bad = json_ld.document_from_json(document([object_event(9, quantityList=negative)]))
    with pytest.raises(InvalidDocument, match="must not be negative"):
        events_service.capture_document(uow, bad)  # the rules run on parsed documents too
    assert events_service.count(uow, {}) == 3


def test_capture_survives_workers_that_cannot_start(tmp_path: Path) -> None:
    """Code piped to ``python -`` has a main module spawned workers cannot re-import: the
    capture then prepares the events itself, and stores all of them."""
    source = write(tmp_path / "big.jsonld", document([object_event(n) for n in range(1, 4501)]))
    script = (
        "from pathlib import Path\n"
        "from batterytrace.services import events, ledger\n"
        "from batterytrace.services.bootstrap import unit_of_work\n"
        f"uow = unit_of_work('sqlite:///{tmp_path / 'piped.db'}', Path('{tmp_path / 'k'}'))\n"
        "ledger.init(uow)\n"
        f"print(events.capture(uow, Path('{source}')).captured)\n"
    )
    done = subprocess.run(
        [sys.executable, "-"], input=script, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "4500"


def test_a_capture_without_its_workers_says_so(
    uow: UnitOfWork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "d.jsonld", document([object_event(n) for n in range(1, 8)]))
    broken_workers(monkeypatch)
    two = unit_of_work(uow.url, uow.key_path)  # its settings read with BATTERYTRACE_WORKERS=2
    result = events_service.capture(two, source)
    assert result.captured == 7
    assert result.fallback is not None
    assert "prepared in this process" in result.fallback
    assert "a worker died before it started" in result.fallback
    monkeypatch.setattr(events, "BATCH", 2000)  # one batch: no workers, nothing to report
    again = events_service.capture(two, write(tmp_path / "e.jsonld", document([object_event(9)])))
    assert again.captured == 1 and again.fallback is None
    two.close()


def _workers_of(process: psutil.Process) -> list[psutil.Process]:
    """The capture's worker processes (multiprocessing's spawned interpreters)."""
    found = []
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
    return found


def _running(process: psutil.Process) -> bool:
    """Alive, not a zombie its new parent (maybe a container's init) has yet to reap."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_killed_capture_leaves_no_worker_behind(uow: UnitOfWork, tmp_path: Path) -> None:
    """SIGKILL of a capture ends its workers with it (Linux), and the store keeps what it had:
    nothing of the killed capture, a ledger that verifies."""
    events_service.capture(uow, write(tmp_path / "first.jsonld", document([object_event(1)])))
    before = _counts(uow)
    source = write(tmp_path / "big.jsonld", document([object_event(n) for n in range(2, 60_002)]))
    env = {
        **os.environ,
        "BATTERYTRACE_DB": uow.url,
        "BATTERYTRACE_KEY": str(uow.key_path),
        "BATTERYTRACE_WORKERS": "2",
    }
    capture = subprocess.Popen(
        [sys.executable, "-m", "batterytrace.cli", "capture", str(source)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parent = psutil.Process(capture.pid)
    deadline = time.monotonic() + 120
    while len(workers := _workers_of(parent)) < 2:
        assert capture.poll() is None, "the capture ended before its workers started"
        assert time.monotonic() < deadline, "no worker processes after 120 s"
        time.sleep(0.05)
    left = [*parent.children(recursive=True)]
    capture.kill()
    capture.wait()
    deadline = time.monotonic() + 5
    while any(map(_running, left)) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [p.pid for p in left if _running(p)]
    for pid in alive:  # the old behaviour: clean up what the test found, then fail
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    assert not alive, f"{len(alive)} of {len(left)} processes ({len(workers)} workers) outlived it"
    assert _counts(uow) == before
    report = ledger.verify(uow)
    assert report.ok and report.entries == before[0]


# --- one event, whatever its form (CBV 2.0 §8.9: the hash ID identifies an event's content) ---

HASH_FILES = "epcis/gs1/examples-xml/WithEventHashID"


def _stored_hashes(uow: UnitOfWork) -> list[str]:
    with uow.engine.connect() as conn:
        return list(conn.execute(select(schema.event.c.hash_id).order_by(schema.event.c.seq)))


def _orders(names: list[str]) -> list[list[str]]:
    """Each file first once (every rotation) and each rotation reversed: every file is both
    captured first and captured after every other one."""
    rotations = [names[i:] + names[:i] for i in range(len(names))]
    return rotations + [list(reversed(r)) for r in rotations]


def test_gs1_identical_hash_files_in_any_order_are_two_events(
    conformance: Path, tmp_path: Path
) -> None:
    """GS1 ships one ObjectEvent in six forms (field order, namespace prefixes, EPC URN or
    Digital Link, CBV URN or bare word, XML or JSON), all of one hash ID, and in a seventh, _2,
    whose eventTimeZoneOffset differs (-05:00: the same instant, another hash, another event)."""
    folder = conformance / HASH_FILES
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 7
    for n, order in enumerate(_orders(files)):
        uow = unit_of_work(f"sqlite:///{tmp_path / f'{n}.db'}", tmp_path / "ledger.key")
        ledger.init(uow)
        results = {name: events_service.capture(uow, folder / name) for name in order}
        first_of_six = next(name for name in order if not name.endswith("_2.xml"))
        for name, result in results.items():
            new = name in (first_of_six, "event_with_identical_hash_id_2.xml")
            assert (result.captured, result.duplicates) == ((1, 0) if new else (0, 1)), (
                order,
                name,
            )
        assert len(set(_stored_hashes(uow))) == 2
        assert ledger.verify(uow).ok
        uow.close()


def test_every_form_in_one_document_is_two_events(conformance: Path, tmp_path: Path) -> None:
    folder = conformance / HASH_FILES
    forms = [documents.read(path) for path in sorted(folder.iterdir())]
    one = Document(creationDate=forms[0].creationDate, events=[f.events[0] for f in forms])
    for name, data in (
        ("all.xml", xml.write_document(one)),
        ("all.jsonld", orjson.dumps(json_ld.document_to_json(one))),
    ):
        uow = unit_of_work(f"sqlite:///{tmp_path / name}.db", tmp_path / "ledger.key")
        ledger.init(uow)
        (tmp_path / name).write_bytes(data)
        result = events_service.capture(uow, tmp_path / name)
        assert (result.captured, result.duplicates) == (2, 5)
        uow.close()


def test_same_instant_written_in_another_offset_is_a_duplicate(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    sent = object_event(1, eventTime="2025-01-02T08:00:00.000+01:00")
    events_service.capture(uow, write(tmp_path / "a.jsonld", document([sent])))
    again = {**sent, "eventTime": "2025-01-02T07:00:00Z"}  # same instant, same offset field
    result = events_service.capture(uow, write(tmp_path / "b.jsonld", document([again])))
    assert (result.captured, result.duplicates) == (0, 1)


def test_the_same_content_under_another_or_no_event_id_is_a_duplicate(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    """The eventID takes no part in the hash ID: the content, sent again with another eventID
    or none, is the stored event."""
    events_service.capture(uow, write(tmp_path / "a.jsonld", document([object_event(1)])))
    other_id = object_event(1, eventID="urn:uuid:00000000-0000-0000-0000-0000000000ff")
    no_id = object_event(1, eventID=None)
    result = events_service.capture(uow, write(tmp_path / "b.jsonld", document([other_id, no_id])))
    assert (result.captured, result.duplicates) == (0, 2)
    # and the other way round: stored without eventID, then sent with one, in one document
    both = document([object_event(2, eventID=None), object_event(2)])
    result = events_service.capture(uow, write(tmp_path / "c.jsonld", both))
    assert (result.captured, result.duplicates) == (1, 1)
    assert _counts(uow)[0] == 2
    assert ledger.verify(uow).ok


def test_an_event_id_stored_with_another_hash_is_a_conflict_even_if_that_hash_is_stored(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    events_service.capture(
        uow, write(tmp_path / "a.jsonld", document([object_event(1), object_event(2)]))
    )
    before = _counts(uow)
    # the content of event 2 under the eventID of event 1
    stolen = object_event(2, eventID=object_event(1)["eventID"])
    with pytest.raises(DuplicateEventConflict, match="eventID already stored"):
        events_service.capture(uow, write(tmp_path / "b.jsonld", document([stolen])))
    assert _counts(uow) == before


def test_one_event_id_with_two_hashes_in_one_document_is_a_conflict(
    uow: UnitOfWork, tmp_path: Path
) -> None:
    doc = document([object_event(1), object_event(1, bizStep="shipping")])
    with pytest.raises(DuplicateEventConflict, match="eventID already stored"):
        events_service.capture(uow, write(tmp_path / "d.jsonld", doc))
    assert _counts(uow) == (0, 0, 0, 0)


def test_gs1_association_examples_capture_alone(conformance: Path, uow: UnitOfWork) -> None:
    """Case (g) is case (d) with an errorDeclaration, which takes no part in the hash ID (CBV
    2.0 §8.9): the same event, so a duplicate, whose declaration is reported as not applied
    (decision 011)."""
    path = conformance / "epcis/gs1/examples-xml/AssociationEvent/AssociationEventExamples.xml"
    result = events_service.capture(uow, path)
    assert (result.captured, result.duplicates, result.declarations_not_applied) == (7, 1, 1)
    assert ledger.verify(uow).ok


def test_an_error_declaration_of_a_stored_event_is_reported_not_applied(
    conformance: Path, uow: UnitOfWork, tmp_path: Path
) -> None:
    path = conformance / "epcis/gs1/examples-jsonld/WithErrorDeclaration"
    declared = orjson.loads((path / "ErrorDeclarationAndCorrectiveEvent.jsonld").read_bytes())
    events = declared["epcisBody"]["eventList"]
    original = {k: v for k, v in events[0].items() if k != "errorDeclaration"}
    original_doc = {**declared, "epcisBody": {"eventList": [original]}}
    events_service.capture(uow, write(tmp_path / "original.jsonld", original_doc))
    result = events_service.capture(uow, path / "ErrorDeclarationAndCorrectiveEvent.jsonld")
    # the corrective event is new; the declaration is the stored event again
    assert (result.captured, result.duplicates, result.declarations_not_applied) == (1, 1, 1)
    again = events_service.capture(uow, write(tmp_path / "again.jsonld", original_doc))
    assert (again.duplicates, again.declarations_not_applied) == (1, 0)


def test_master_data_alone_is_captured(conformance: Path, uow: UnitOfWork) -> None:
    """GS1's document of master data and no events: a BusinessLocation and a ReadPoint
    vocabulary, one element each (the same SGLN), with one child."""
    name = "epcis/gs1/examples-xml/WithFullCombinationOfFields/masterdata_all_possible_fields.xml"
    result = events_service.capture(uow, conformance / name)
    assert (result.captured, result.duplicates, result.master_data_elements) == (0, 0, 2)
    with uow.engine.connect() as conn:
        stored = conn.execute(
            select(schema.vocabulary_element.c.vtype, schema.vocabulary_element.c.id)
        ).all()
        children = conn.execute(select(func.count()).select_from(schema.vocabulary_child))
        assert sorted(stored) == [
            ("urn:epcglobal:epcis:vtype:BusinessLocation", "urn:epc:id:sgln:0037000.00729.0"),
            ("urn:epcglobal:epcis:vtype:ReadPoint", "urn:epc:id:sgln:0037000.00729.0"),
        ]
        assert children.scalar_one() == 1  # one parent id, one child, as canonical links
    assert _counts(uow)[0] == 0
    assert ledger.verify(uow).ok


def test_master_data_of_a_header_is_recorded_signed_and_verified(
    conformance: Path, uow: UnitOfWork
) -> None:
    """Header master data feed readers (the location hierarchy places a site's events): they
    are an import record of their own, signed, replayed by verify; the same header again
    changes nothing and is not recorded; a link added by hand fails verify."""
    name = "epcis/gs1/examples-xml/WithFullCombinationOfFields/masterdata_all_possible_fields.xml"
    events_service.capture(uow, conformance / name)
    (recorded,) = ledger.import_records(uow)
    assert (recorded.kind, recorded.action) == ("vocabulary", "capture")
    assert recorded.effect == {"elements added": 2, "children added": 1}
    report = ledger.verify(uow)
    assert report.ok and report.import_records == 1 and report.checkpoints == 1
    events_service.capture(uow, conformance / name)
    assert len(ledger.import_records(uow)) == 1 and ledger.verify(uow).checkpoints == 1
    with uow.engine.begin() as conn:
        conn.execute(
            schema.vocabulary_child.insert().values(
                parent="https://id.gs1.org/414/0037000007296", child="https://id.gs1.org/414/1"
            )
        )
    failure = ledger.verify(uow).import_failure
    assert failure is not None and failure.startswith("vocabulary_child ")
    assert "no recorded import wrote it" in failure
