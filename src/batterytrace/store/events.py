"""The event repository: idempotent capture of a document's events onto the hash chain, in
the caller's write transaction (the unit of work records the header's master data and signs
the heads in the same transaction: ``services.unit_of_work.Writing.capture``)."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any, cast

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from batterytrace import limits
from batterytrace.epcis import json_ld
from batterytrace.epcis.documents import EventStream
from batterytrace.epcis.model import Vocabulary
from batterytrace.errors import (
    BatteryTraceError,
    DuplicateEventConflict,
    InvalidDocument,
    StoreError,
)
from batterytrace.store import chain, holdings, schema
from batterytrace.store.driver import Driver
from batterytrace.store.records import Batch, EventRecord, canonical_id, prepare
from batterytrace.workers import Pool

if TYPE_CHECKING:
    import psycopg

BATCH = 1000
_WRITE = "batterytrace_write"


@dataclass(slots=True)
class CaptureResult:
    """What a capture did: events stored, duplicates skipped, the ledger head after it."""

    captured: int = 0
    duplicates: int = 0
    # the header's master data elements as stored: an import of their own, which the caller
    # records (ledger.imports, "vocabulary") in the capture's transaction
    vocabulary: list[dict[str, Any]] = field(default_factory=list, repr=False)
    # duplicates carrying an errorDeclaration: not applied to the stored event (decision 011)
    declarations_not_applied: int = 0
    duplicate_ids: list[str] = field(default_factory=list)
    capture_id: int | None = None
    head_seq: int = 0
    head: str = chain.GENESIS
    record_time: datetime | None = None
    fallback: str | None = None  # why the events were prepared in this process, not by workers

    @property
    def master_data_elements(self) -> int:
        """Vocabulary elements of the header, stored or updated."""
        return len(self.vocabulary)


def enable_write_locks(engine: Engine) -> None:
    """Writers take the write lock when their transaction begins (SQLite BEGIN IMMEDIATE).

    Without it two captures could read the same ledger head and one would fail late.
    """
    if engine.dialect.name != "sqlite" or getattr(engine, "_bt_locks", False):
        return

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    engine._bt_locks = True  # type: ignore[attr-defined]


@contextmanager
def write_lock(engine: Engine, what: str, ledger: bool = True) -> Iterator[Connection]:
    """A transaction that holds the ledger's write lock from its first statement (SQLite
    BEGIN IMMEDIATE, a PostgreSQL transaction-level advisory lock): writers serialise on it.
    ``ledger`` False: a write outside the ledger (the server's own tables), which takes
    SQLite's one write lock but not PostgreSQL's advisory one. A database error rolls it back,
    nothing written, and is one StoreError naming ``what``."""
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(**{_WRITE: True})
            with conn.begin():
                if ledger and conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(7262022)"))
                yield conn
    except BatteryTraceError:
        raise
    except SQLAlchemyError as exc:
        raise StoreError(
            f"{what} failed, nothing stored: {exc.__class__.__name__}: {exc}"
        ) from None


def capture(
    conn: Connection,
    stream: EventStream,
    source: str | None = None,
    owner: str | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int,
    admit: Callable[[EventRecord], None] | None = None,
) -> CaptureResult:
    """Store every event of ``stream`` on the chain, in the write transaction the caller holds
    (its checks and this capture commit together, or neither does), prepared by ``workers``
    processes; the header's master data are returned (``vocabulary``) for the caller to record.

    An event whose hash ID is stored (or came earlier in the stream) is a duplicate and
    skipped; an eventID stored with another hash ID rejects the capture. ``admit`` sees each
    event, duplicates too, before its batch is written, and refuses it by raising.
    """
    record_time = datetime.now(UTC)
    result = CaptureResult(record_time=record_time)
    head = conn.execute(
        select(schema.event.c.seq, schema.event.c.entry_hash)
        .order_by(schema.event.c.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (head[0], head[1]) if head else (0, chain.GENESIS)
    namespaces = stream.header.namespaces
    capture_id = conn.execute(
        insert(schema.capture)
        .values(
            record_time=int(record_time.timestamp() * 1000),
            source=source,
            owner=owner,
            captured=0,
            duplicates=0,
            namespaces=orjson.dumps(namespaces).decode(),
        )
        .returning(schema.capture.c.id)
    ).scalar_one()
    result.vocabulary = _vocabulary(stream.header.masterData, namespaces)
    done = 0
    sql = Driver(conn)
    analysed = max(seq, BATCH)  # the size the planner's statistics were last taken at
    for records in _prepared(stream, record_time, result, workers):
        if admit is not None:
            for r in records:
                admit(r)
        new = _new_records(sql, records, result)
        rows: list[tuple[Any, ...]] = []
        key_rows: list[tuple[str, str, int]] = []
        figure_rows: list[tuple[int, str]] = []
        for r in new:
            seq += 1
            prev = chain.entry_hash(prev, seq, r.hash_id, r.content.encode(), owner)
            rows.append(
                (
                    seq,
                    r.event_id,
                    r.hash_id,
                    r.content_digest,
                    owner,
                    capture_id,
                    r.content,
                    prev,
                    *_indexed(r.columns),
                )
            )
            key_rows.extend((role, value, seq) for role, value in r.keys)
            figure_rows.extend(((seq, r.figures),) if r.figures else ())
        _insert_many(conn, schema.event.name, _EVENT_COLUMNS, rows)
        _insert_many(conn, schema.event_key.name, ("role", "value", "seq"), key_rows)
        _insert_many(conn, schema.event_figure.name, ("seq", "figures"), figure_rows)
        if rows:
            holdings.record(conn, rows[0][0], seq)
        if seq >= 2 * analysed and conn.dialect.name == "postgresql":
            # the tables doubled in this transaction, which autovacuum cannot see: without
            # statistics of them, PostgreSQL looks hash IDs up by scanning every event
            conn.exec_driver_sql(f"ANALYZE {', '.join(_ANALYSED)}")
            analysed = seq
        result.captured += len(rows)
        done += len(records)
        if progress is not None:
            progress(done)
    if done == 0 and result.master_data_elements == 0:
        raise InvalidDocument("document: has neither events nor master data; nothing to capture")
    result.capture_id = capture_id
    result.head_seq, result.head = seq, prev
    conn.execute(
        schema.capture.update()
        .where(schema.capture.c.id == capture_id)
        .values(captured=result.captured, duplicates=result.duplicates)
    )
    return result


def stored_id(conn: Connection, hash_id: str) -> str | None:
    """The eventID of the stored event with this hash ID (CBV 2.0 §8.9), None when none is."""
    query = select(schema.event.c.event_id).where(schema.event.c.hash_id == hash_id)
    return conn.execute(query.limit(1)).scalar()


def _new_records(
    sql: Driver, records: list[EventRecord], result: CaptureResult
) -> list[EventRecord]:
    """The records not stored yet, in order (earlier batches of the capture are stored).

    The hash ID identifies an event's content (CBV 2.0 §8.9), whatever its syntax, identifier
    forms or eventID: a record whose hash ID is stored is a duplicate. An eventID stored with
    another hash ID is a conflict, which rejects the capture.
    """
    hash_of = dict(sql.rows(_BY_EVENT_ID, (sql.among({r.event_id for r in records}),)))
    stored = sql.rows(_STORED_HASHES, (sql.among({r.hash_id for r in records}),))
    hashes = {hash_id for (hash_id,) in stored}
    new: list[EventRecord] = []
    for r in records:
        if hash_of.setdefault(r.event_id, r.hash_id) != r.hash_id:
            raise DuplicateEventConflict(
                f"event {r.event_id}: eventID already stored with different content "
                f"(hash ID {hash_of[r.event_id]}); nothing was captured"
            )
        if r.hash_id in hashes:
            result.duplicates += 1
            result.declarations_not_applied += r.declares_error
            if len(result.duplicate_ids) < 100:
                result.duplicate_ids.append(r.event_id)
        else:
            hashes.add(r.hash_id)
            new.append(r)
    return new


def _vocabulary(
    vocabularies: Iterable[Vocabulary], namespaces: dict[str, str]
) -> list[dict[str, Any]]:
    """A header's master data elements as stored: JSON content, children as canonical ids."""
    out = []
    for voc in vocabularies:
        for element in voc.elements:
            names = json_ld.JsonNames(namespaces)
            obj = json_ld.vocabulary_element_to_json(element, names)
            extra = json_ld.extension_context(names.used)
            content = orjson.dumps({"@context": extra, **obj} if extra else obj).decode()
            children = [canonical_id(child) for child in element.children]
            out.append({"type": voc.type, "id": element.id, "content": content,
                        "parent": canonical_id(element.id), "children": children})  # fmt: skip
    return out


_ANALYSED = ("event", "event_key", "event_figure", "holding")  # the tables a capture grows
_BY_EVENT_ID = "SELECT event_id, hash_id FROM event WHERE event_id IN {texts}"
_STORED_HASHES = "SELECT hash_id FROM event WHERE hash_id IN {texts}"

# Bulk rows go to the driver directly: the SQLAlchemy Core layer costs more per row than SQLite
# itself; on PostgreSQL one binary COPY per batch and table, its column types named up front
# (the text format and per-value type look-ups cost the client twice the CPU), where an INSERT
# per row costs a round trip's worth of protocol each (bench/capture.py). Both run inside the
# capture's transaction.
_COLUMNS = (
    "event_type", "event_time", "record_time", "action", "biz_step", "disposition",
    "read_point", "biz_location", "transformation_id", "event_time_zone_offset",
)  # fmt: skip
_indexed = operator.itemgetter(*_COLUMNS)  # a record's indexed values in column order
_EVENT_COLUMNS = (
    "seq", "event_id", "hash_id", "content_digest", "owner", "capture_id", "content",
    "entry_hash", *_COLUMNS,
)  # fmt: skip


def _insert_many(
    conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        types = [_pg_type(conn, table, column) for column in columns]
        cursor = cast("psycopg.Cursor[Any]", conn.connection.cursor())
        with (
            cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, rows)


def _pg_type(conn: Connection, table: str, column: str) -> str:
    """The PostgreSQL type name of a column, as a binary COPY must be told it (``varchar``)."""
    declared = schema.metadata.tables[table].c[column].type.compile(conn.dialect)
    return declared.split("(")[0].lower()


def _prepared(
    stream: EventStream, record_time: datetime, result: CaptureResult, workers: int
) -> Iterator[list[EventRecord]]:
    """The stream's events decoded, checked and recorded, batch by batch, in order: past one
    batch in ``workers`` processes (:class:`batterytrace.workers.Pool`), each batch with the
    limits in force here and the stream's schema; the first error, by event
    index, stops the capture. Workers that cannot run leave the work to this process, and
    ``result.fallback`` says so."""
    namespaces, in_force = stream.header.namespaces, limits.in_force()
    starts = itertools.count(0, BATCH)
    batches = (
        Batch(next(starts), items, namespaces, stream.check, record_time, in_force, stream.schema)
        for items in iter(lambda: list(islice(stream.items, BATCH)), [])
    )
    pool = Pool(prepare, workers)  # spawned: nothing of the open database inherited
    yield from pool.map(batches, lambda batch: len(batch.items) == BATCH)
    if pool.fell_back is not None:
        result.fallback = (
            f"worker processes failed ({pool.fell_back}); the events were prepared in this process"
        )
