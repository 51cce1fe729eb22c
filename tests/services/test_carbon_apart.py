"""services.carbon: a recomputation figures the packs and the legs of vehicles apart, a chunk
at a time, after the other products (decision 036), and gives the rows one product system of
everything gives, to the bit, whatever the chunks' size; a transformation that uses a pack
figures everything at once; a roll-up refused midway keeps its error, nothing of the rows it
gave (the transaction's savepoint)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from batterytrace.carbon import activity
from batterytrace.carbon.factors import read_csv
from batterytrace.carbon.system import Uncounted
from batterytrace.epcis.model import (
    Action,
    Document,
    Event,
    EventType,
    Location,
    QuantityElement,
)
from batterytrace.errors import FootprintError
from batterytrace.masterdata import Material, MaterialKind
from batterytrace.services import carbon, derived, events, masterdata
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import carbon as carbon_store
from batterytrace.store import derived as kept
from carbon_examples import (
    CAM,
    DOCUMENTS,
    EXAMPLE_FACTORS,
    EXAMPLES,
    VEHICLES,
    master_data_of_examples,
    model_of_examples,
)
from factories import scenario_inputs

PACK_CLASS = "urn:epc:idpat:sgtin:3700000.030001.*"  # the examples' pack, declared a pack
PACK = "urn:epc:id:sgtin:3700000.030001.P2503130001"


def _examples_with_a_pack(uow: UnitOfWork) -> None:
    """The examples' master data, their pack's class declared a pack, and their model."""
    data = master_data_of_examples()
    data.add_material(
        Material(PACK_CLASS, "Pack", MaterialKind.PACK, chemistry="NMC811", energy_kwh=52.0)
    )
    masterdata.import_master_data(uow, data)
    carbon.import_carbon(uow, activity.from_json(model_of_examples(), "ex.json"), "ex.json")


def _parts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """(steps, legs, packs) of each chunk figured apart, from now on."""
    seen: list[tuple[int, int, int]] = []
    real = carbon_store.figured_apart

    def spy(*args: Any) -> Iterator[Any]:
        for part in real(*args):
            seen.append((len(part[0]), len(part[1]), len(part[2])))
            yield part

    monkeypatch.setattr(carbon_store, "figured_apart", spy)
    return seen


def _recomputed(uow: UnitOfWork) -> dict[tuple[str, str], tuple[str, str]]:
    with uow.reading() as conn:
        areas = carbon.kept_rows(conn, uow.decoded)
        return {(area, key): (scope, content)
                for area, rows in areas.items() for key, scope, content in rows}  # fmt: skip


def _at_once(uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch) -> dict[Any, Any]:
    """The rows of one product system of everything (what a used pack asks for)."""
    with monkeypatch.context() as m:
        m.setattr(carbon_store, "packs_transformed", lambda *_: True)
        return _recomputed(uow)


def test_the_scenario_figured_apart_in_any_chunks_equals_one_product_system(
    uow: UnitOfWork, scenario: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario_inputs(uow, scenario)
    for path in sorted(scenario.glob("events-*.jsonld")):
        events.capture(uow, path)
    whole = _at_once(uow, monkeypatch)
    packs = sum(1 for area, key in whole if area == carbon.AREA + ".product" and "/21/" in key)
    assert packs > 20
    for size in (1, 7, 10_000):
        monkeypatch.setattr(carbon, "PACKS_AT_ONCE", size)
        parts = _parts(monkeypatch)
        assert _recomputed(uow) == whole, size
        assert sum(p for *_, p in parts) == packs  # each pack figured apart, once
        assert len(parts) >= -(-packs // size) + 1  # packs' chunks, then vehicles'
        vehicles = sum(legs for _, legs, _ in parts)
    assert derived.check(uow) is None
    # the vehicles' legs, figured apart, each in a line of legs not counted (no mass per item)
    lines = orjson.loads(whole[(carbon.AREA + ".system", "not counted")][1])["legs"]
    named = [line for line in lines if "/21/V" in line[6][0][2]]
    assert vehicles > 20 and sum(line[5] for line in named) == vehicles


def test_the_examples_written_the_cbv_way_figured_pack_by_pack_equal_one_product_system(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The examples' pack (its serial commissioned, then aggregated: CBV 2.0) and vehicle,
    one per chunk, captured in XML and JSON-LD as written."""
    _examples_with_a_pack(uow)
    carbon.import_factors(uow, read_csv(EXAMPLE_FACTORS, "test", "1"))
    carbon.use_factors(uow, "test@1")
    for name in DOCUMENTS:
        events.capture(uow, EXAMPLES / name)
    monkeypatch.setattr(carbon, "PACKS_AT_ONCE", 1)
    parts = _parts(monkeypatch)
    assert _recomputed(uow) == _at_once(uow, monkeypatch)
    assert [p for *_, p in parts] == [1, 0]  # the pack, then the vehicle's shipment
    assert derived.check(uow) is None
    assert carbon.footprint(uow, PACK).footprint.kg_co2e > 0


def test_a_pack_a_transformation_used_has_every_product_figured_at_once(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recycler's transformation takes the examples' pack in: the pack is an input like
    any product (its footprint carried into the black mass), so nothing is figured apart."""
    _examples_with_a_pack(uow)
    for name in DOCUMENTS:
        events.capture(uow, EXAMPLES / name)
    mass = "urn:epc:class:lgtin:3700000.040001.BM1"
    recycled = Event(
        type=EventType.TRANSFORMATION,
        eventTime=datetime(2025, 6, 1, tzinfo=UTC),
        eventTimeZoneOffset="+01:00",
        inputEPCList=(PACK,),
        outputQuantityList=(QuantityElement(mass, 300.0, "KGM"),),
        bizStep="urn:epcglobal:cbv:bizstep:destroying",
        bizLocation=Location(VEHICLES),
    )
    parts = _parts(monkeypatch)
    events.capture_document(uow, Document(creationDate=recycled.eventTime, events=[recycled]))
    assert parts == []
    assert derived.check(uow) is None
    pack = carbon.footprint(uow, PACK).footprint.kg_co2e
    assert carbon.footprint(uow, mass).footprint.kg_co2e * 300 >= pack > 0


def test_a_pack_a_transformation_made_moves_with_its_batch_figured_at_once(
    uow: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack serial among a transformation's outputs is an item of its batch: its shipment
    moves the batch, so the packs are figured with the rest."""
    _examples_with_a_pack(uow)
    for name in DOCUMENTS:
        events.capture(uow, EXAMPLES / name)
    made = "urn:epc:id:sgtin:3700000.030001.P2506010001"
    when = datetime(2025, 6, 1, tzinfo=UTC)
    steps = [
        Event(type=EventType.TRANSFORMATION, eventTime=when, eventTimeZoneOffset="+01:00",
              inputQuantityList=(QuantityElement(CAM, 10.0, "KGM"),), outputEPCList=(made,),
              bizStep="urn:epcglobal:cbv:bizstep:assembling", bizLocation=Location(VEHICLES)),
        Event(type=EventType.OBJECT, action=Action.OBSERVE, eventTime=when + timedelta(days=1),
              eventTimeZoneOffset="+01:00", epcList=(made,),
              bizStep="urn:epcglobal:cbv:bizstep:shipping", bizLocation=Location(VEHICLES)),
    ]  # fmt: skip
    parts = _parts(monkeypatch)
    events.capture_document(uow, Document(creationDate=when, events=steps))
    assert parts == []
    assert derived.check(uow) is None
    batch = carbon.footprint(uow, made).footprint  # the batch's, per item
    assert batch.id.endswith("#outputEPCList") and batch.kg_co2e > 0


def test_a_roll_up_refused_midway_keeps_its_error_and_none_of_the_rows_it_gave(
    uow: UnitOfWork, scenario: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario_inputs(uow, scenario)
    events.capture(uow, sorted(scenario.glob("events-*.jsonld"))[0])
    with uow.reading() as conn:
        products = kept.count(conn, carbon.AREA + ".product")
    assert products > 0
    real = carbon_store.figured_apart

    def refused(*args: Any) -> Iterator[Any]:
        yield next(real(*args))
        raise FootprintError("pack X: a footprint beyond any finite number of kg CO2e")

    with monkeypatch.context() as m:
        m.setattr(carbon_store, "figured_apart", refused)
        m.setattr(carbon, "PACKS_AT_ONCE", 1)
        uow.refresh(carbon.UNIT, every=True)
        with uow.reading() as conn:
            assert kept.count(conn, carbon.AREA + ".product") == 0
            assert kept.count(conn, carbon.AREA + ".pool") == 0
            error = orjson.loads(kept.stored(conn, carbon.AREA + ".system")["error"][1])
        assert error == {"error": "pack X: a footprint beyond any finite number of kg CO2e"}
        assert derived.check(uow) is None  # the check starts again the same way
    assert derived.check(uow) is not None  # no longer what the events give
    uow.refresh(carbon.UNIT, every=True)
    with uow.reading() as conn:
        assert kept.count(conn, carbon.AREA + ".product") == products


_LEGS = st.lists(st.integers(0, 5), min_size=1, max_size=12)


@given(months=_LEGS, cuts=st.lists(st.integers(0, 12), max_size=4), data=st.data())
def test_legs_not_counted_are_named_in_ledger_order_however_they_are_added(
    months: list[int], cuts: list[int], data: st.DataObject
) -> None:
    """Lines of legs not counted, made of parts in any order (chunks figured apart after the
    rest), name the same first legs as the legs added one by one in ledger order."""
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    legs = [Uncounted(1, [(seq, f"e{seq}", "lot")], t0 + timedelta(days=m), t0 + timedelta(days=m))
            for seq, m in enumerate(months)]  # fmt: skip
    in_order = dataclasses.replace(legs[0], named=list(legs[0].named))
    for leg in legs[1:]:
        in_order.add(leg)
    edges = sorted({0, len(legs), *(c for c in cuts if c < len(legs))})
    parts = []
    for a, b in itertools.pairwise(edges):
        part = dataclasses.replace(legs[a], named=list(legs[a].named))
        for leg in legs[a + 1 : b]:
            part.add(leg)
        parts.append(part)
    shuffled = data.draw(st.permutations(parts))
    merged = shuffled[0]
    for part in shuffled[1:]:
        merged.add(part)
    assert merged == in_order
    assert [seq for seq, *_ in merged.named] == sorted(seq for seq, *_ in merged.named)
