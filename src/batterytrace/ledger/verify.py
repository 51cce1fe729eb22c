"""Verify the ledger from the raw rows: event hash IDs, the chain, derived rows, checkpoints.

Nothing stored is trusted: each event's hash ID is recomputed from its content, each chain entry
from its predecessor, each indexed column, key row and event figure re-derived from the
content, the holdings derived again from the events (ledger.derived), and each checkpoint
signature checked with the public key kept outside the database (decision 015: every entry and
import record is covered by a signed head). The first entry that does not match is named, and
the table and row where a derived row differs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, Row, func, select

from batterytrace.epcis.hash import event_hash
from batterytrace.errors import BatteryTraceError
from batterytrace.ledger import checkpoint, derived, imports
from batterytrace.ledger.checkpoint import SignedHead
from batterytrace.store import chain, schema
from batterytrace.store.records import columns, event_from_content, figures, keys

_E = schema.event
_K = schema.event_key
_F = schema.event_figure

# What a verification is doing ("entries", then "holdings"), how far it is, and out of how many.
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class Failure:
    seq: int
    event_id: str | None
    reason: str

    def __str__(self) -> str:
        who = f"entry {self.seq}" + (f" (event {self.event_id})" if self.event_id else "")
        return f"{who}: {self.reason}"


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    checkpoints: int = 0
    head: str = chain.GENESIS
    failure: Failure | None = None
    broken: int = 0  # entries that fail their own check, the first named in ``failure``
    records: int = 0  # import records (ledger.imports)
    import_failure: str | None = None
    checkpoint_failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None and self.import_failure is None and not self.checkpoint_failures


def verify(
    engine: Engine,
    public_key: Ed25519PublicKey,
    progress: Progress | None = None,
    against: SignedHead | None = None,
) -> VerifyReport:
    """Walk the whole ledger in order; name the first entry that does not match and count the
    entries that fail their own check after it; derive the holdings again from a sound walk and
    compare them with the stored ones; then the import records and the signed heads (and a head
    exported earlier, ``against``)."""
    report = VerifyReport()
    heads: dict[int, str] = {0: chain.GENESIS}
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # one snapshot for the walk and the holdings
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        total = conn.execute(select(func.count()).select_from(_E)).scalar_one()
        checkpoints = checkpoint.stored(conn)
        wanted = {c.seq for c in checkpoints} | ({against.seq} if against else set())
        # streamed by statement: options set on the connection would stay for the DDL below
        key_rows = conn.execute(
            select(_K.c.seq, _K.c.role, _K.c.value)
            .order_by(_K.c.seq, _K.c.role, _K.c.value)
            .execution_options(yield_per=20_000)
        )
        figure_rows = conn.execute(
            select(_F.c.seq, _F.c.figures).order_by(_F.c.seq).execution_options(yield_per=20_000)
        )
        rederived = (
            _Derived(
                _key_groups(key_rows),
                lambda content: set(keys(event_from_content(content))),
                set(),
                "indexed keys",
                "event_key",
            ),
            _Derived(
                ((seq, text) for seq, text in figure_rows),
                lambda content: figures(orjson.loads(content)),
                None,
                "event figures",
                "event_figure",
            ),
        )
        rows = conn.execute(select(_E).order_by(_E.c.seq).execution_options(yield_per=5_000))
        prev, expected_seq = chain.GENESIS, 1
        for row in rows:
            failure, entry = _check_entry(row, expected_seq, prev)
            if report.failure is None:
                for rows_of in rederived if failure is None else ():
                    failure = failure or rows_of.check(row)
                report.failure = failure
            if failure is not None:
                # each later entry is judged on its own, against the entry stored before it
                report.broken += 1
                entry = row.entry_hash
            elif report.failure is None:
                report.entries, report.head = report.entries + 1, entry
                if row.seq in wanted:
                    heads[row.seq] = entry
                if progress is not None and report.entries % 10_000 == 0:
                    progress("entries", report.entries, total)
            prev, expected_seq = entry, row.seq + 1
        if report.failure is None:
            report.failure = next((f for d in rederived if (f := d.orphans())), None)
        if report.failure is None and total != report.entries:
            report.failure = Failure(report.entries + 1, None, "entries are missing from the chain")
        found = None
        if report.failure is None:
            found = derived.check_holdings(conn, _phase(progress, "holdings", report.entries))
        recorded = imports.check(conn)
    report.records, report.import_failure = recorded.records, recorded.failure
    report.checkpoints = len(checkpoints)
    trusted = checkpoint.Keys(public_key, recorded.rotations)
    event_heads = heads if report.failure is None else None
    report.checkpoint_failures = checkpoint.check(
        checkpoints, trusted, event_heads, recorded.heads, total, recorded.records
    )
    if against is not None:
        report.checkpoint_failures += checkpoint.check_against(
            against, checkpoints, trusted, event_heads, recorded.heads, total, recorded.records
        )
    if found is not None:  # after the heads: the events themselves are sound
        report.failure = Failure(*found)
    return report


def _phase(progress: Progress | None, what: str, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda done: progress(what, done, total)


def _check_entry(row: Row[Any], expected_seq: int, prev: str) -> tuple[Failure | None, str]:
    """Chain link, hash ID and derived columns of one entry; returns the entry hash."""
    seq, event_id = row.seq, row.event_id
    if seq != expected_seq:
        return Failure(expected_seq, None, f"entry missing (the next stored entry is {seq})"), prev
    entry = chain.entry_hash(prev, seq, row.hash_id, row.content.encode(), row.owner)
    if entry != row.entry_hash:
        return Failure(
            seq, event_id, "chain entry does not match its content and predecessor"
        ), prev
    try:
        event = event_from_content(row.content)
        recomputed = event_hash(event)
    except (BatteryTraceError, ValueError) as exc:
        return Failure(seq, event_id, f"stored content is not a valid event ({exc})"), entry
    if recomputed != row.hash_id:
        return Failure(seq, event_id, f"hash ID does not match the content ({recomputed})"), entry
    if event_id not in (event.eventID, recomputed):
        return Failure(seq, event_id, "event_id column does not match the content"), entry
    if event.recordTime is None:
        return Failure(seq, event_id, "stored content has no recordTime"), entry
    for name, value in columns(event, event.recordTime).items():
        if getattr(row, name) != value:
            stored = getattr(row, name)
            reason = f"column {name} = {stored!r} differs from the content ({value!r})"
            return Failure(seq, event_id, reason), entry
    return None, entry


class _Derived:
    """Rows derived from each entry's content (key rows, figures), stored per entry and walked
    alongside the entries in ledger order: each must equal what the content gives again."""

    def __init__(
        self,
        groups: Iterator[tuple[int, object]],
        derive: Callable[[str], object],
        absent: object,
        what: str,
        table: str,
    ) -> None:
        self._groups, self._derive, self._absent, self._what = groups, derive, absent, what
        self._table = table
        self._pending = next(self._groups, None)

    def check(self, row: Row[Any]) -> Failure | None:
        if self._pending is not None and self._pending[0] < row.seq:
            return self.orphans()
        own = self._absent
        if self._pending is not None and self._pending[0] == row.seq:
            own = self._pending[1]
            self._pending = next(self._groups, None)
        derived = self._derive(row.content)
        if own != derived:
            reason = f"{self._what} differ from the content ({self._difference(own, derived)})"
            return Failure(row.seq, row.event_id, reason)
        return None

    def _difference(self, stored: object, derived: object) -> str:
        """The row that differs: a key row (role, value) stored or missing, or the figures."""
        if isinstance(stored, set) and isinstance(derived, set):
            extra, missing = sorted(stored - derived), sorted(derived - stored)
            if extra:
                return f"{self._table} row {extra[0]} is not in the content"
            return f"{self._table} row {missing[0]} is missing"
        if stored is None:
            return f"{self._table} row is missing"
        if derived is None:
            return f"{self._table} row is stored for an event without figures"
        return f"{self._table} row holds other figures"

    def orphans(self) -> Failure | None:
        if self._pending is None:
            return None
        return Failure(
            self._pending[0],
            None,
            f"{self._what} ({self._table} rows) exist for an entry not stored",
        )


def _key_groups(rows: Iterable[tuple[int, str, str]]) -> Iterator[tuple[int, object]]:
    """The key rows (in seq order) as one set of (role, value) per entry."""
    for seq, group in itertools.groupby(rows, key=lambda row: row[0]):
        yield seq, {(role, value) for _, role, value in group}
