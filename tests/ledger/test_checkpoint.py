"""Signed heads (decision 015): a rewritten history, a deleted checkpoint, an unsigned head or a
truncated tail fails verify; checkpoints signed before import records still verify."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.epcis.hash import event_hash
from batterytrace.ledger import checkpoint, keys
from batterytrace.services import events, ledger
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import chain, database
from batterytrace.store.records import event_from_content, figures
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


def _rewrite_entry_3(uow: UnitOfWork) -> None:
    """What an insider with database access can do: change entry 3 and its derived rows, and
    re-chain every later entry, with no project code."""
    with uow.engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, content FROM event ORDER BY seq")).all()
    prev = chain.GENESIS
    with uow.engine.begin() as conn:
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


def _cli(uow: UnitOfWork, *args: str) -> tuple[int, str]:
    env = {"BATTERYTRACE_DB": uow.url, "BATTERYTRACE_KEY": str(uow.key_path)}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_rewritten_history_with_every_checkpoint_deleted_fails(filled: UnitOfWork) -> None:
    _rewrite_entry_3(filled)
    _sql(filled, "DELETE FROM checkpoint")
    report = ledger.verify(filled)
    assert not report.ok
    assert report.failure is None  # each entry matches its (rewritten) predecessor...
    assert report.checkpoint_failures == [  # ...but nothing signed them
        "entries 1-10 are not covered by a signed checkpoint (unsigned head)"
    ]


def test_rewritten_history_with_the_last_checkpoint_kept_fails(filled: UnitOfWork) -> None:
    _rewrite_entry_3(filled)
    _sql(filled, "DELETE FROM checkpoint WHERE number = 1")
    report = ledger.verify(filled)
    assert report.checkpoint_failures == [
        "checkpoint 1 is missing (the next stored is 2)",
        "checkpoint 2 (entry 10): signed head differs from the chain (history rewritten)",
    ]


def test_a_deleted_checkpoint_is_named(filled: UnitOfWork) -> None:
    _sql(filled, "DELETE FROM checkpoint WHERE number = 1")
    assert ledger.verify(filled).checkpoint_failures == [
        "checkpoint 1 is missing (the next stored is 2)"
    ]


def test_an_unsigned_head_fails(filled: UnitOfWork, tmp_path: Path) -> None:
    events.capture(
        filled, write(tmp_path / "c.jsonld", document([object_event(n) for n in (11, 12)]))
    )
    _sql(filled, "DELETE FROM checkpoint WHERE number = 3")
    report = ledger.verify(filled)
    assert report.failure is None and report.entries == 12
    assert report.checkpoint_failures == [
        "entries 11-12 are not covered by a signed checkpoint (unsigned head)"
    ]


def test_a_truncated_tail_is_caught_against_an_exported_head(
    filled: UnitOfWork, tmp_path: Path
) -> None:
    head = tmp_path / "HEAD.json"
    code, output = _cli(filled, "checkpoint", "export", "--out", str(head))
    assert code == 0, output
    exported = orjson.loads(head.read_bytes())
    assert (exported["checkpoint"], exported["events"]["seq"]) == (2, 10)
    assert _cli(filled, "verify", "--against", str(head))[0] == 0
    # the second capture removed whole: its events, their derived rows and its checkpoint
    for table in ("event_key", "event_figure", "event"):
        _sql(filled, f"DELETE FROM {table} WHERE seq > 5")
    _sql(filled, "DELETE FROM holding WHERE source > 5")
    _sql(filled, "DELETE FROM checkpoint WHERE number = 2")
    assert ledger.verify(filled).ok  # what the store holds is consistent and signed...
    report = ledger.verify(filled, against=head)  # ...but not what was exported
    assert not report.ok
    assert report.checkpoint_failures == [
        "exported head (checkpoint 2, entry 10): the store holds 5 entries; entries 6-10 were "
        "removed (truncated)",
        "exported head (checkpoint 2, entry 10): the store no longer holds this checkpoint",
    ]
    code, output = _cli(filled, "verify", "--against", str(head))
    assert code == 1 and "entries 6-10 were removed (truncated)" in output


def test_an_exported_head_not_signed_by_the_store_key_fails(
    filled: UnitOfWork, tmp_path: Path
) -> None:
    head = ledger.export_head(filled)
    head["events"]["seq"] = 4  # claims a shorter chain, signature kept
    path = tmp_path / "HEAD.json"
    path.write_bytes(orjson.dumps(head))
    report = ledger.verify(filled, against=path)
    assert report.checkpoint_failures == [
        "exported head (checkpoint 2, entry 4): not signed by the store's key; it proves nothing"
    ]


def test_checkpoints_signed_before_import_records_still_verify(
    filled: UnitOfWork, tmp_path: Path
) -> None:
    """A store whose checkpoints were signed in format 1 (before revision 0011) verifies after
    the upgrade: each is re-made as it was, signed with the format 1 message."""
    private = keys.load_private(filled.key_path)
    with filled.engine.begin() as conn:
        rows = conn.execute(text("SELECT id, seq, head, created FROM checkpoint")).all()
        for id_, seq, head, created in rows:
            signature = private.sign(checkpoint.checkpoint_message(seq, head, created)).hex()
            conn.execute(
                text("UPDATE checkpoint SET signature = :s WHERE id = :i"),
                {"s": signature, "i": id_},
            )
    config = Config()
    config.set_main_option("script_location", str(Path(database.__file__).with_name("migrations")))
    with filled.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    ledger.init(filled)
    with filled.engine.connect() as conn:
        numbers = conn.execute(text("SELECT number, imports_seq FROM checkpoint ORDER BY id"))
        assert [tuple(r) for r in numbers] == [(1, None), (2, None)]
    report = ledger.verify(filled)
    assert report.ok, report.checkpoint_failures
    events.capture(filled, write(tmp_path / "c.jsonld", document([object_event(11)])))
    report = ledger.verify(filled)
    assert report.ok and report.checkpoints == 3
