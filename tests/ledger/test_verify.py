"""verify names the first entry that was changed, removed or moved by raw SQL (no project code)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from batterytrace.ledger import keys
from batterytrace.services import events, ledger
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from factories import document, object_event, write


@pytest.fixture
def filled(uow: UnitOfWork, tmp_path: Path) -> UnitOfWork:
    events.capture(
        uow, write(tmp_path / "a.jsonld", document([object_event(n) for n in range(1, 6)]))
    )
    events.capture(
        uow, write(tmp_path / "b.jsonld", document([object_event(n) for n in range(6, 11)]))
    )
    report = ledger.verify(uow)
    assert report.ok and (report.entries, report.checkpoints) == (10, 2)
    return uow


def _sql(uow: UnitOfWork, statement: str, **params: object) -> None:
    with uow.engine.begin() as conn:
        conn.execute(text(statement), params)


def _event_id(uow: UnitOfWork, seq: int) -> str:
    with uow.engine.connect() as conn:
        return str(
            conn.execute(text("SELECT event_id FROM event WHERE seq = :s"), {"s": seq}).scalar_one()
        )


def test_changed_content_is_named(filled: UnitOfWork) -> None:
    with filled.engine.connect() as conn:
        content = conn.execute(text("SELECT content FROM event WHERE seq = 4")).scalar_one()
    forged = content.replace('"quantity":1004', '"quantity":9004')
    assert forged != content
    _sql(filled, "UPDATE event SET content = :c WHERE seq = 4", c=forged)
    report = ledger.verify(filled)
    assert not report.ok
    assert report.failure is not None and report.failure.seq == 4
    assert report.failure.event_id == _event_id(filled, 4)
    assert "chain entry does not match" in str(report.failure)


def test_changed_index_column_is_named(filled: UnitOfWork) -> None:
    _sql(filled, "UPDATE event SET biz_step = 'shipping' WHERE seq = 7")
    report = ledger.verify(filled)
    assert report.failure is not None and report.failure.seq == 7
    assert "column biz_step" in report.failure.reason


def test_changed_key_row_is_named(filled: UnitOfWork) -> None:
    _sql(
        filled, "UPDATE event_key SET value = 'https://id.gs1.org/01/00000000000000' WHERE seq = 2"
    )
    report = ledger.verify(filled)
    assert report.failure is not None and report.failure.seq == 2
    assert "indexed keys" in report.failure.reason


def test_changed_event_figures_are_named(filled: UnitOfWork) -> None:
    _sql(filled, "UPDATE event_figure SET figures = replace(figures, '1004.0', '9004.0')")
    report = ledger.verify(filled)
    assert report.failure is not None and report.failure.seq == 4
    assert "event figures differ" in report.failure.reason


def test_recomputed_chain_is_caught_by_the_signed_checkpoint(filled: UnitOfWork) -> None:
    """Rewriting content, its derived rows and re-chaining every later entry still breaks the
    signed head."""
    import orjson

    from batterytrace.epcis.hash import event_hash
    from batterytrace.store import chain
    from batterytrace.store.records import event_from_content, figures

    with filled.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, content FROM event ORDER BY seq")).all()
    prev = chain.GENESIS
    with filled.engine.begin() as conn:
        for seq, content in rows:
            if seq == 3:
                content = content.replace('"quantity":1003', '"quantity":1')
                derived = figures(orjson.loads(content))
                conn.execute(text("UPDATE event_figure SET figures=:f WHERE seq=3"), {"f": derived})
            hash_id = event_hash(event_from_content(content))
            prev = chain.entry_hash(prev, seq, hash_id, content.encode())
            conn.execute(
                text("UPDATE event SET content=:c, hash_id=:h, entry_hash=:e WHERE seq=:s"),
                {"c": content, "h": hash_id, "e": prev, "s": seq},
            )
    report = ledger.verify(filled)
    assert report.failure is None
    assert any(
        "checkpoint 1 (entry 5): signed head differs" in p for p in report.checkpoint_failures
    )
    assert not report.ok


def test_deleted_row_is_named(filled: UnitOfWork) -> None:
    _sql(filled, "DELETE FROM event_key WHERE seq = 6")
    _sql(filled, "DELETE FROM event WHERE seq = 6")
    report = ledger.verify(filled)
    assert report.failure is not None and report.failure.seq == 6
    assert "entry missing" in report.failure.reason


def test_deleted_last_row_is_caught(filled: UnitOfWork) -> None:
    _sql(filled, "DELETE FROM event_key WHERE seq = 10")
    _sql(filled, "DELETE FROM event_figure WHERE seq = 10")
    _sql(filled, "DELETE FROM event WHERE seq = 10")
    report = ledger.verify(filled)
    assert not report.ok
    assert any("entry 10" in p for p in report.checkpoint_failures)


def test_reordered_rows_are_named(filled: UnitOfWork) -> None:
    # swap entries 3 and 8: every column moves with its row, so only the order changes
    _sql(filled, "UPDATE event SET seq = -3 WHERE seq = 3")
    _sql(filled, "UPDATE event SET seq = 3 WHERE seq = 8")
    _sql(filled, "UPDATE event SET seq = 8 WHERE seq = -3")
    _sql(filled, "UPDATE event_key SET seq = -3 WHERE seq = 3")
    _sql(filled, "UPDATE event_key SET seq = 3 WHERE seq = 8")
    _sql(filled, "UPDATE event_key SET seq = 8 WHERE seq = -3")
    report = ledger.verify(filled)
    assert report.failure is not None and report.failure.seq == 3
    assert "chain entry does not match" in report.failure.reason


def test_forged_checkpoint_signature_is_named(filled: UnitOfWork) -> None:
    _sql(filled, "UPDATE checkpoint SET signature = :s WHERE seq = 5", s="00" * 64)
    report = ledger.verify(filled)
    assert report.checkpoint_failures == ["checkpoint 1 (entry 5): signature invalid"]


def test_verify_with_another_key_fails(filled: UnitOfWork, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    keys.generate(other)
    report = ledger.verify(unit_of_work(filled.url, other))
    assert len(report.checkpoint_failures) == 2
    assert all("signed by another key" in p for p in report.checkpoint_failures)


def test_the_key_is_kept_outside_the_database(filled: UnitOfWork) -> None:
    assert filled.key_path.exists() and keys.public_path(filled.key_path).exists()
    assert oct(filled.key_path.stat().st_mode & 0o777) == "0o600"
    with filled.engine.connect() as conn:
        stored = "".join(r[0] for r in conn.execute(text("SELECT content FROM event")))
    assert "PRIVATE KEY" not in stored
