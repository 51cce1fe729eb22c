"""Two captures at once: both land, the ledger stays one unbroken chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

from batterytrace.repository import Repository
from factories import document, object_event, write


def test_parallel_captures_serialise_on_the_ledger(repo: Repository, tmp_path: Path) -> None:
    files = [
        write(tmp_path / f"d{k}.jsonld", document([object_event(k * 1000 + n) for n in range(300)]))
        for k in range(4)
    ]
    errors: list[BaseException] = []

    def capture(path: Path) -> None:
        other = Repository(repo.url, repo.key_path)  # its own engine, as another process would
        try:
            other.capture(path)
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
    report = repo.verify()
    assert report.ok, report.failure or report.checkpoint_failures
    assert (report.entries, report.checkpoints) == (1200, 4)
