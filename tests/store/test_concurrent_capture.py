"""Two captures at once: both land, the ledger stays one unbroken chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

from batterytrace.services import events, ledger
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from factories import document, object_event, write


def test_parallel_captures_serialise_on_the_ledger(uow: UnitOfWork, tmp_path: Path) -> None:
    files = [
        write(tmp_path / f"d{k}.jsonld", document([object_event(k * 1000 + n) for n in range(300)]))
        for k in range(4)
    ]
    errors: list[BaseException] = []

    def capture(path: Path) -> None:
        other = unit_of_work(uow.url, uow.key_path)  # its own engine, as another process would
        try:
            events.capture(other, path)
        except BaseException as exc:
            errors.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=capture, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = ledger.verify(uow)
    assert report.ok, report.failure or report.checkpoint_failures
    assert (report.entries, report.checkpoints) == (1200, 4)
