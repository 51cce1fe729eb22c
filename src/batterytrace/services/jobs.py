"""Capture jobs (EPCIS 2.0 REST binding, ``/capture``): a document is received, checked for
size and syntax, kept, and captured off the request by the server's job runner; the job then
says whether it succeeded and, when not, why, event by event (decision 039).

``rollback`` (the default, EPCIS 1.2's all or nothing): one bad event rejects the document,
and every bad event is named. ``proceed``: the good events are captured and the bad ones named;
one the store refuses (an eventID stored with another content) is found by halving the batch.
A job is a row until it is done: a server that stops midway runs it again when it starts, and
capture's idempotence makes that safe (its events already stored are duplicates).
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from batterytrace.epcis import documents
from batterytrace.epcis.documents import EventStream
from batterytrace.epcis.model import Document, Event
from batterytrace.errors import (
    BatteryTraceError,
    CaptureLimitExceeded,
    InvalidDocument,
    InvalidIdentifier,
    NoSuchResource,
)
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import jobs as store
from batterytrace.store.events import CaptureResult
from batterytrace.store.jobs import JobRow

BEHAVIOURS = ("rollback", "proceed")
_READ_ERRORS = (InvalidDocument, InvalidIdentifier, RecursionError, UnicodeDecodeError)


class JobError(BaseModel):
    """Why (part of) a job failed: the error's class, its one line, the event it is about."""

    error: str
    detail: str
    event_index: int | None = None


class CaptureJob(BaseModel):
    """A job as the REST binding shows it (``CaptureJob``), with what the capture stored."""

    captureID: str
    createdAt: datetime
    finishedAt: datetime | None = None
    running: bool
    success: bool
    captureErrorBehaviour: str
    errors: list[JobError]
    captured: int | None = None  # events stored
    duplicates: int | None = None  # events already stored, skipped
    ledgerVersion: int | None = None  # the ledger version once the job's events were stored


def received(body: bytes, limit: int) -> int:
    """How many events the document ``body`` holds, read for syntax only; InvalidDocument
    when it is no EPCIS document, CaptureLimitExceeded past ``limit`` events."""
    with _file(body) as path:
        count = 0
        for _ in documents.stream(path, check=False).items:
            count += 1
            if count > limit:
                raise CaptureLimitExceeded(
                    f"document: more than {limit:,} events (GS1-EPCIS-Capture-Limit); "
                    "split it into several captures"
                )
    return count


def submit(
    uow: UnitOfWork, client_id: str, organisation: str | None, body: bytes, behaviour: str
) -> CaptureJob:
    """Keep ``body`` as a queued job of ``client_id``, acting for ``organisation`` (None: the
    operator); the runner captures it as that organisation's events."""
    if behaviour not in BEHAVIOURS:
        raise InvalidDocument(
            f"GS1-Capture-Error-Behaviour: {behaviour!r} is not one of {', '.join(BEHAVIOURS)}"
        )
    job_id = secrets.token_hex(12)
    with uow.keeping("capture job") as conn:
        store.add(conn, job_id, client_id, organisation, _now_ms(), behaviour, body)
        row = store.get(conn, job_id)
    assert row is not None
    return _job(row)


def get(uow: UnitOfWork, job_id: str, client_id: str | None) -> CaptureJob:
    """The job, if it is ``client_id``'s (None: anyone's); NoSuchResource otherwise."""
    with uow.reading() as conn:
        row = store.get(conn, job_id)
    if row is None or (client_id is not None and row.client_id != client_id):
        raise NoSuchResource(f"capture job {job_id!r}: no such job")
    return _job(row)


def page(
    uow: UnitOfWork, client_id: str | None, after: tuple[int, str] | None, size: int
) -> tuple[list[CaptureJob], tuple[int, str] | None]:
    """Up to ``size`` jobs newest first after ``after``, and the position of the next page."""
    with uow.reading() as conn:
        rows = store.page(conn, client_id, after, size + 1)
    more = len(rows) > size
    rows = rows[:size]
    last = (rows[-1].created_at, rows[-1].id) if more else None
    return [_job(r) for r in rows], last


def worker_name() -> str:
    """This process, as a job's ``claimed_by`` names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def recover(uow: UnitOfWork) -> int:
    """Queue again the jobs left running by a process of this host that is gone; how many."""
    host = socket.gethostname()
    with uow.keeping("capture job recovery") as conn:
        gone = [job for job, by in store.running(conn) if _gone(by, host)]
        for job in gone:
            store.requeue(conn, job)
    return len(gone)


def run_next(uow: UnitOfWork) -> str | None:
    """Claim the oldest queued job and run it; its id, or None when none was queued."""
    with uow.keeping("capture job claim") as conn:
        claimed = store.claim(conn, worker_name())
    if claimed is None:
        return None
    job_id, body = claimed
    with uow.reading() as conn:
        row = store.get(conn, job_id)
    assert row is not None
    errors, result = _run(uow, job_id, body, row.behaviour, row.organisation)
    with uow.keeping("capture job done") as conn:
        store.finish(conn, job_id, _now_ms(), not errors, [e.model_dump() for e in errors], result)
    return job_id


def _run(
    uow: UnitOfWork, job_id: str, body: bytes, behaviour: str, owner: str | None
) -> tuple[list[JobError], dict[str, Any] | None]:
    """Capture the document; the errors, and what was stored (None: nothing)."""
    source = f"capture job {job_id}"
    schema = uow.settings.epcis_schema
    with _file(body) as path:
        try:
            with uow.writing("capture") as w:
                done = w.capture(documents.stream(path, schema=schema), source, owner)
            return [], _result([done], uow)
        except BatteryTraceError as exc:
            refused = exc
        header, good, errors = _checked(path, schema)
    if not errors and isinstance(refused, _READ_ERRORS):
        errors = [_error(refused)]  # a rule of the whole document (no events, a bad header)
    if behaviour == "rollback" or header is None:
        return errors or [_error(refused)], None
    results: list[CaptureResult] = []
    _greedy(uow, header, good, source, owner, results, errors)
    return errors, _result(results, uow) if results else None


def _checked(
    path: Path, schema: Path | None
) -> tuple[Document | None, list[tuple[int, Event]], list[JobError]]:
    """Every event of the document read and checked on its own: the header (None when the
    document cannot be read past it), the good events with their index, an error for each
    bad one. An event that breaks the document's syntax ends the reading."""
    good: list[tuple[int, Event]] = []
    errors: list[JobError] = []
    try:
        opened = documents.stream(path, schema=schema)
    except _READ_ERRORS as exc:
        return None, good, [_error(exc)]
    items = iter(opened.items)
    index = 0
    while True:
        try:
            item = next(items)
        except StopIteration:
            break
        except _READ_ERRORS as exc:
            errors.append(_error(exc, index))
            break
        try:
            good.append(
                (index, documents.decode(item, index, opened.header.namespaces, True, schema))
            )
        except _READ_ERRORS as exc:
            errors.append(_error(exc, index))
        index += 1
    return opened.header, good, errors


def _greedy(
    uow: UnitOfWork,
    header: Document,
    events: list[tuple[int, Event]],
    source: str,
    owner: str | None,
    results: list[CaptureResult],
    errors: list[JobError],
) -> None:
    """Capture ``events`` as ``owner``'s; when the store refuses them, each half on its own,
    down to the single events it refuses (named in ``errors``)."""
    if not events and not header.masterData:
        return
    try:
        with uow.writing("capture") as w:
            stream = EventStream(header, iter([e for _, e in events]), check=False)
            results.append(w.capture(stream, source, owner))
    except BatteryTraceError as exc:
        if len(events) <= 1:
            errors.append(_error(exc, events[0][0] if events else None))
            return
        half = len(events) // 2
        _greedy(uow, header, events[:half], source, owner, results, errors)
        _greedy(uow, _without_master_data(header), events[half:], source, owner, results, errors)


def _without_master_data(header: Document) -> Document:
    return Document(
        kind=header.kind, creationDate=header.creationDate, namespaces=header.namespaces
    )


def _result(done: list[CaptureResult], uow: UnitOfWork) -> dict[str, Any]:
    from batterytrace.services.unit_of_work import version

    with uow.reading() as conn:
        now = version(conn)
    return {
        "captured": sum(d.captured for d in done),
        "duplicates": sum(d.duplicates for d in done),
        "ledgerVersion": now,
    }


def _error(exc: BaseException, index: int | None = None) -> JobError:
    detail = str(exc)
    if isinstance(exc, RecursionError | UnicodeDecodeError):
        detail = f"document: cannot be read ({type(exc).__name__})"
    name = type(exc).__name__
    if not isinstance(exc, BatteryTraceError):
        name = "InvalidDocument"
    return JobError(error=name, detail=detail, event_index=index)


def _gone(worker: str | None, host: str) -> bool:
    if worker is None:
        return True
    where, _, pid = worker.rpartition(":")
    if where != host or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return int(pid) == os.getpid()  # recovery runs before this process claims any job


@contextmanager
def _file(body: bytes) -> Iterator[Path]:
    """``body`` in a temporary file, as the streaming readers read documents."""
    with tempfile.TemporaryDirectory(prefix="bt-capture-") as folder:
        path = Path(folder) / "document"
        path.write_bytes(body)
        yield path


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _job(row: JobRow) -> CaptureJob:
    result = row.result or {}
    return CaptureJob(
        captureID=row.id,
        createdAt=_time(row.created_at),
        finishedAt=None if row.finished_at is None else _time(row.finished_at),
        running=row.state != "done",
        success=row.success,
        captureErrorBehaviour=row.behaviour,
        errors=[JobError.model_validate(e) for e in row.errors],
        captured=result.get("captured"),  # type: ignore[arg-type]
        duplicates=result.get("duplicates"),  # type: ignore[arg-type]
        ledgerVersion=result.get("ledgerVersion"),  # type: ignore[arg-type]
    )


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
