"""Genealogy as a service: an object's sources or uses, with the element mass along every link,
what a container holds, and the element balance of every transformation."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from batterytrace.errors import QueryError
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import holdings
from batterytrace.store.lineage import StoreLineage
from batterytrace.trace.balance import DEFAULT_TOLERANCE, BalanceReport
from batterytrace.trace.balance import check as balance_of
from batterytrace.trace.genealogy import Trace, backward, forward
from batterytrace.trace.lineage import ELEMENT_NAMES, node_id


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector: a trace allocates tens of thousands of short-lived
    objects and no reference cycles, and the collections they would trigger (each walking
    every object the process holds) took two thirds of a forward trace's time."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def trace(
    uow: UnitOfWork, identifier: str, direction: str = "backward", element: str = "Co"
) -> Trace:
    """Genealogy of an object: ``backward`` to its sources or ``forward`` to its uses, with
    the element mass (kg) allocated along every link."""
    walk = {"backward": backward, "forward": forward}.get(direction)
    if walk is None:
        raise QueryError(f"direction: {direction!r} is not backward or forward")
    if element not in ELEMENT_NAMES:
        raise QueryError(f"element: {element!r} is not one of {', '.join(ELEMENT_NAMES)}")
    with uow.reading() as conn, _no_cycle_collection():
        return walk(StoreLineage(conn, uow.decoded), identifier, element)


def contents(uow: UnitOfWork, identifier: str) -> list[tuple[str, int]]:
    """Every object a container holds at any level (its modules at 1, their cells at 2),
    one by one, with the fewest containment steps to it."""
    with uow.reading() as conn:
        return holdings.inside(conn, node_id(identifier))


def check_balance(uow: UnitOfWork, tolerance: float = DEFAULT_TOLERANCE) -> BalanceReport:
    """Element mass in against out for every stored transformation."""
    with uow.reading() as conn:
        lineage = StoreLineage(conn)
        return balance_of(lineage, lineage.transformations(), tolerance=tolerance)
