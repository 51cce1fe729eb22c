"""verify re-derives every table readers trust beside the events (event_key, event_figure,
holding) and names the table and the row a raw-SQL change, deletion or insertion touched."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.epcis.hash import event_hash
from batterytrace.epcis.model import Document
from batterytrace.services import events, ledger
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store.chain import entry_hash
from batterytrace.store.records import event_from_content
from factories import T0, chain

CELLS = 6  # the entry of the transformation that made the four cells (factories.chain)
PACKED = 7  # the aggregation that put them in the pack


@pytest.fixture
def filled(uow: UnitOfWork) -> UnitOfWork:
    events.capture_document(
        uow, Document(kind="EPCISDocument", creationDate=T0, events=tuple(chain()))
    )
    report = ledger.verify(uow)
    assert report.ok and report.entries == 7
    return uow


def _sql(uow: UnitOfWork, statement: str) -> None:
    with uow.engine.begin() as conn:
        conn.execute(text(statement))


def _failure(uow: UnitOfWork) -> tuple[int, str | None, str]:
    report = ledger.verify(uow)
    assert not report.ok and report.failure is not None
    return report.failure.seq, report.failure.event_id, report.failure.reason


def _pack(uow: UnitOfWork) -> str:
    with uow.engine.connect() as conn:
        return str(conn.execute(text("SELECT container FROM holding WHERE level = 1")).scalar_one())


def test_holdings_multiplied_by_ten_are_named(filled: UnitOfWork) -> None:
    """The footprint and trace of a pack read its items here: ten times the items would be
    ten times the pack's burden."""
    _sql(filled, "UPDATE holding SET items = items * 10")
    seq, event_id, reason = _failure(filled)
    assert (seq, event_id) == (CELLS, "urn:uuid:t-cells")
    # the first differing row in key order: the items made (level 0, container their class)
    assert reason.startswith("holding row (source 6, container ")
    assert "holds items=40, level=0, the events give items=4, level=0" in reason
    assert "other holding rows differ too" in reason  # the pack's row


def test_a_changed_pack_holding_is_named(filled: UnitOfWork) -> None:
    pack = _pack(filled)
    _sql(filled, "UPDATE holding SET items = 40 WHERE level = 1")
    _, _, reason = _failure(filled)
    assert reason == (
        f"holding row (source 6, container {pack!r}) holds items=40, level=1, "
        "the events give items=4, level=1"
    )


def test_a_deleted_holding_is_named(filled: UnitOfWork) -> None:
    pack = _pack(filled)
    _sql(filled, "DELETE FROM holding WHERE level = 1")
    seq, _, reason = _failure(filled)
    assert seq == CELLS
    assert reason == (
        f"holding row (source 6, container {pack!r}) is missing (the events give items=4, level=1)"
    )


def test_an_inserted_holding_is_named(filled: UnitOfWork) -> None:
    _sql(
        filled,
        "INSERT INTO holding (source, container_class, container, items, level) VALUES "
        "(3, 'https://id.gs1.org/01/03700000300014', "
        "'https://id.gs1.org/01/03700000300014/21/P9', 1000, 1)",
    )
    seq, event_id, reason = _failure(filled)
    assert (seq, event_id) == (3, "urn:uuid:c-X")
    assert reason == (
        "holding row (source 3, container 'https://id.gs1.org/01/03700000300014/21/P9') "
        "is stored (items=1000, level=1) but the events give none"
    )


def test_a_changed_key_row_is_named(filled: UnitOfWork) -> None:
    _sql(filled, f"UPDATE event_key SET value = 'x' WHERE seq = {PACKED} AND role = 'parentID'")
    seq, event_id, reason = _failure(filled)
    assert (seq, event_id) == (PACKED, "urn:uuid:pack")
    assert reason == (
        "indexed keys differ from the content (event_key row ('parentID', 'x') is not in the "
        "content)"
    )


def test_a_deleted_key_row_is_named(filled: UnitOfWork) -> None:
    _sql(filled, f"DELETE FROM event_key WHERE seq = {PACKED} AND role = 'parentID'")
    seq, _, reason = _failure(filled)
    assert seq == PACKED
    assert reason == (
        "indexed keys differ from the content (event_key row "
        f"('parentID', {_pack(filled)!r}) is missing)"
    )


def test_an_inserted_key_row_is_named(filled: UnitOfWork) -> None:
    _sql(filled, "INSERT INTO event_key (role, value, seq) VALUES ('childEPC', 'x', 2)")
    seq, _, reason = _failure(filled)
    assert seq == 2
    assert reason == (
        "indexed keys differ from the content (event_key row ('childEPC', 'x') is not in the "
        "content)"
    )


def test_key_rows_of_an_entry_not_stored_are_named(filled: UnitOfWork) -> None:
    _sql(filled, "INSERT INTO event_key (role, value, seq) VALUES ('childEPC', 'x', 99)")
    seq, _, reason = _failure(filled)
    assert seq == 99 and reason == "indexed keys (event_key rows) exist for an entry not stored"


def test_a_deleted_figure_row_is_named(filled: UnitOfWork) -> None:
    _sql(filled, "DELETE FROM event_figure WHERE seq = 4")
    seq, _, reason = _failure(filled)
    assert (seq, reason) == (
        4,
        "event figures differ from the content (event_figure row is missing)",
    )


def test_an_inserted_figure_row_is_named(filled: UnitOfWork) -> None:
    _sql(filled, f"INSERT INTO event_figure (seq, figures) VALUES ({PACKED}, '{{}}')")
    seq, _, reason = _failure(filled)
    assert seq == PACKED
    assert reason == (
        "event figures differ from the content (event_figure row is stored for an event without "
        "figures)"
    )


def test_a_changed_figure_row_is_named(filled: UnitOfWork) -> None:
    _sql(filled, "UPDATE event_figure SET figures = replace(figures, '110.0', '1100.0')")
    seq, _, reason = _failure(filled)
    assert (seq, reason) == (
        4,
        "event figures differ from the content (event_figure row holds other figures)",
    )


def test_tampered_holdings_do_not_hide_a_rewritten_history(filled: UnitOfWork) -> None:
    """The signed heads are still compared when only a derived row failed."""
    _sql(filled, "UPDATE holding SET items = items * 10")
    with filled.engine.begin() as conn:  # the last entry rewritten and chained again
        prev, content = conn.execute(
            text(
                "SELECT p.entry_hash, e.content FROM event e, event p WHERE e.seq = 7 AND p.seq = 6"
            )
        ).one()
        content = content.replace(
            '"eventTimeZoneOffset":"+00:00"', '"eventTimeZoneOffset":"+01:00"'
        )
        hash_id = event_hash(event_from_content(content))
        conn.execute(
            text(
                "UPDATE event SET content = :c, hash_id = :h, entry_hash = :e, "
                "event_time_zone_offset = '+01:00' WHERE seq = 7"
            ),
            {
                "c": content,
                "h": hash_id,
                "e": entry_hash(prev, 7, hash_id, content.encode()),
            },
        )
    report = ledger.verify(filled)
    assert report.failure is not None and report.failure.reason.startswith("holding row")
    assert report.checkpoint_failures == [
        "checkpoint 1 (entry 7): signed head differs from the chain (history rewritten)"
    ]


def test_the_command_names_the_holding_row(
    filled: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATTERYTRACE_DB", filled.url)
    monkeypatch.setenv("BATTERYTRACE_KEY", str(filled.key_path))
    pack = _pack(filled)
    _sql(filled, "UPDATE holding SET items = items * 10 WHERE level = 1")
    result = CliRunner().invoke(app, ["verify", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"] == [
        f"entry 6 (event urn:uuid:t-cells): holding row (source 6, container {pack!r}) holds "
        "items=40, level=1, the events give items=4, level=1"
    ]
