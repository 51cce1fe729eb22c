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

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from batterytrace.errors import BatteryTraceError, StaleVersion, StoreError
from batterytrace.ledger import checkpoint, imports, keys
from batterytrace.store import database
from batterytrace.store.events import enable_write_locks, write_lock
from batterytrace.store.lineage import Decoded


def version(conn: Connection) -> int:
    """The ledger version a transaction sees: its newest checkpoint's number."""
    last = checkpoint.latest(conn)
    return 0 if last is None else last.number


@dataclass(slots=True)
class Writing:
    """An open write transaction: its connection, the version it started from, the key that
    signs what it records."""

    conn: Connection
    version: int
    signing_key: Ed25519PrivateKey

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
        return checkpoint.sign(self.conn, self.signing_key)


class UnitOfWork:
    """The store at ``url`` (``BATTERYTRACE_DB``) with its ledger key at ``key_path``
    (``BATTERYTRACE_KEY``): each :meth:`reading` or :meth:`writing` is one transaction.
    One instance serves many commands (what it decodes for traces is kept across them)."""

    def __init__(self, url: str | None = None, key_path: Path | None = None) -> None:
        self.url = url or database.database_url()
        self.key_path = key_path or keys.key_path()
        self.engine: Engine = database.connect(self.url)
        enable_write_locks(self.engine)
        self.decoded = Decoded()  # events and materials decoded for traces, kept across them
        self._initialised = False  # the schema check runs once, not per command

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
        read; StaleVersion when the ledger has moved since."""
        self.ready()
        signing_key = keys.load_private(self.key_path)
        try:
            with write_lock(self.engine) as conn:
                now = version(conn)
                if expected is not None and expected != now:
                    raise StaleVersion(
                        f"{what}: the ledger moved from version {expected} to {now} since it was "
                        "read; read again and retry"
                    )
                yield Writing(conn, now, signing_key)
        except BatteryTraceError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(
                f"{what} failed, nothing stored: {exc.__class__.__name__}: {exc}"
            ) from None

    def close(self) -> None:
        self.engine.dispose()
