"""Genealogy: backward and forward traces with element mass, computed by hand beside them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.epcis.documents import read
from batterytrace.epcis.model import Action, Document, Event, EventType, Extension, QuantityElement
from batterytrace.masterdata import BT, MasterData, MaterialKind, material
from batterytrace.services import events as events_service
from batterytrace.services import ledger, masterdata
from batterytrace.services import trace as tracing
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store.lineage import Decoded, StoreLineage
from batterytrace.trace.genealogy import UnknownObject, backward, forward
from batterytrace.trace.lineage import EventLineage, class_of, node_id
from factories import PACK, T0, chain, commission, fraction, item, lot, transform

ROOT = Path(__file__).resolve().parents[2]


def test_backward_allocates_by_element_contributed() -> None:
    trace = backward(EventLineage(chain()), PACK, "Co")
    objects = {k: v for k, v in trace.objects.items()}
    pack_co = 4 * 0.03
    assert trace.start_kg == pytest.approx(pack_co)
    # S is the only Co-bearing input of C (X has no figure: a gap, not a zero)
    assert objects[node_id(lot("S"))].element_kg == pytest.approx(pack_co)
    # A brought 10 kg Co and B 15 kg into S: 40 % and 60 %
    assert objects[node_id(lot("A"))].element_kg == pytest.approx(pack_co * 10 / 25)
    assert objects[node_id(lot("B"))].element_kg == pytest.approx(pack_co * 15 / 25)
    assert objects[node_id(lot("X"))].element_kg is None
    # each link carries the mass of the lot used in its step
    assert [link.kg for link in trace.links if link.target == node_id(lot("S"))] == [40]
    assert [link.kg for link in trace.links if link.target == node_id(lot("A"))] == [1000]
    assert trace.gaps == [f"no Co figure for {node_id(lot('X'))} in step urn:uuid:t-C"]
    assert "in proportion to the element each brought in" in trace.rule


def test_forward_reaches_the_pack_with_the_same_kg() -> None:
    lineage = EventLineage(chain())
    back = backward(lineage, PACK, "Co")
    for ore in ("A", "B"):
        fwd = forward(lineage, lot(ore), "Co")
        pack = fwd.objects[node_id(PACK)]
        assert pack.element_kg == pytest.approx(back.objects[node_id(lot(ore))].element_kg)
    # A's 10 kg Co: S gets 10 kg x 22/25 (the yield), C gets the part of S used (40 of 110 kg)
    fwd = forward(lineage, lot("A"), "Co")
    assert fwd.start_kg == pytest.approx(10.0)
    assert fwd.objects[node_id(lot("S"))].element_kg == pytest.approx(10 * 22 / 25)
    s_used = 40 / 110
    c_kg = 10 * 22 / 25 * s_used * (95 * 0.08) / (40 * 0.2)
    assert fwd.objects[node_id(lot("C"))].element_kg == pytest.approx(c_kg)


def recycled(pack: str) -> list[Event]:
    """The chain's pack dismantled into 1 kg of black mass at 10 % Co (0.1 of its 0.12 kg)."""
    return [
        *chain(),
        Event(
            type=EventType.TRANSFORMATION, eventTime=T0 + timedelta(days=9),
            eventTimeZoneOffset="+00:00", eventID="urn:uuid:t-BM", inputEPCList=(pack,),
            outputQuantityList=(QuantityElement(lot("BM"), 1, "KGM"),),
            ilmd=(fraction("Co", 0.1),),
        ),
    ]  # fmt: skip


def test_forward_lists_containers_not_items_and_follows_a_consumed_pack() -> None:
    lineage = EventLineage(recycled(PACK))
    back = backward(lineage, PACK, "Co")
    fwd = forward(lineage, lot("A"), "Co")
    from_a = back.objects[node_id(lot("A"))].element_kg
    assert fwd.objects[node_id(PACK)].element_kg == pytest.approx(from_a)
    assert fwd.objects[node_id(lot("BM"))].element_kg == pytest.approx(from_a * 0.1 / 0.12)
    assert not any(node_id(item(i)) in fwd.objects for i in range(1, 5))  # counted, not listed
    (held,) = [link for link in fwd.links if link.target == node_id(PACK)]
    assert (held.kind, held.items, held.step) == ("holding", 4, "urn:uuid:t-cells")
    assert fwd.objects[node_id(PACK)].depth == fwd.objects[node_id(lot("C"))].depth + 2


def test_forward_follows_a_consumed_item(uow: UnitOfWork) -> None:
    events = recycled(item(2))
    events_service.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(events))
    )
    memory = forward(EventLineage(events), lot("A"), "Co")
    assert tracing.trace(uow, lot("A"), "forward", "Co").to_json() == memory.to_json()
    pack, cell = memory.objects[node_id(PACK)], memory.objects[node_id(item(2))]
    assert cell.element_kg == pytest.approx((pack.element_kg or 0) / 4)
    black_mass = memory.objects[node_id(lot("BM"))].element_kg
    assert black_mass == pytest.approx((cell.element_kg or 0) * 0.1 / 0.03)


MODULE = "urn:epc:id:sgtin:3700000.010002.M{n}"


def in_modules() -> tuple[list[Event], MasterData]:
    """The chain's four cells in two modules, the modules (not the cells) in the pack; the
    master data says which classes are modules and packs."""
    events = [e for e in chain() if e.type is not EventType.AGGREGATION]
    for n, cells in ((1, (item(1), item(2))), (2, (item(3), item(4)))):
        events.append(packed(MODULE.format(n=n), cells, 7))
    events.append(packed(PACK, (MODULE.format(n=1), MODULE.format(n=2)), 8))
    data = MasterData()
    for name, kind, one, kwh in (("module", MaterialKind.MODULE, MODULE.format(n=1), 2.0),
                                 ("pack", MaterialKind.PACK, PACK, 4.0)):  # fmt: skip
        pattern = one.rsplit(".", 1)[0].replace(":id:sgtin:", ":idpat:sgtin:") + ".*"
        data.add_material(material(pattern, name, kind, chemistry="NMC811", energy_kwh=kwh))
    return events, data


def packed(parent: str, children: tuple[str, ...], day: int) -> Event:
    return Event(
        type=EventType.AGGREGATION, eventTime=T0 + timedelta(days=day),
        eventTimeZoneOffset="+00:00", eventID=f"urn:uuid:pack-{parent[-2:]}",
        parentID=parent, childEPCs=children, action=Action.ADD,
    )  # fmt: skip


def test_forward_counts_modules_per_class_and_lists_packs(uow: UnitOfWork) -> None:
    events, data = in_modules()
    memory = forward(EventLineage(events, data.materials.values()), lot("A"), "Co")
    modules = memory.objects[class_of(node_id(MODULE.format(n=1)))]
    pack = memory.objects[node_id(PACK)]
    assert (modules.items, pack.items) == (None, None)
    (into_modules,) = [link for link in memory.links if link.target == modules.id]
    assert (into_modules.kind, into_modules.items) == ("holding", 4)
    assert modules.element_kg == pytest.approx(pack.element_kg or 0) != 0
    assert node_id(MODULE.format(n=1)) not in memory.objects
    assert modules.depth == pack.depth - 1
    masterdata.import_master_data(uow, data)
    events_service.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(events))
    )
    assert tracing.trace(uow, lot("A"), "forward", "Co").to_json() == memory.to_json()


def test_backward_counts_the_items_a_container_holds(uow: UnitOfWork) -> None:
    """The cells are one object of their class and so are the modules holding only them (the
    master data counts modules), each linked from the pack; the allocation is the one of the
    cells walked one by one (the hand figures above)."""
    events, data = in_modules()
    memory = backward(EventLineage(events, data.materials.values()), PACK, "Co")
    pack_co = 4 * 0.03
    cells = memory.objects[class_of(node_id(item(1)))]
    modules = memory.objects[class_of(node_id(MODULE.format(n=1)))]
    assert (cells.items, cells.element_kg) == (4, pytest.approx(pack_co))
    assert (modules.items, modules.element_kg) == (2, pytest.approx(pack_co))
    assert (cells.depth, modules.depth) == (1, 1)
    listed = {node_id(item(i)) for i in range(1, 5)} | {node_id(MODULE.format(n=n)) for n in (1, 2)}
    assert not listed & memory.objects.keys()
    links = sorted((k.target, k.kind, k.items) for k in memory.links if k.source == node_id(PACK))
    assert links == [(cells.id, "holding", 4), (modules.id, "holding", 2)]
    assert memory.objects[node_id(lot("C"))].depth == 2
    assert memory.objects[node_id(lot("A"))].element_kg == pytest.approx(pack_co * 10 / 25)
    assert memory.objects[node_id(lot("B"))].element_kg == pytest.approx(pack_co * 15 / 25)
    masterdata.import_master_data(uow, data)
    events_service.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(events))
    )
    assert tracing.trace(uow, PACK, "backward", "Co").to_json() == memory.to_json()
    # without master data saying what a module is, the modules are listed
    listing = backward(EventLineage(events), PACK, "Co")
    module = listing.objects[node_id(MODULE.format(n=1))]
    assert module.element_kg == pytest.approx(pack_co / 2) and module.depth == 1
    into = sorted((k.source, k.items) for k in listing.links if k.target == cells.id)
    assert into == [(node_id(MODULE.format(n=n)), 2) for n in (1, 2)]


def test_backward_walks_items_the_holdings_do_not_account_for(uow: UnitOfWork) -> None:
    """A fifth cell of the same class, commissioned (no transformation made it), in module 2:
    that module is listed and its cells walked one by one; module 1 is still counted."""
    events, data = in_modules()
    extra = Event(
        type=EventType.OBJECT, eventTime=T0 + timedelta(days=6), eventTimeZoneOffset="+00:00",
        eventID="urn:uuid:c-5", action=Action.ADD, epcList=(item(5),),
        ilmd=(Extension(BT, "cobaltMassKg", 0.05),),
    )  # fmt: skip
    events = [extra, *(e for e in events if e.eventID != "urn:uuid:pack-M2")]
    events.append(packed(MODULE.format(n=2), (item(3), item(4), item(5)), 7))
    memory = backward(EventLineage(events, data.materials.values()), PACK, "Co")
    pack_co = 4 * 0.03 + 0.05
    assert memory.start_kg == pytest.approx(pack_co)
    modules = memory.objects[class_of(node_id(MODULE.format(n=1)))]
    assert (modules.items, modules.element_kg) == (1, pytest.approx(0.06))
    assert memory.objects[node_id(MODULE.format(n=2))].element_kg == pytest.approx(0.11)
    cells = memory.objects[class_of(node_id(item(1)))]
    assert cells.items == 2 and cells.element_kg == pytest.approx(0.06)
    walked = {i: memory.objects[node_id(item(i))].element_kg for i in (3, 4, 5)}
    assert walked == {3: pytest.approx(0.03), 4: pytest.approx(0.03), 5: pytest.approx(0.05)}
    assert node_id(item(1)) not in memory.objects
    cathode = memory.objects[node_id(lot("C"))]  # from the counted and the walked cells
    assert cathode.element_kg == pytest.approx(4 * 0.03)
    masterdata.import_master_data(uow, data)
    events_service.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(events))
    )
    assert tracing.trace(uow, PACK, "backward", "Co").to_json() == memory.to_json()


def test_a_delete_aggregation_is_not_a_step(uow: UnitOfWork) -> None:
    """Taking cells out of the pack (one of them never in it) puts nothing in: traces stay as
    they were (the cell taken out was in the pack)."""
    unpacked = Event(
        type=EventType.AGGREGATION, eventTime=T0 + timedelta(days=9),
        eventTimeZoneOffset="+00:00", eventID="urn:uuid:unpack",
        parentID=PACK, childEPCs=(item(1), item(9)), action=Action.DELETE,
    )  # fmt: skip
    events = [*chain(), unpacked]
    events_service.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(events))
    )
    for walk, start in ((backward, PACK), (forward, lot("A"))):
        before = walk(EventLineage(chain()), start, "Co").to_json()
        assert walk(EventLineage(events), start, "Co").to_json() == before
        assert tracing.trace(uow, start, walk.__name__, "Co").to_json() == before


def test_decoded_events_are_known_by_their_ledger_entry(tmp_path: Path) -> None:
    """Two stores whose events share seqs but not content, read through one cache: each trace
    is its own store's (a store rebuilt under the same unit of work is the same case)."""
    decoded = Decoded()
    traces = []
    for name, ore_co in (("one", 0.01), ("two", 0.02)):
        uow = unit_of_work(f"sqlite:///{tmp_path / name}.db", tmp_path / "key")
        ledger.init(uow)
        events = chain()
        events[0] = commission("A", 1000, ore_co, 1)
        events_service.capture_document(
            uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(events))
        )
        with uow.engine.connect() as conn:
            traces.append(backward(StoreLineage(conn, decoded), PACK, "Co"))
        assert traces[-1].to_json() == backward(EventLineage(events), PACK, "Co").to_json()
        uow.close()
    assert traces[0].to_json() != traces[1].to_json()


def test_a_trace_sees_master_data_imported_after_an_earlier_trace(uow: UnitOfWork) -> None:
    events, data = in_modules()
    events_service.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(events))
    )
    module = node_id(MODULE.format(n=1))
    assert module in tracing.trace(uow, lot("A"), "forward", "Co").objects  # no master data: listed
    masterdata.import_master_data(uow, data)
    counted = tracing.trace(uow, lot("A"), "forward", "Co").objects
    assert module not in counted and class_of(module) in counted


def test_cycles_are_reported_not_followed() -> None:
    events = [
        commission("L1", 100, 0.1, 1),
        transform("to-L2", {"L1": 100}, {"L2": (90, 0.1)}, 2),
        transform("to-L1", {"L2": 90}, {"L1": (80, 0.1)}, 3),
    ]
    trace = backward(EventLineage(events), lot("L2"), "Co")
    assert trace.cycles and "is its own ancestor" in trace.cycles[0]
    assert set(trace.objects) == {node_id(lot("L1")), node_id(lot("L2"))}


def test_unknown_identifier() -> None:
    with pytest.raises(UnknownObject, match="no stored event mentions"):
        backward(EventLineage(chain()), item(99), "Co")


def test_a_transformation_spread_over_events_is_one_step() -> None:
    events = chain()
    split = [
        Event(
            type=EventType.TRANSFORMATION,
            eventTime=T0 + timedelta(days=4),
            eventTimeZoneOffset="+00:00",
            eventID="urn:uuid:in",
            transformationID="urn:uuid:campaign",
            inputQuantityList=(
                QuantityElement(lot("A"), 1000, "KGM"),
                QuantityElement(lot("B"), 500, "KGM"),
            ),
        ),
        Event(
            type=EventType.TRANSFORMATION,
            eventTime=T0 + timedelta(days=5),
            eventTimeZoneOffset="+00:00",
            eventID="urn:uuid:out",
            transformationID="urn:uuid:campaign",
            outputQuantityList=(QuantityElement(lot("S"), 110, "KGM"),),
            ilmd=(fraction("Co", 0.2),),
        ),
    ]
    events[3:4] = split
    trace = backward(EventLineage(events), PACK, "Co")
    assert trace.objects[node_id(lot("A"))].element_kg == pytest.approx(0.12 * 10 / 25)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(10, 5000), st.floats(0.001, 0.3)), min_size=1, max_size=6))
def test_shares_of_the_inputs_add_up_to_the_output(ores: list[tuple[float, float]]) -> None:
    events = [commission(f"O{i}", kg, co, 1) for i, (kg, co) in enumerate(ores)]
    total_co = sum(kg * co for kg, co in ores)
    events.append(
        transform(
            "M", {f"O{i}": kg for i, (kg, _) in enumerate(ores)}, {"M": (100, total_co / 100)}, 2
        )
    )
    trace = backward(EventLineage(events), lot("M"), "Co")
    ore_kg = [trace.objects[node_id(lot(f"O{i}"))].element_kg for i in range(len(ores))]
    assert sum(k or 0 for k in ore_kg) == pytest.approx(total_co)
    for (kg, co), got in zip(ores, ore_kg, strict=True):
        assert got == pytest.approx(kg * co)


def test_store_and_memory_agree_on_the_examples(uow: UnitOfWork) -> None:
    paths = sorted((ROOT / "examples").glob("0*"))
    for path in paths:
        events_service.capture(uow, path)
    events = [e for p in paths for e in read(p).events]
    pack = "urn:epc:id:sgtin:3700000.030001.P2503130001"
    stored = tracing.trace(uow, pack, "backward", "Co")
    memory = backward(EventLineage(events), pack, "Co")
    assert stored.to_json() == memory.to_json()
    ore = stored.objects[node_id("urn:epc:class:lgtin:6111111.000101.BA-2025-0108")]
    # examples/README.md: the pack holds 0.2544 kg Co; ore A brought 624 of the 1,152 kg Co
    assert ore.element_kg == pytest.approx(0.2544 * 624 / 1152, rel=1e-6)
    forward_ore = tracing.trace(
        uow, "urn:epc:class:lgtin:6111111.000101.BA-2025-0108", "forward", "Co"
    )
    vehicle = node_id("urn:epc:id:sgtin:3700000.100001.VF1DM2025X0000042")
    assert forward_ore.objects[vehicle].element_kg == pytest.approx(ore.element_kg, rel=1e-6)


def test_lots_carry_their_custody_path(uow: UnitOfWork) -> None:
    for path in sorted((ROOT / "examples").glob("0*")):
        events_service.capture(uow, path)
    trace = tracing.trace(uow, "urn:epc:id:sgtin:3700000.030001.P2503130001", "backward", "Co")
    ore = trace.objects[node_id("urn:epc:class:lgtin:6111111.000101.BA-2025-0108")]
    mine, plant = (
        node_id("urn:epc:id:sgln:6111111.00100.DISPATCH"),
        node_id("urn:epc:id:sgln:6111111.00200.0"),
    )
    assert [(h.step, h.location, h.destination) for h in ore.custody] == [
        ("shipping", mine, plant),
        ("receiving", plant, plant),  # the receiving event restates its destination
    ]
    assert ore.custody[0].time < ore.custody[1].time
    assert trace.to_json()["objects"][0].get("custody") is None  # items: no custody of their own
    as_json = next(o for o in trace.to_json()["objects"] if o["id"] == ore.id)
    assert as_json["custody"][0]["destination"] == plant


def test_the_store_agrees_on_chains_with_a_cycle(uow: UnitOfWork) -> None:
    events = [
        commission("L1", 100, 0.1, 1),
        transform("to-L2", {"L1": 100}, {"L2": (90, 0.1)}, 2),
        transform("to-L1", {"L2": 90}, {"L1": (80, 0.1)}, 3),
    ]
    events_service.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(events))
    )
    for direction, walk in (("backward", backward), ("forward", forward)):
        stored = tracing.trace(uow, lot("L2"), direction, "Co")
        assert (
            stored.cycles
            and stored.to_json() == walk(EventLineage(events), lot("L2"), "Co").to_json()
        )


@pytest.mark.parametrize("events", [chain(), recycled(PACK)], ids=["chain", "recycled"])
def test_the_store_agrees_on_the_chain_both_ways(uow: UnitOfWork, events: list[Event]) -> None:
    events_service.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(events))
    )
    memory = EventLineage(events)
    assert (
        tracing.trace(uow, PACK, "backward", "Co").to_json()
        == backward(memory, PACK, "Co").to_json()
    )
    assert (
        tracing.trace(uow, lot("A"), "forward", "Co").to_json()
        == forward(memory, lot("A"), "Co").to_json()
    )


def test_forward_from_an_item_without_a_figure_names_the_gap() -> None:
    scrap = item(7)
    events = [
        Event(
            type=EventType.OBJECT, eventTime=T0, eventTimeZoneOffset="+00:00",
            eventID="urn:uuid:c-scrap", action=Action.ADD, epcList=(scrap,),
        ),
        commission("L", 100, 0.1, 1),
        Event(
            type=EventType.TRANSFORMATION, eventTime=T0 + timedelta(days=2),
            eventTimeZoneOffset="+00:00", eventID="urn:uuid:t-R", inputEPCList=(scrap,),
            inputQuantityList=(QuantityElement(lot("L"), 100, "KGM"),),
            outputQuantityList=(QuantityElement(lot("R"), 90, "KGM"),),
            ilmd=(fraction("Co", 0.1),),
        ),
    ]  # fmt: skip
    trace = forward(EventLineage(events), scrap, "Co")
    recycled = trace.objects[node_id(lot("R"))]
    assert recycled.share is None and recycled.gap  # not 90 % of L's cobalt credited to scrap
