"""Genealogy as a service: an object's sources or uses, with the element mass along every link,
what a container holds, and the element balance of every transformation; each as the JSON the
command's ``--json`` prints and the API serves (one body for both)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from batterytrace.errors import NoSuchResource, QueryError
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import holdings
from batterytrace.store.lineage import StoreLineage
from batterytrace.trace.balance import DEFAULT_TOLERANCE, BalanceReport
from batterytrace.trace.balance import check as balance_of
from batterytrace.trace.genealogy import Trace, UnknownObject, backward, forward
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


class Untraced(UnknownObject, NoSuchResource):
    """No stored event mentions the object a trace starts from: an unknown identifier (the
    API answers 404)."""


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
        try:
            return walk(StoreLineage(conn, uow.decoded), identifier, element)
        except UnknownObject as exc:
            raise Untraced(str(exc)) from None


def trace_json(
    uow: UnitOfWork,
    identifier: str,
    direction: str = "backward",
    element: str = "Co",
    items: bool = False,
) -> dict[str, Any]:
    """A trace as JSON (:meth:`Trace.to_json`); with ``items``, ``held``: every object the
    start holds at any level, with its containment level (:func:`contents`)."""
    body = trace(uow, identifier, direction, element).to_json()
    if items:
        body["held"] = [{"id": node, "level": level} for node, level in contents(uow, identifier)]
    return body


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


def balance_json(report: BalanceReport) -> dict[str, Any]:
    """An element balance report as JSON: ok, counts, each violation and unchecked step."""
    return {"ok": report.ok, "steps": report.steps, "checked": report.checked,
            "violations": [f.to_json() for f in report.violations],
            "unchecked": [f.to_json() for f in report.unchecked]}  # fmt: skip


def check_json(uow: UnitOfWork, tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """The element balance of every stored transformation (:func:`check_balance`) as JSON."""
    return balance_json(check_balance(uow, tolerance))
