"""Offtake agreements as a service: imported, read, and delivered by the stored events."""

from __future__ import annotations

from sqlalchemy import Connection

from batterytrace.contracts.agreement import Agreement
from batterytrace.contracts.deliveries import Deliveries
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import contracts as contracts_store
from batterytrace.store import custody as custody_store
from batterytrace.store.imported import Imported


def import_contracts(
    uow: UnitOfWork,
    agreements: list[Agreement],
    source: str | None = None,
    owner: str | None = None,
) -> Imported:
    """Add or replace offtake agreements (by id); one stored already as given is left as
    it is."""
    content = [a.to_json() for a in agreements]
    return uow.record("contracts", "import", content, source, owner)[0]["agreements"]


def contracts(uow: UnitOfWork) -> list[Agreement]:
    """Every stored agreement."""
    with uow.reading() as conn:
        return contracts_store.load(conn)


def deliveries_of(conn: Connection) -> Deliveries:
    """Every agreement's shipments and findings, read from the stored events in ``conn``'s
    transaction."""
    state = Deliveries(contracts_store.load(conn))
    for event in custody_store.lot_events(conn):
        state.apply(event)
    return state


def deliveries(uow: UnitOfWork) -> Deliveries:
    """Every agreement's shipments and findings, read from the stored events."""
    with uow.reading() as conn:
        return deliveries_of(conn)
