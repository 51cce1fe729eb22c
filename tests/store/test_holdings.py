"""Holdings kept at capture: the same whatever order events arrive in, equal to a replay, and
equal to the items counted by class and each item's containers counted one by one. Derived
rows of a store captured before them: the migrations derive what capture writes."""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.epcis.model import Action, Document, Event, EventType, QuantityElement
from batterytrace.services import events as events_service
from batterytrace.services import ledger
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import database, holdings
from batterytrace.trace.lineage import class_of, node_id
from factories import T0, chain, item, lot

Rows = set[tuple[str, str, int, int]]  # (event that made the items, container, items, level)


def container(kind: str, n: int) -> str:
    return f"urn:epc:id:sgtin:3700000.{kind}.{n}"


def made(event_id: str, items: list[str], day: int) -> Event:
    return Event(
        type=EventType.TRANSFORMATION, eventTime=T0 + timedelta(days=day),
        eventTimeZoneOffset="+00:00", eventID=event_id,
        inputQuantityList=(QuantityElement(lot("C"), 1, "KGM"),), outputEPCList=tuple(items),
    )  # fmt: skip


def packed(event_id: str, parent: str, children: list[str], day: int, kind: EventType) -> Event:
    action = Action.ADD if day % 3 else Action.OBSERVE
    return Event(
        type=kind, eventTime=T0 + timedelta(days=day), eventTimeZoneOffset="+00:00",
        eventID=event_id, parentID=parent, childEPCs=tuple(children), action=action,
    )  # fmt: skip


def stored(uow: UnitOfWork) -> Rows:
    with uow.engine.connect() as conn:
        return set(
            conn.exec_driver_sql(
                "SELECT e.event_id, h.container, h.items, h.level"
                " FROM holding h JOIN event e ON e.seq = h.source"
            ).all()
        )


def expected(events: list[Event]) -> Rows:
    """Each item's containers, walked up one parent at a time, counted per container."""
    parent: dict[str, str] = {}
    for e in events:
        for child in e.childEPCs:
            if e.parentID:
                parent[node_id(child)] = node_id(e.parentID)
    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 99])
    for e in events:
        for x in e.outputEPCList:
            made = rows[e.eventID or "", class_of(node_id(x))]  # the items by class
            made[0], made[1] = made[0] + 1, 0
            node, level = node_id(x), 0
            while node in parent:
                node, level = parent[node], level + 1
                row = rows[e.eventID or "", node]
                row[0], row[1] = row[0] + 1, min(row[1], level)
    return {(event, c, n, level) for (event, c), (n, level) in rows.items()}


def forest(rng: random.Random) -> list[Event]:
    """Batches of cells made, packed into modules, packs and vehicles; some containments
    stated twice (an OBSERVE after the ADD)."""
    events: list[Event] = []
    cells = [item(i) for i in range(rng.randint(1, 40))]
    at = 0
    while at < len(cells):
        size = rng.randint(1, 12)
        events.append(made(f"urn:uuid:cells-{at}", cells[at : at + size], 1))
        at += size
    levels = [("010002", EventType.AGGREGATION), ("030001", EventType.AGGREGATION),
              ("040001", EventType.ASSOCIATION)]  # fmt: skip
    below, day = cells, 2
    for depth, (kind, event_type) in enumerate(levels):
        rng.shuffle(below)
        above: list[str] = []
        start = 0
        while start < len(below):
            n, size = len(above), rng.randint(1, 5)
            parent, children = container(kind, n), below[start : start + size]
            above.append(parent)
            events.append(packed(f"urn:uuid:{depth}-{n}", parent, children, day, event_type))
            if rng.random() < 0.2:
                again = children[: rng.randint(1, len(children))]
                events.append(
                    packed(f"urn:uuid:{depth}-{n}-again", parent, again, day + 3, event_type)
                )
            start, day = start + size, day + 1
        below = above
    return events


def capture_one_by_one(uow: UnitOfWork, events: list[Event]) -> None:
    for event in events:
        events_service.capture_document(
            uow, Document(kind="EPCISDocument", creationDate=T0, events=(event,))
        )


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False))
def test_holdings_do_not_depend_on_the_capture_order(rng: random.Random) -> None:
    events = forest(rng)
    shuffled = events[:]
    rng.shuffle(shuffled)
    with tempfile.TemporaryDirectory() as tmp:
        uow = unit_of_work(f"sqlite:///{Path(tmp) / 's.db'}", Path(tmp) / "key")
        ledger.init(uow)
        capture_one_by_one(uow, shuffled)
        assert stored(uow) == expected(events)
        with uow.engine.begin() as conn:
            holdings.rebuild(conn)
        assert stored(uow) == expected(events)
        uow.close()


def test_holdings_on_both_backends(uow: UnitOfWork) -> None:
    events = forest(random.Random(7))
    capture_one_by_one(uow, events[::-1])  # containers before the items they hold
    assert stored(uow) == expected(events)
    with uow.engine.begin() as conn:
        holdings.rebuild(conn)
    assert stored(uow) == expected(events)


def test_the_migrations_derive_what_capture_derived(uow: UnitOfWork) -> None:
    """Holdings and event figures of a store captured before them: the migrations that add
    them derive the same rows capture writes."""
    events = chain()
    events_service.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(events))
    )
    assert stored(uow) == expected(events) != set()
    figures = figure_rows(uow)
    assert len(figures) == 6  # three commissions, three transformations
    config = Config()
    config.set_main_option("script_location", str(Path(database.__file__).with_name("migrations")))
    with uow.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    database.migrate(uow.engine)
    assert stored(uow) == expected(events)
    assert figure_rows(uow) == figures


def figure_rows(uow: UnitOfWork) -> list[tuple[int, str]]:
    with uow.engine.connect() as conn:
        return list(conn.exec_driver_sql("SELECT seq, figures FROM event_figure ORDER BY seq"))
