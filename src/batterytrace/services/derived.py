"""Kept derived state as a service (decision 029): refreshed after writes, rebuilt on demand,
and compared with a fresh recomputation.

Each unit of kept state names how it is recomputed from the store: the rows of each of its
areas (store.derived): custody (accounts, claims per lot, violations; decision 029), carbon
(each product's footprint figures) and contracts (shipments, findings; decision 032).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection

from batterytrace.services import carbon, contracts, custody
from batterytrace.services.unit_of_work import StartAgain, Unit, UnitOfWork, version
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

    def __str__(self) -> str:
        if not self.area and self.kept_version == self.version:
            return (f"kept {self.unit} rows are laid out by an older version of batterytrace: "
                    "run `batterytrace rebuild`")  # fmt: skip
        if not self.area:
            return (f"kept {self.unit} state reflects version {self.kept_version}, the ledger is "
                    f"at {self.version}: run `batterytrace rebuild`")  # fmt: skip
        what = (
            "missing" if self.kept is None
            else "not in a recomputation" if self.recomputed is None
            else "differs"
        )  # fmt: skip
        return f"kept {self.area} row {self.key!r} {what} (version {self.version})"


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
            if not derived.current(conn, unit.name, unit.layout, now):
                return Difference(unit=unit.name, area="", key="", kept=None, recomputed=None,
                                  kept_version=kept_version, version=now)  # fmt: skip
            try:  # every row given, the first difference kept: the rows may start again
                found = _first_difference(conn, unit.recompute(conn, uow.decoded))
            except StartAgain as again:
                found = _first_difference(conn, again.rows(conn, uow.decoded))
            if found is not None:
                area, first = found
                return Difference(unit=unit.name, area=area, key=first.key, kept=first.before,
                                  recomputed=first.after, kept_version=kept_version,
                                  version=now)  # fmt: skip
    return None


def _first_difference(
    conn: Connection, areas: Mapping[str, derived.Rows]
) -> tuple[str, derived.Change] | None:
    found = None
    for area, rows in areas.items():
        for change in derived.differences(conn, area, rows):
            found = found or (area, change)
    return found


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
        """What changed, down to each value: ``balance: 7.6 -> 2.6; statements[2025-Q1]: new;
        statements[2025-Q2].opening: 0.0 -> 8.0`` (list items paired by their period, claim or
        id when they have one, else by place); what a unit keeps only to go on from (``held``,
        ``state``) left out."""
        if self.before is None or self.after is None:
            return "new" if self.before is None else "gone"
        said: list[str] = []
        _differences("", self.before, self.after, said)
        return "; ".join(said)


_KEPT_TO_GO_ON = frozenset({"held", "state"})  # decision 033: state, not an answer


def _differences(path: str, was: Any, now: Any, said: list[str]) -> None:
    if was == now:
        return
    if isinstance(was, dict) and isinstance(now, dict):
        for name in sorted(was.keys() | now.keys()):
            if not (path == "" and name in _KEPT_TO_GO_ON):
                _differences(f"{path}.{name}" if path else name, was.get(name), now.get(name), said)
    elif (
        isinstance(was, list)
        and isinstance(now, list)
        and ((named := _named(was, now)) is not None or len(was) == len(now))
    ):
        pairs = named or {str(n): ab for n, ab in enumerate(zip(was, now, strict=True))}
        for label, (a, b) in pairs.items():
            _differences(f"{path}[{label}]", a, b, said)
    elif was is None or now is None:
        said.append(f"{path}: {'new' if was is None else 'gone'}" if isinstance(was or now, dict)
                    else f"{path}: {was} -> {now}")  # fmt: skip
    elif isinstance(was, list | dict) or isinstance(now, list | dict):
        said.append(f"{path} changed")
    else:
        said.append(f"{path}: {was} -> {now}")


def _named(was: list[Any], now: list[Any]) -> dict[str, tuple[Any, Any]] | None:
    """Two lists of items named by the same key (period, claim or id), paired by name; None
    when they are not."""
    for name in ("period", "claim", "id"):
        items = was + now
        if items and all(isinstance(i, dict) and i.get(name) is not None for i in items):
            before = {str(i[name]): i for i in was}
            after = {str(i[name]): i for i in now}
            if len(before) == len(was) and len(after) == len(now):
                return {
                    k: (before.get(k), after.get(k)) for k in sorted(before.keys() | after.keys())
                }
    return None


class Changes(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int  # the version the kept state reflects now
    since: int
    changes: list[Changed]


def changes(uow: UnitOfWork, since: int = 0) -> Changes:
    """What the kept state's refreshes after ledger version ``since`` changed (brought up to
    date first), row by row in the order they were made; the rows of areas kept only to go
    on from (``Unit.inner``) left out."""
    done = refresh(uow)
    inner = {area for unit in UNITS for area in unit.inner}
    with uow.reading() as conn:
        found = [(at, c) for at, c in derived.changes_since(conn, since) if c.area not in inner]
    return Changes(version=done.version, since=since, changes=[
        Changed(version=at, area=c.area, key=c.key,
                before=None if c.before is None else orjson.loads(c.before),
                after=None if c.after is None else orjson.loads(c.after))
        for at, c in found
    ])  # fmt: skip
