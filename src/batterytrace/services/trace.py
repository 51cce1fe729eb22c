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
from batterytrace.store import holdings, organisations, readers
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
    uow: UnitOfWork,
    identifier: str,
    direction: str = "backward",
    element: str = "Co",
    reader: str | None = None,
) -> Trace:
    """Genealogy of an object: ``backward`` to its sources or ``forward`` to its uses, with
    the element mass (kg) allocated along every link; as ``reader`` (an organisation) sees
    it (:meth:`Trace.restricted`): an object no event it may read names is unknown to it."""
    walk = {"backward": backward, "forward": forward}.get(direction)
    if walk is None:
        raise QueryError(f"direction: {direction!r} is not backward or forward")
    if element not in ELEMENT_NAMES:
        raise QueryError(f"element: {element!r} is not one of {', '.join(ELEMENT_NAMES)}")
    with uow.reading() as conn, _no_cycle_collection():
        grants = organisations.grants(conn, reader)
        if grants is not None and not readers.named_in_readable(
            conn, grants, [node_id(identifier)]
        ):
            raise Untraced(f"{identifier}: no stored event mentions this identifier")
        try:
            found = walk(StoreLineage(conn, uow.decoded), identifier, element)
        except UnknownObject as exc:
            raise Untraced(str(exc)) from None
        if grants is None:
            return found
        keys = {link.step for link in found.links}
        keys.update(h.event for o in found.objects.values() for h in o.custody)
        return found.restricted(readers.readable_keys(conn, grants, keys).__contains__)


def trace_json(
    uow: UnitOfWork,
    identifier: str,
    direction: str = "backward",
    element: str = "Co",
    items: bool = False,
    reader: str | None = None,
) -> dict[str, Any]:
    """A trace as JSON (:meth:`Trace.to_json`) as ``reader`` sees it; with ``items``,
    ``held``: every object the start holds at any level, with its containment level
    (:func:`contents`)."""
    body = trace(uow, identifier, direction, element, reader).to_json()
    if items:
        held = contents(uow, identifier, reader)
        body["held"] = [{"id": node, "level": level} for node, level in held]
    return body


def contents(uow: UnitOfWork, identifier: str, reader: str | None = None) -> list[tuple[str, int]]:
    """Every object a container holds at any level (its modules at 1, their cells at 2),
    one by one, with the fewest containment steps to it; those an event ``reader`` may read
    names."""
    with uow.reading() as conn:
        held = holdings.inside(conn, node_id(identifier))
        grants = organisations.grants(conn, reader)
        if grants is None:
            return held
        named = readers.named_in_readable(conn, grants, [node for node, _ in held])
        return [(node, level) for node, level in held if node in named]


def check_balance(
    uow: UnitOfWork, tolerance: float = DEFAULT_TOLERANCE, reader: str | None = None
) -> BalanceReport:
    """Element mass in against out for every stored transformation ``reader`` may read."""
    with uow.reading() as conn:
        lineage = StoreLineage(conn)
        steps = lineage.transformations()
        grants = organisations.grants(conn, reader)
        if grants is not None:
            every = list(steps)
            ok = readers.readable_keys(conn, grants, [step.key for step, _ in every])
            steps = iter([(step, yields) for step, yields in every if step.key in ok])
        return balance_of(lineage, steps, tolerance=tolerance)


def balance_json(report: BalanceReport) -> dict[str, Any]:
    """An element balance report as JSON: ok, counts, each violation and unchecked step."""
    return {"ok": report.ok, "steps": report.steps, "checked": report.checked,
            "violations": [f.to_json() for f in report.violations],
            "unchecked": [f.to_json() for f in report.unchecked]}  # fmt: skip


def check_json(
    uow: UnitOfWork, tolerance: float = DEFAULT_TOLERANCE, reader: str | None = None
) -> dict[str, Any]:
    """The element balance of every stored transformation ``reader`` may read
    (:func:`check_balance`) as JSON."""
    return balance_json(check_balance(uow, tolerance, reader))
