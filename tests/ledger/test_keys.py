"""The store's signing key is replaced only on purpose (decision 015): init and capture refuse
another key, `key rotate` records the hand-over, and old checkpoints keep verifying."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from typer.testing import CliRunner

from batterytrace.cli import app
from batterytrace.errors import LedgerKeyError
from batterytrace.ledger import checkpoint, imports, keys
from batterytrace.services import events, ledger
from batterytrace.services.bootstrap import unit_of_work
from batterytrace.services.unit_of_work import UnitOfWork
from factories import document, object_event, write


@pytest.fixture
def signed(uow: UnitOfWork, tmp_path: Path) -> UnitOfWork:
    events.capture(
        uow, write(tmp_path / "a.jsonld", document([object_event(n) for n in range(1, 4)]))
    )
    assert ledger.verify(uow).ok
    return uow


def _cli(uow: UnitOfWork, *args: str) -> tuple[int, str]:
    env = {"BATTERYTRACE_DB": uow.url, "BATTERYTRACE_KEY": str(uow.key_path)}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_init_refuses_a_missing_key_on_a_signed_store(signed: UnitOfWork) -> None:
    signed.key_path.unlink()
    keys.public_path(signed.key_path).unlink()
    with pytest.raises(LedgerKeyError, match="no ledger key, and this store is signed by key"):
        ledger.init(signed)
    assert not signed.key_path.exists()  # no new key was made
    code, output = _cli(signed, "init")
    assert code == 1 and "init never replaces a store's key" in output


def test_init_and_capture_refuse_another_key(signed: UnitOfWork, tmp_path: Path) -> None:
    other = unit_of_work(signed.url, tmp_path / "other.key")
    keys.generate(other.key_path)
    with pytest.raises(LedgerKeyError, match="not this store's key"):
        ledger.init(other)
    with pytest.raises(LedgerKeyError, match="is not the store's signing key"):
        events.capture(other, write(tmp_path / "b.jsonld", document([object_event(9)])))
    assert ledger.verify(signed).ok and ledger.verify(signed).entries == 3


def test_capture_without_the_key_does_not_advise_a_new_one(signed: UnitOfWork) -> None:
    signed.key_path.unlink()
    with pytest.raises(LedgerKeyError) as raised:
        events.capture(signed, Path("unused.jsonld"))
    assert "set BATTERYTRACE_KEY to the store's key file" in str(raised.value)
    assert "only for a store that never signed" in str(raised.value)


def test_a_rotated_key_keeps_old_checkpoints_valid(signed: UnitOfWork, tmp_path: Path) -> None:
    old_id = keys.key_id(keys.load_public(signed.key_path))
    code, output = _cli(signed, "key", "rotate")
    assert code == 0, output
    new_id = keys.key_id(keys.load_public(signed.key_path))
    assert new_id != old_id and f"rotated from {old_id[:16]}" in output
    retired = signed.key_path.with_name(f"ledger.key.retired-{old_id[:16]}")
    assert keys.key_id(keys.load_public(retired)) == old_id
    events.capture(
        signed, write(tmp_path / "b.jsonld", document([object_event(n) for n in (4, 5)]))
    )
    report = ledger.verify(signed)
    assert report.ok, report.checkpoint_failures
    assert (report.entries, report.import_records, report.checkpoints) == (5, 1, 3)
    with signed.engine.connect() as conn:
        signers = [r[0] for r in conn.execute(text("SELECT key_id FROM checkpoint ORDER BY id"))]
    assert signers == [old_id, new_id, new_id]
    (rotation,) = ledger.import_records(signed)
    assert (rotation.kind, rotation.action) == ("key", "rotate")
    code, output = _cli(signed, "imports", "--json")
    assert [(r["kind"], r["action"]) for r in orjson.loads(output)] == [("key", "rotate")]
    # the retired key signs no more
    with pytest.raises(LedgerKeyError, match="is not the store's signing key"):
        events.capture(
            unit_of_work(signed.url, retired),
            write(tmp_path / "c.jsonld", document([object_event(6)])),
        )


def test_a_rotation_forged_in_the_database_fails(signed: UnitOfWork) -> None:
    """An insider makes a key of their own, records a rotation to it and signs with it: the
    operator's key file still holds the old key, so verify fails."""
    forged = Ed25519PrivateKey.generate()
    old = keys.load_private(signed.key_path)  # the insider would need this to sign the hand-over
    content = {
        "old": checkpoint.raw(old.public_key()),
        "new": checkpoint.raw(forged.public_key()),
        "signature": "00" * 64,
    }
    with signed.engine.begin() as conn:
        imports.record(conn, "key", "rotate", content, {})
        checkpoint.sign(conn, forged)
    report = ledger.verify(signed)
    assert report.checkpoint_failures[:2] == [
        "import record 1: key rotation not signed by the old key",
        f"ledger key: the store's signing key is {keys.key_id(forged.public_key())[:16]}… "
        f"(import record 1); BATTERYTRACE_KEY's public key is "
        f"{keys.key_id(old.public_key())[:16]}…",
    ]
    assert not report.ok


def test_verify_names_the_first_broken_entry_and_counts_the_rest(
    signed: UnitOfWork, tmp_path: Path
) -> None:
    events.capture(
        signed, write(tmp_path / "b.jsonld", document([object_event(n) for n in range(4, 9)]))
    )
    with signed.engine.begin() as conn:
        for seq in (3, 5, 7):
            conn.execute(
                text("UPDATE event SET content = replace(content, '.0', '.5') WHERE seq = :s"),
                {"s": seq},
            )
    report = ledger.verify(signed)
    assert report.failure is not None and report.failure.seq == 3
    assert report.broken == 3  # entries 3, 5 and 7; 4, 6 and 8 still follow what is stored
    code, output = _cli(signed, "verify")
    assert code == 1
    assert "entry 3 (event urn:uuid:" in output
    assert "(3 entries fail their own check in all)" in output


def test_a_rotation_message_is_what_the_old_key_signed(signed: UnitOfWork) -> None:
    ledger.rotate_key(signed)
    (record,) = ledger.import_records(signed)
    with signed.engine.connect() as conn:
        content = orjson.loads(
            conn.execute(text("SELECT content FROM import_record WHERE seq = 1")).scalar_one()
        )
    old = checkpoint.public_key(content["old"])
    message = checkpoint.rotation_message(keys.key_id(old), content["new"])
    assert keys.signature_valid(old, content["signature"], message)
    assert (
        record.content_hash
        == __import__("hashlib")
        .sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS))
        .hexdigest()
    )
