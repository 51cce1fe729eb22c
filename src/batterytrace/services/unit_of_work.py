"""The unit of work: one command, one transaction on the store (the pattern of "Architecture
Patterns with Python", ch. 6).

A service reads inside :meth:`UnitOfWork.reading` (one snapshot: every statement sees the same
ledger) and writes inside :meth:`UnitOfWork.writing`. A write transaction takes the ledger's
write lock before it reads anything (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock),
so what a command checks is what it writes on, and two writers serialise: the second checks
against what the first wrote. A caller holding what it read earlier names the ledger version it
read (``expected``): the write is refused (StaleVersion) when the ledger moved since, which is
optimistic concurrency across requests. The version is the number of the ledger's newest signed
checkpoint (every capture, import and custody act signs one); 0 before the first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine

from batterytrace import limits
from batterytrace.epcis.documents import EventStream
from batterytrace.errors import StaleVersion, StoreError
from batterytrace.ledger import checkpoint, imports, keys
from batterytrace.settings import Settings
from batterytrace.store import database, derived, events, organisations
from batterytrace.store.events import CaptureResult, enable_write_locks, write_lock
from batterytrace.store.lineage import Decoded
from batterytrace.store.records import EventRecord

T = TypeVar("T")

# How a unit of kept derived state is recomputed from the store: the rows of each of its areas.
Recompute = Callable[[Connection, Decoded], Mapping[str, derived.Rows]]
# How it goes on from its kept rows, which reflect the given inputs, to what the store holds
# now: the rows that change (content None: the row goes); None when it cannot (a new rule...).
Resume = Callable[
    [Connection, Decoded, derived.Inputs],
    Mapping[str, derived.Rows] | None,
]


class StartAgain(Exception):
    """Raised by a recomputation's rows when, some given already, they turn out to be other
    (a footprint refused midway, a way of figuring that does not hold for this store): what
    the rows given wrote is undone, and the rows ``rows`` gives, in the same transaction, are
    kept instead (decision 036)."""

    def __init__(self, rows: Recompute) -> None:
        super().__init__("a recomputation started again")
        self.rows = rows


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit of kept derived state (decisions 029, 032, 033): its name, how its rows are
    recomputed, the kinds of import record it reads besides the events, and how it goes on
    from its kept rows (``resume``) when it can. A write that added neither an event it reads
    nor such a record (a custody transfer or allocation, for the footprints) moves its
    watermark without a recomputation."""

    name: str
    recompute: Recompute
    kinds: frozenset[str]
    resume: Resume | None = None
    allocations: bool = True  # False: never reads an event that is an allocation only
    layout: int = 1  # of its rows: kept rows of another layout are recomputed, never read
    inner: frozenset[str] = frozenset()  # areas kept only to go on from: no answer reads them


def version(conn: Connection) -> int:
    """The ledger version a transaction sees: its newest checkpoint's number."""
    last = checkpoint.latest(conn)
    return 0 if last is None else last.number


@dataclass(slots=True)
class Writing:
    """An open write transaction: its connection, the version it started from, the key that
    signs what it records, the worker processes that prepare what it captures."""

    conn: Connection
    version: int
    signing_key: Ed25519PrivateKey
    workers: int
    signed: bool = False  # the transaction moved the ledger to a new version

    def capture(
        self,
        stream: EventStream,
        source: str | None = None,
        owner: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> CaptureResult:
        """Capture the events of ``stream`` (:func:`batterytrace.store.events.capture`), record
        its header's master data as an import of their own (replayed by verify) and sign the
        heads, all in this transaction; a capture that stores no new event and changes no
        master data signs nothing."""
        admit = None
        if owner is not None:  # an organisation's capture: only at sites it may write for
            registry = organisations.load(self.conn)
            owner = registry.known(owner)

            def admit(r: EventRecord) -> None:
                where = {
                    "readPoint": r.columns["read_point"],
                    "bizLocation": r.columns["biz_location"],
                }
                registry.admit(owner, r.event_id, {k: v for k, v in where.items() if v})

        result = events.capture(
            self.conn, stream, source, owner, progress, workers=self.workers, admit=admit
        )
        vocabulary = result.vocabulary
        _, recorded = imports.apply(self.conn, "vocabulary", "capture", vocabulary, source, owner)
        if result.captured or recorded is not None:
            self.sign()
        return result

    def record(
        self,
        kind: str,
        action: str,
        content: object,
        source: str | None = None,
        owner: str | None = None,
    ) -> tuple[imports.Effect, imports.ImportRecord | None]:
        """Write an import (or removal, or custody act) through its applier, record it in the
        ledger and sign the heads; one that changes nothing is neither recorded nor signed."""
        effect, record = imports.apply(self.conn, kind, action, content, source, owner)
        if record is not None:
            self.sign()
        return effect, record

    def sign(self) -> checkpoint.SignedHead:
        """Sign both chain heads as this transaction leaves them (decision 015)."""
        self.signed = True
        return checkpoint.sign(self.conn, self.signing_key)


class UnitOfWork:
    """The store at ``url`` with its ledger key at ``key_path`` (by default the settings'
    ``BATTERYTRACE_DB`` and ``BATTERYTRACE_KEY``): each :meth:`reading` or :meth:`writing` is
    one transaction. One instance serves many commands (what it decodes for traces is kept
    across them). ``settings``, read from the environment when not given, also set this
    process's limits (:func:`batterytrace.limits.configure`). ``follow_up`` runs after each
    write that moved the ledger, once it is committed: the refresh of the kept derived state
    (decision 029), given by whoever assembles the services (``services.bootstrap``)."""

    def __init__(
        self,
        url: str | None = None,
        key_path: Path | None = None,
        settings: Settings | None = None,
        follow_up: Callable[[UnitOfWork], object] | None = None,
    ) -> None:
        self.follow_up = follow_up
        self.settings = settings or Settings()
        limits.configure(self.settings.limits)
        self.url = url or self.settings.db
        self.key_path = key_path or self.settings.key
        self.engine: Engine = database.connect(self.url)
        enable_write_locks(self.engine)
        self.decoded = Decoded()  # events and materials decoded for traces, kept across them
        self._memo: dict[str, tuple[int, object]] = {}
        self._initialised = False  # the schema check runs once, not per command

    def decoded_rows(self, conn: Connection, name: str, decode: Callable[[], T]) -> T:
        """What ``decode`` makes of kept rows, made again only when a kept row changed since
        it was last made (:func:`batterytrace.store.derived.stamp`): a server decodes a large
        kept row once per refresh, not once per request."""
        now = derived.stamp(conn)
        kept = self._memo.get(name)
        if kept is None or kept[0] != now:
            kept = (now, decode())
            self._memo[name] = kept
        return cast(T, kept[1])

    def ready(self) -> None:
        """StoreError unless the store has been initialised."""
        if not self._initialised and database.revision(self.engine) is None:
            raise StoreError(
                f"{self.url}: no batterytrace store here; run `batterytrace init` first"
            )
        self._initialised = True

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """One read transaction (a snapshot on PostgreSQL; on SQLite one WAL read mark)."""
        self.ready()
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def writing(self, what: str, expected: int | None = None) -> Iterator[Writing]:
        """One write transaction under the ledger's write lock, committed when the block ends
        and rolled back, nothing written, when it raises. ``expected``: the version the caller
        read; StaleVersion when the ledger has moved since. A write that moved the ledger is
        followed, once committed, by ``follow_up`` (in transactions of its own)."""
        self.ready()
        signing_key = keys.load_private(self.key_path)
        with write_lock(self.engine, what) as conn:
            now = version(conn)
            if expected is not None and expected != now:
                raise StaleVersion(
                    f"{what}: the ledger moved from version {expected} to {now} since it was "
                    "read; read again and retry"
                )
            w = Writing(conn, now, signing_key, self.settings.workers)
            yield w
        if w.signed and self.follow_up is not None:
            self.follow_up(self)

    @contextmanager
    def keeping(self, what: str) -> Iterator[Connection]:
        """One write transaction on the server's own tables (API clients, capture jobs, named
        queries, subscriptions: decision 039), outside the ledger: it neither takes the
        ledger's lock on PostgreSQL nor signs anything."""
        self.ready()
        with write_lock(self.engine, what, ledger=False) as conn:
            yield conn

    def record(
        self,
        kind: str,
        action: str,
        content: object,
        source: str | None = None,
        owner: str | None = None,
    ) -> tuple[imports.Effect, imports.ImportRecord | None]:
        """Write an import (or removal) through its applier, record it in the ledger and sign
        the heads, all or nothing, in a write transaction of its own (:meth:`Writing.record`)."""
        with self.writing(f"{kind} {action}") as w:
            return w.record(kind, action, content, source, owner)

    def refresh(self, unit: Unit, every: bool = False) -> list[tuple[str, str]]:
        """Bring a unit of kept derived state to the ledger's version, unless it is there
        already (``every``: recompute it all the same): when nothing it reads changed since its
        rows were made, its watermark moved alone; else the rows it can go on from its kept
        rows to (``Unit.resume``), or else all its rows recomputed, written where they differ;
        in one write transaction (a crash leaves the state of the version before). The (area,
        key) of the rows that changed."""
        if not every:
            with self.reading() as conn:  # the common case, up to date: no write lock taken
                if derived.current(conn, unit.name, unit.layout, version(conn)):
                    return []
        with self.writing(f"{unit.name} refresh") as w:
            now = datetime.now(UTC)
            if not every and derived.current(w.conn, unit.name, unit.layout, w.version):
                return []
            read = derived.inputs_of(w.conn, unit.kinds, unit.allocations, unit.layout)
            kept = derived.inputs(w.conn, unit.name)
            if not every and kept == read:
                derived.advance(w.conn, unit.name, w.version, now)
                return []
            if not every and kept is not None and kept.layout == unit.layout and unit.resume:
                patch = unit.resume(w.conn, self.decoded, kept)
                if patch is not None:
                    with suppress(StartAgain), w.conn.begin_nested():  # else recomputed
                        return derived.replace(
                            w.conn, unit.name, patch, w.version, now, read, whole=False
                        )
            try:
                rows = unit.recompute(w.conn, self.decoded)
                with w.conn.begin_nested():  # what the rows given wrote, undone if they stop
                    return derived.replace(w.conn, unit.name, rows, w.version, now, read)
            except StartAgain as again:
                rows = again.rows(w.conn, self.decoded)
                return derived.replace(w.conn, unit.name, rows, w.version, now, read)

    def close(self) -> None:
        self.engine.dispose()
