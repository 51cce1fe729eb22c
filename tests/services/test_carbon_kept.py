"""services.carbon: the kept footprints go on from their rows as the agreement scenario's years
arrive in time order, equal to a recomputation after each; a late event recomputes them
(decision 034)."""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batterytrace.carbon import activity
from batterytrace.carbon.factors import read_csv
from batterytrace.epcis import documents
from batterytrace.epcis.model import (
    Action,
    Document,
    Event,
    EventType,
    Extension,
    Location,
    QuantityElement,
)
from batterytrace.masterdata import BT
from batterytrace.services import carbon, derived, events, masterdata
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import carbon as carbon_store
from batterytrace.store import derived as kept_rows
from batterytrace.trace.lineage import node_id
from carbon_examples import (
    CAM,
    DOCUMENTS,
    EXAMPLE_FACTORS,
    EXAMPLES,
    HUB,
    SULFATE,
    SULFATE_KG,
    master_data_of_examples,
    model_of_examples,
)
from factories import T0, empty_store, scenario_inputs


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from batterytrace.scenario.generator import generate

    out = tmp_path_factory.mktemp("kept-footprints")
    generate(out, 0.0002, seed=5)
    return out


def _counting(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How the footprints were brought up to date: resumed or recomputed."""
    counted: Counter[str] = Counter()

    def resume(*args: Any) -> Any:
        rows = carbon.resumed_rows(*args)
        counted["resumed" if rows is not None else "declined"] += 1
        return rows

    def recompute(*args: Any) -> Any:
        counted["recomputed"] += 1
        return carbon.kept_rows(*args)

    units = tuple(
        dataclasses.replace(u, resume=resume, recompute=recompute) if u.name == carbon.AREA else u
        for u in derived.UNITS
    )
    monkeypatch.setattr(derived, "UNITS", units)
    return counted


def test_footprints_go_on_year_by_year_and_a_late_event_is_taken_again(
    uow: UnitOfWork, scenario: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario_inputs(uow, scenario)
    counted = _counting(monkeypatch)
    years = sorted(scenario.glob("events-*.jsonld"))
    figures, refreshed = [], Counter[str]()
    for path in years:
        events.capture(uow, path)
        refreshed += counted
        assert derived.check(uow) is None, path.name  # (recomputes it to compare)
        counted.clear()
        with uow.reading() as conn:
            figures.append(kept_rows.count(conn, "carbon.product"))
    assert refreshed == {"resumed": len(years)}  # from the rows of the model alone, on
    assert figures == sorted(set(figures))  # each year's products added

    # a lot mined months before the latest event, in a period no product has folded yet
    # (none was made after it closed): its pool takes it, nothing else moves
    mined = next(e for e in documents.read(years[-1]).events
                 if e.action is Action.ADD and e.quantityList)  # fmt: skip
    lot = dataclasses.replace(mined.quantityList[0], epcClass=mined.quantityList[0].epcClass + "L")
    late = dataclasses.replace(mined, eventID=None, quantityList=(lot,))
    _capture_late(uow, late)
    assert counted == {"resumed": 1}
    assert derived.check(uow) is None
    counted.clear()
    # a lot's shipment again in the first year, after products were made of it: taken again
    # from the start of that year (decision 038)
    shipped = next(e for e in documents.read(years[0]).events
                   if e.bizStep == "shipping" and e.quantityList)  # fmt: skip
    _capture_late(uow, shipped)
    assert counted == {"resumed": 1}
    assert derived.check(uow) is None

    # a transformation recorded in two events (one transformationID): its second event, with
    # one more input and no output, changes the product the first made
    counted.clear()
    made = next(e for e in documents.read(years[-1]).events
                if e.type is EventType.TRANSFORMATION and e.outputQuantityList)  # fmt: skip
    out = dataclasses.replace(made.outputQuantityList[0],
                              epcClass=made.outputQuantityList[0].epcClass + "T")  # fmt: skip
    first = dataclasses.replace(made, eventID=None, transformationID="urn:uuid:campaign",
                                outputQuantityList=(out,))  # fmt: skip
    second = dataclasses.replace(first, outputQuantityList=(),
                                 eventTime=made.eventTime + timedelta(hours=1))  # fmt: skip
    events.capture_document(uow, Document(creationDate=made.eventTime, events=[first]))
    assert counted == {"resumed": 1}
    events.capture_document(uow, Document(creationDate=made.eventTime, events=[second]))
    assert counted == {"resumed": 1, "declined": 1, "recomputed": 1}
    assert derived.check(uow) is None


PACK_PLANT, MINE, REFINERY = (
    "urn:epc:id:sgln:3700000.00200.0", "urn:epc:id:sgln:6111111.00100.0",
    "urn:epc:id:sgln:6111111.00200.0",
)  # fmt: skip


def _datum(site: str, period: str, litres: float) -> activity.Model:
    data = {"activities": [{"site": site, "period": period, "kind": "fuel", "factor": "diesel",
                            "amount": litres, "unit": "L"}]}  # fmt: skip
    return activity.from_json(data, "more.json")


def test_new_site_data_go_on_from_the_kept_rows_unless_a_product_folded_them(
    uow: UnitOfWork, scenario: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Activity data imported for a period whose products are kept change its pool's row
    alone; data for a period no product was made in are listed as taken by none; data for a
    period a product made after it closed folded (the refinery's 2030, in 2031's cathodes)
    take the footprints again from the start of that year, the events read from the day
    before it (decision 038). Each equals a recomputation."""
    scenario_inputs(uow, scenario)
    years = sorted(scenario.glob("events-*.jsonld"))
    for path in years:
        events.capture(uow, path)
    pack = next(e.parentID for e in documents.read(years[-1]).events
                if e.bizStep == "packing" and e.parentID and ".030001." in e.parentID)  # fmt: skip
    before = carbon.footprint(uow, pack).footprint.kg_co2e
    counted = _counting(monkeypatch)
    carbon.import_carbon(uow, _datum(PACK_PLANT, "2031", 1e6), "more.json", replace=True)
    assert counted == {"resumed": 1}
    assert carbon.footprint(uow, pack).footprint.kg_co2e > before
    assert derived.check(uow) is None
    counted.clear()
    carbon.import_carbon(uow, _datum(MINE, "2032", 10.0), "more.json")
    assert counted == {"resumed": 1}
    (unused,) = carbon.not_counted(uow, "2032")
    assert unused.what == f"Bou Azzer cobalt mine ({node_id(MINE)}) 2032"
    assert derived.check(uow) is None
    counted.clear()
    read = []
    happened_from = carbon_store.happened_from

    def spy(conn: Any, when: datetime) -> list[int]:
        read.append(when)
        return happened_from(conn, when)

    monkeypatch.setattr(carbon_store, "happened_from", spy)
    carbon.import_carbon(uow, _datum(REFINERY, "2030", 1e6), "more.json", replace=True)
    assert counted == {"resumed": 1} and read == [datetime(2029, 12, 31, tzinfo=UTC)]
    assert carbon.footprint(uow, pack).footprint.kg_co2e > before
    assert derived.check(uow) is None


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), late=st.sampled_from((0.0, 0.001, 0.01)))
def test_chunks_with_late_events_keep_footprints_equal_to_a_recomputation(
    uow: UnitOfWork, scenario: Path, seed: int, late: float
) -> None:
    """The scenario's events in four chunks in time order, a share ``late`` of the earlier
    ones held back into a later chunk (late: periods figured already, lots used already),
    each chunk's events in any order: after each capture the kept state is a
    recomputation's."""
    empty_store(uow)  # the store of the test, again for each example
    scenario_inputs(uow, scenario)
    paths = sorted(scenario.glob("events-*.jsonld"))
    every = sorted((e for p in paths for e in documents.read(p).events), key=lambda e: e.eventTime)
    rng = random.Random(seed)
    chunks: list[list[Event]] = [[] for _ in range(4)]
    for n, event in enumerate(every):
        chunk = n * 4 // len(every)
        held = chunk < 3 and rng.random() < late
        chunks[rng.randint(chunk + 1, 3) if held else chunk].append(event)
    for chunk in chunks:
        rng.shuffle(chunk)
        events.capture_document(uow, Document(creationDate=chunk[0].eventTime, events=chunk))
        assert derived.check(uow) is None


_CHANGE = st.one_of(
    st.tuples(st.just("data"), st.sampled_from((MINE, REFINERY, PACK_PLANT)),
              st.integers(2025, 2031), st.sampled_from((10.0, 1e5))),
    st.tuples(st.just("supplier"), st.integers(0, 10**6), st.sampled_from((0.5, 4.0))),
    st.tuples(st.just("shipped again"), st.integers(0, 10**6)),
    st.tuples(st.just("allocation"), st.sampled_from((REFINERY, PACK_PLANT)),
              st.sampled_from(({"rule": "mass"}, {"rule": "element", "element": "Co"}))),
    st.tuples(st.just("proxy"), st.sampled_from(("sgtin:6901234.000201", "sgtin:6412345.000101")),
              st.sampled_from(("diesel", None))),
)  # fmt: skip


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.lists(_CHANGE, min_size=1, max_size=3), together=st.booleans())
def test_what_a_folded_period_affects_is_taken_again_equal_to_a_recomputation(
    uow: UnitOfWork, scenario: Path, changes: list[tuple[Any, ...]], together: bool
) -> None:
    """Decision 038 on the scenario's seven years, kept year by year: site data for a year
    (folded by the products of the next), a supplier footprint for a lot events name, a lot
    shipped again after products were made of it, a site's allocation rule, a product's
    proxy, in any order, each refreshed after it or (``together``) all in one refresh: the
    kept state is then a recomputation's."""
    empty_store(uow)  # the store of the test, again for each example
    scenario_inputs(uow, scenario)
    years = sorted(scenario.glob("events-*.jsonld"))
    for path in years:
        events.capture(uow, path)
    every = [e for path in years for e in documents.read(path).events]
    made = [q.epcClass for e in every for q in e.outputQuantityList]
    shipped = [e for e in every if e.bizStep == "shipping" and e.quantityList]
    kept = uow
    if together:  # no refresh after each write: one for them all
        uow = UnitOfWork(kept.url, kept.key_path)
    for n, change in enumerate(changes):
        if change[0] == "data":
            _, site, year, litres = change
            model = _datum(site, str(year), litres)
            carbon.import_carbon(uow, model, f"more-{n}.json", replace=True)
        elif change[0] == "supplier":
            _, pick, kg = change
            lot = made[pick % len(made)]
            document = carbon.pact_footprint(uow, lot, "3")
            for name in ("pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake",
                         "fossilGhgEmissions"):  # fmt: skip
                document["pcf"][name] = str(kg)
            carbon.import_supplier_footprint(
                uow, {**document, "id": str(uuid.uuid4())}, lot, replace=True
            )
        elif change[0] == "allocation":
            _, site, rule = change
            model = activity.from_json({"allocation": [{"site": site, **rule}]}, "rule.json")
            carbon.import_carbon(uow, model, f"rule-{n}.json", replace=True)
        elif change[0] == "proxy":
            _, cls, factor = change
            proxy = {"product": f"urn:epc:idpat:{cls}.*", "factor": factor}
            model = activity.from_json({"proxies": [proxy]}, "p.json")
            carbon.import_carbon(uow, model, f"proxy-{n}.json", replace=True)
        else:
            _capture_late(uow, shipped[change[1] % len(shipped)])
        if not together:
            assert derived.check(kept) is None, change
    derived.refresh(kept)
    assert derived.check(kept) is None


def test_a_factor_set_imported_or_removed_changes_no_footprint_until_it_is_used(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Footprints are figured with the set in use: another set imported or removed moves
    the watermark, nothing recomputed, no row changed; using it recomputes them all."""
    masterdata.import_master_data(uow, master_data_of_examples())
    carbon.import_carbon(uow, activity.from_json(model_of_examples(), "ex.json"), "ex.json")
    for name in DOCUMENTS:
        events.capture(uow, EXAMPLES / name)
    counted = _counting(monkeypatch)

    def carbon_changes(since: int) -> list[str]:
        found = derived.changes(uow, since).changes
        return [c.key for c in found if c.area.startswith(carbon.AREA)]

    before = derived.refresh(uow).version
    carbon.import_factors(uow, read_csv(EXAMPLE_FACTORS, "test", "1"))
    carbon.import_factors(uow, read_csv(EXAMPLE_FACTORS, "other", "2"))
    carbon.remove_factors(uow, "other@2")
    assert counted == {"resumed": 3}
    assert carbon_changes(before) == []
    assert derived.check(uow) is None
    counted.clear()
    before = derived.refresh(uow).version
    carbon.use_factors(uow, "test@1")
    assert counted == {"declined": 1, "recomputed": 1}
    assert len(carbon_changes(before)) > 3  # every product figured with the new set
    assert derived.check(uow) is None


def test_a_supplier_footprint_for_what_no_event_names_changes_no_footprint(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A supplier's PACT footprint sent ahead of the goods moves the watermark alone; the lot
    of that class captured later is sourced by it, going on from the kept rows; a footprint
    for a product the events name takes them again from the year it was first named
    (decision 038)."""
    masterdata.import_master_data(uow, master_data_of_examples())
    carbon.import_carbon(uow, activity.from_json(model_of_examples(), "ex.json"), "ex.json")
    for name in DOCUMENTS:
        events.capture(uow, EXAMPLES / name)
    counted = _counting(monkeypatch)
    document = carbon.pact_footprint(uow, SULFATE, "3")
    for name in ("pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake", "fossilGhgEmissions"):
        document["pcf"][name] = "2.5"
    ahead = "urn:epc:idpat:sgtin:6111111.000999.*"
    before = derived.refresh(uow).version
    carbon.import_supplier_footprint(uow, {**document, "id": str(uuid.uuid4())}, ahead)
    assert counted == {"resumed": 1}
    assert [c for c in derived.changes(uow, before).changes if c.area.startswith("carbon")] == []
    lot = "urn:epc:class:lgtin:6111111.000999.AHEAD-1"
    arrived = Event(
        type=EventType.OBJECT, action=Action.ADD, eventTime=T0, eventTimeZoneOffset="+00:00",
        quantityList=(QuantityElement(lot, 100.0, "KGM"),), bizLocation=Location(HUB),
        bizStep="urn:epcglobal:cbv:bizstep:commissioning",
    )  # fmt: skip
    events.capture_document(uow, Document(creationDate=T0, events=[arrived]))
    assert counted == {"resumed": 2}
    assert carbon.footprint(uow, lot).footprint.kg_co2e == pytest.approx(2.5, rel=1e-12)
    assert derived.check(uow) is None
    counted.clear()
    named = "urn:epc:idpat:sgtin:6111111.000201.*"  # the sulfate's class
    read, _ = carbon.import_supplier_footprint(uow, {**document, "id": str(uuid.uuid4())}, named)
    assert counted == {"resumed": 1}  # taken again from the year its lots were first named
    assert carbon.footprint(uow, SULFATE).footprint.supplier_documents == (read.id,)
    assert derived.check(uow) is None


def _capture_late(uow: UnitOfWork, event: Event) -> None:
    """The event again as another (its time a millisecond on, so another hash ID)."""
    moved = event.eventTime + timedelta(milliseconds=1)
    late = dataclasses.replace(event, eventID=None, eventTime=moved)
    events.capture_document(uow, Document(creationDate=moved, events=[late]))


def _restated(event: Event, uom: str, per_kg: float) -> Event:
    """The event with its kilograms restated in another unit (TNE, GRM)."""

    def each(listed: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            dataclasses.replace(q, quantity=q.quantity * per_kg, uom=uom)
            if q.uom == "KGM" and q.quantity is not None
            else q
            for q in listed
        )

    return dataclasses.replace(
        event, eventID=None, quantityList=each(event.quantityList),
        inputQuantityList=each(event.inputQuantityList),
        outputQuantityList=each(event.outputQuantityList),
    )  # fmt: skip


_UNITS = (("TNE", 0.001), ("GRM", 1000.0), ("KGM", 1.0))


@pytest.mark.parametrize("store", ["documents", "events restated"])
def test_examples_written_the_cbv_way_go_on_from_the_kept_rows(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    """The project's examples as other tools write them (CBV 2.0 shipments placed by their
    source list, the second document in XML), the data imported first: captured document by
    document as written, or event by event in time order with their kilograms restated in
    tonnes and grams, every kept unit equals a recomputation after each capture, the
    footprints going on from their rows; both give the sulfate lot its footprint worked by
    hand (tests/carbon_examples.py)."""
    masterdata.import_master_data(uow, master_data_of_examples())
    carbon.import_carbon(uow, activity.from_json(model_of_examples(), "ex.json"), "ex.json")
    carbon.import_factors(uow, read_csv(EXAMPLE_FACTORS, "test", "1"))
    carbon.use_factors(uow, "test@1")
    counted, refreshed = _counting(monkeypatch), Counter[str]()
    if store == "documents":
        captures = [lambda name=name: events.capture(uow, EXAMPLES / name) for name in DOCUMENTS]
    else:
        read = [e for name in DOCUMENTS for e in documents.read(EXAMPLES / name).events]
        captures = [
            lambda event=event, n=n: events.capture_document(uow, Document(
                creationDate=T0, events=[_restated(event, *_UNITS[n % 3])]))
            for n, event in enumerate(sorted(read, key=lambda e: e.eventTime))
        ]  # fmt: skip
    for n, capture in enumerate(captures):
        capture()
        refreshed += counted
        counted.clear()
        assert derived.check(uow) is None, n
        counted.clear()  # what the check recomputed to compare
    assert refreshed == {"resumed": len(captures)}
    figure = carbon.footprint(uow, SULFATE).footprint
    assert figure.kg_co2e == pytest.approx(SULFATE_KG / 4944, rel=1e-12)


def _moved(step: str, day: int, at: str | None, extensions: tuple[Extension, ...] = ()) -> Event:
    """The cathode lot (all 1,850 kg) received or shipped on a day of March 2025."""
    return Event(
        type=EventType.OBJECT, eventTime=datetime(2025, 3, day, tzinfo=UTC),
        eventTimeZoneOffset="+00:00", action=Action.OBSERVE, bizStep=step,
        quantityList=(QuantityElement(CAM, 1850.0, "KGM"),),
        bizLocation=None if at is None else Location(at), extensions=extensions,
    )  # fmt: skip


def test_a_late_receipt_recomputes_only_when_it_moves_where_a_kept_leg_left_from(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shipment that says nowhere where it left leaves from its lot's last receipt before
    it: a receipt recorded later but dated before such a kept shipment moves that leg's
    origin (recomputed); one dated before none (the sulfate lot's shipments all say where
    they left) changes no kept row (gone on from). Both equal a recomputation."""
    masterdata.import_master_data(uow, master_data_of_examples())
    carbon.import_carbon(uow, activity.from_json(model_of_examples(), "ex.json"), "ex.json")
    carbon.import_factors(uow, read_csv(EXAMPLE_FACTORS, "test", "1"))
    carbon.use_factors(uow, "test@1")
    for name in DOCUMENTS:
        events.capture(uow, EXAMPLES / name)
    road = (Extension(BT, "transportMode", "road"), Extension(BT, "distanceKm", 40))
    unplaced = _moved("shipping", 25, None, road)
    events.capture_document(uow, Document(creationDate=T0, events=[unplaced]))
    counted = _counting(monkeypatch)
    received = dataclasses.replace(_moved("receiving", 2, HUB), quantityList=(
        QuantityElement(SULFATE, 4944.0, "KGM"),))  # fmt: skip
    events.capture_document(uow, Document(creationDate=T0, events=[received]))
    assert counted == {"resumed": 1}
    assert derived.check(uow) is None
    counted.clear()
    events.capture_document(uow, Document(creationDate=T0, events=[_moved("receiving", 22, HUB)]))
    assert counted == {"declined": 1, "recomputed": 1}
    assert derived.check(uow) is None
