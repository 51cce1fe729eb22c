"""Kept derived state as a service (decision 029): refreshed after writes, rebuilt on demand,
and compared with a fresh recomputation.

Each unit of kept state names how it is recomputed from the store: the rows of each of its
areas (store.derived): custody (accounts, claims per lot, violations; decision 029), carbon
(each product's footprint figures) and contracts (shipments, findings; decision 032).
"""

from __future__ import annotations

from itertools import islice
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from batterytrace.services import carbon, contracts, custody
from batterytrace.services.unit_of_work import Unit, UnitOfWork, version
from batterytrace.store import derived

UNITS: tuple[Unit, ...] = (custody.UNIT, carbon.UNIT, contracts.UNIT)


class Refreshed(BaseModel):
    """What a refresh or rebuild did: the version the kept state now reflects, the rows that
    changed (area, key)."""

    model_config = ConfigDict(frozen=True)

    version: int
    units: list[str]
    changed: list[tuple[str, str]]


class Difference(BaseModel):
    """The first kept row that is not what a recomputation gives."""

    model_config = ConfigDict(frozen=True)

    unit: str
    area: str
    key: str
    kept: str | None  # None: the row is missing
    recomputed: str | None  # None: the row should not be there
    kept_version: int | None  # the version the kept state says it reflects
    version: int  # the ledger version recomputed


def refresh(uow: UnitOfWork, every: bool = False) -> Refreshed:
    """Bring each unit whose watermark is behind the ledger up to date (``every``: all units,
    as ``batterytrace rebuild``), each in one transaction."""
    changed: list[tuple[str, str]] = []
    for unit in UNITS:
        changed += uow.refresh(unit, every)
    with uow.reading() as conn:
        now = version(conn)
    return Refreshed(version=now, units=[unit.name for unit in UNITS], changed=changed)


def check(uow: UnitOfWork) -> Difference | None:
    """Recompute every unit in one read transaction and compare with the kept rows: the first
    difference (a unit behind the ledger is one), or None when the kept state is what the
    events and inputs give."""
    with uow.reading() as conn:
        now = version(conn)
        for unit in UNITS:
            kept_version = derived.watermark(conn, unit.name)
            if kept_version != now:
                return Difference(unit=unit.name, area="", key="", kept=None, recomputed=None,
                                  kept_version=kept_version, version=now)  # fmt: skip
            for area, rows in unit.recompute(conn, uow.decoded).items():
                for first in islice(derived.differences(conn, area, rows), 1):
                    return Difference(unit=unit.name, area=area, key=first.key,
                                      kept=first.before, recomputed=first.after,
                                      kept_version=kept_version, version=now)  # fmt: skip
    return None


class Changed(BaseModel):
    """One kept row a refresh changed: its content (JSON) before and after, None where the row
    was not there or is gone."""

    model_config = ConfigDict(frozen=True)

    version: int  # the ledger version the refresh reached
    area: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def summary(self) -> str:
        """The fields that changed, scalars with their values: ``balance: 7.6 -> 2.6``."""
        if self.before is None or self.after is None:
            return "new" if self.before is None else "gone"
        said = []
        for name in self.after.keys() | self.before.keys():
            was, now = self.before.get(name), self.after.get(name)
            if was == now:
                continue
            scalar = not isinstance(was, list | dict) and not isinstance(now, list | dict)
            said.append(f"{name}: {was} -> {now}" if scalar else f"{name} changed")
        return "; ".join(sorted(said))


class Changes(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int  # the version the kept state reflects now
    since: int
    changes: list[Changed]


def changes(uow: UnitOfWork, since: int = 0) -> Changes:
    """What the kept state's refreshes after ledger version ``since`` changed (brought up to
    date first), row by row in the order they were made."""
    done = refresh(uow)
    with uow.reading() as conn:
        found = derived.changes_since(conn, since)
    return Changes(version=done.version, since=since, changes=[
        Changed(version=at, area=c.area, key=c.key,
                before=None if c.before is None else orjson.loads(c.before),
                after=None if c.after is None else orjson.loads(c.after))
        for at, c in found
    ])  # fmt: skip
