"""Signed heads (decision 015): every capture, import and key rotation ends by signing, with the
store's Ed25519 key, the heads of both chains (events and import records) under the next
checkpoint number. ``verify`` asks that the newest checkpoint covers both whole chains (an
unsigned head fails), that the numbers run 1, 2, 3… without a gap (a deleted checkpoint
fails), and that each was signed by the key the store held at that point: the operator's key
file, or an older key that a recorded rotation hands over from. A head exported to a file
(``checkpoint export``) is checked against the store later, so a truncated tail is caught too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, insert, select

from batterytrace.errors import LedgerKeyError
from batterytrace.ledger.keys import key_id, signature_valid
from batterytrace.store import chain, schema

C, E, R = schema.checkpoint, schema.event, schema.import_record
FORMAT = "batterytrace-head/1"


def checkpoint_message(seq: int, head: str, created: int) -> bytes:
    """Format 1 (checkpoints signed before import records existed): chain length, head entry,
    creation time (ms)."""
    return f"batterytrace-checkpoint/1 {seq} {head} {created}".encode()


def checkpoint_message_2(
    number: int, seq: int, head: str, imports_seq: int, imports_head: str, created: int
) -> bytes:
    """Format 2: the checkpoint's number, the events' chain length and head, the import
    records' chain length and head, creation time (ms)."""
    return (
        f"batterytrace-checkpoint/2 {number} {seq} {head} {imports_seq} {imports_head} {created}"
    ).encode()


def rotation_message(old_key_id: str, new_public: str) -> bytes:
    """What the old key signs when it hands over to a new one (hex raw public key)."""
    return f"batterytrace-key-rotation/1 {old_key_id} {new_public}".encode()


@dataclass(frozen=True, slots=True)
class SignedHead:
    """One checkpoint: the heads it covers, when, and by which key. ``imports_seq`` is None in
    format 1 (signed before import records existed; its number is not part of the signature)."""

    number: int
    seq: int
    head: str
    imports_seq: int | None
    imports_head: str | None
    created: int
    key_id: str
    signature: str

    def message(self) -> bytes:
        if self.imports_seq is None or self.imports_head is None:
            return checkpoint_message(self.seq, self.head, self.created)
        return checkpoint_message_2(
            self.number, self.seq, self.head, self.imports_seq, self.imports_head, self.created
        )

    def where(self) -> str:
        return f"checkpoint {self.number} (entry {self.seq})"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "checkpoint": self.number,
            "events": {"seq": self.seq, "head": self.head},
            "imports": {"seq": self.imports_seq, "head": self.imports_head},
            "created": self.created,
            "keyId": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, obj: Any, where: str) -> SignedHead:
        """An exported head; LedgerKeyError naming the field when it is not one."""
        try:
            if obj["format"] != FORMAT:
                raise LedgerKeyError(f"{where}: format: {obj['format']!r} is not {FORMAT}")
            events, imports = obj["events"], obj["imports"]
            return cls(
                int(obj["checkpoint"]), int(events["seq"]), str(events["head"]),
                None if imports["seq"] is None else int(imports["seq"]),
                None if imports["head"] is None else str(imports["head"]),
                int(obj["created"]), str(obj["keyId"]), str(obj["signature"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerKeyError(
                f"{where}: not an exported head ({exc!r} missing or invalid)"
            ) from None

    @classmethod
    def from_row(cls, row: Any) -> SignedHead:
        return cls(
            row.number, row.seq, row.head, row.imports_seq, row.imports_head, row.created,
            row.key_id, row.signature,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rotation:
    """A recorded key rotation: the old key's signature over the new public key (raw, hex)."""

    seq: int  # its import record
    old: str
    new: str
    signature: str

    @property
    def old_id(self) -> str:
        return key_id(public_key(self.old))

    @property
    def new_id(self) -> str:
        return key_id(public_key(self.new))


def public_key(raw_hex: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw_hex))


def raw(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def stored(conn: Connection) -> list[SignedHead]:
    return [SignedHead.from_row(r) for r in conn.execute(select(C).order_by(C.c.number))]


def latest(conn: Connection) -> SignedHead | None:
    row = conn.execute(select(C).order_by(C.c.number.desc()).limit(1)).first()
    return None if row is None else SignedHead.from_row(row)


def heads(conn: Connection) -> tuple[int, str, int, str]:
    """Length and head of the events' chain, then of the import records' chain."""
    event = conn.execute(select(E.c.seq, E.c.entry_hash).order_by(E.c.seq.desc()).limit(1)).first()
    record = conn.execute(select(R.c.seq, R.c.entry_hash).order_by(R.c.seq.desc()).limit(1)).first()
    seq, head = (event[0], event[1]) if event else (0, chain.GENESIS)
    imports_seq, imports_head = (record[0], record[1]) if record else (0, chain.GENESIS)
    return seq, head, imports_seq, imports_head


def signing_key_id(conn: Connection) -> str | None:
    """The key the store signs with now: the new key of the last recorded rotation, else the
    key of the last checkpoint; None for a store that never signed."""
    rotated = conn.execute(
        select(R.c.content).where(R.c.kind == "key").order_by(R.c.seq.desc()).limit(1)
    ).scalar()
    if rotated is not None:
        return key_id(public_key(orjson.loads(rotated)["new"]))
    last = latest(conn)
    return None if last is None else last.key_id


def sign(conn: Connection, private: Ed25519PrivateKey) -> SignedHead:
    """Sign both heads as they stand in this transaction under the next number. Refuses a key
    other than the store's: new checkpoints would not verify, and old ones would look forged."""
    own = key_id(private.public_key())
    expected = signing_key_id(conn)
    if expected is not None and expected != own:
        raise LedgerKeyError(
            f"ledger key: this key ({own[:16]}…) is not the store's signing key "
            f"({expected[:16]}…); set BATTERYTRACE_KEY to the store's key file (a new key "
            "replaces it only by `batterytrace key rotate`)"
        )
    last = latest(conn)
    seq, head, imports_seq, imports_head = heads(conn)
    unsigned = SignedHead(
        (last.number if last else 0) + 1, seq, head, imports_seq, imports_head,
        int(time.time() * 1000), own, "",
    )  # fmt: skip
    signed = SignedHead(
        **{**_fields(unsigned), "signature": private.sign(unsigned.message()).hex()}
    )
    conn.execute(insert(C).values(**_fields(signed)))
    return signed


def _fields(head: SignedHead) -> dict[str, Any]:
    return {name: getattr(head, name) for name in SignedHead.__slots__}


class Keys:
    """Which key signed the store at each point: the first key, then the new key of each
    recorded rotation. Trusted only from the operator's key file backwards: the newest key must
    be the file's, and the rotations are in the records its checkpoints cover."""

    def __init__(self, current: Ed25519PublicKey, rotations: list[Rotation]) -> None:
        self.current = current
        self.rotations = rotations
        self.problems: list[str] = []
        self._by_id = {key_id(current): current}
        for r in rotations:
            self._by_id[r.old_id] = public_key(r.old)
            self._by_id[r.new_id] = public_key(r.new)
        for before, r in zip([None, *rotations], rotations, strict=False):
            if before is not None and before.new_id != r.old_id:
                self.problems.append(
                    f"import record {r.seq}: key rotation from {r.old_id[:16]}…, which is not "
                    f"the key then in use ({before.new_id[:16]}…)"
                )
            if not signature_valid(
                public_key(r.old), r.signature, rotation_message(r.old_id, r.new)
            ):
                self.problems.append(
                    f"import record {r.seq}: key rotation not signed by the old key"
                )
        newest = rotations[-1].new_id if rotations else key_id(current)
        if newest != key_id(current):
            self.problems.append(
                f"ledger key: the store's signing key is {newest[:16]}… (import record "
                f"{rotations[-1].seq}); BATTERYTRACE_KEY's public key is {key_id(current)[:16]}…"
            )

    def at(self, imports_seq: int) -> str:
        """The id of the key in use when the import records stood at ``imports_seq``."""
        active = self.rotations[0].old_id if self.rotations else key_id(self.current)
        for r in self.rotations:
            if r.seq <= imports_seq:
                active = r.new_id
        return active

    def public(self, kid: str) -> Ed25519PublicKey | None:
        return self._by_id.get(kid)


def check(
    checkpoints: list[SignedHead],
    keys: Keys,
    event_heads: Mapping[int, str] | None,
    import_heads: list[str] | None,
    entries: int,
    records: int,
) -> list[str]:
    """Every checkpoint's number, key, signature and heads; the newest covers both chains.
    ``event_heads`` / ``import_heads`` are None when that chain is broken already (its first
    broken entry is reported instead)."""
    problems = list(keys.problems)
    number = 1
    for cp in checkpoints:
        if cp.number != number:
            problems.append(f"checkpoint {number} is missing (the next stored is {cp.number})")
        number = cp.number + 1
        problem = _problem(cp, keys, event_heads, import_heads)
        if problem:
            problems.append(f"{cp.where()}: {problem}")
    last = checkpoints[-1] if checkpoints else None
    covered_events = last.seq if last else 0
    covered_records = (last.imports_seq or 0) if last else 0
    if entries > covered_events:
        problems.append(
            f"entries {covered_events + 1}-{entries} are not covered by a signed checkpoint "
            "(unsigned head)"
        )
    if records > covered_records:
        problems.append(
            f"import records {covered_records + 1}-{records} are not covered by a signed "
            "checkpoint (unsigned head)"
        )
    return problems


def _problem(
    cp: SignedHead,
    keys: Keys,
    event_heads: Mapping[int, str] | None,
    import_heads: list[str] | None,
) -> str | None:
    expected = keys.at(cp.imports_seq or 0)
    if cp.key_id != expected:
        return f"signed by another key ({cp.key_id[:16]}…) than the store's ({expected[:16]}…)"
    public = keys.public(cp.key_id)
    if public is None or not signature_valid(public, cp.signature, cp.message()):
        return "signature invalid"
    if event_heads is not None and event_heads.get(cp.seq) != cp.head:
        return "signed head differs from the chain (history rewritten)"
    if (
        import_heads is not None
        and cp.imports_seq is not None
        and (cp.imports_seq >= len(import_heads) or import_heads[cp.imports_seq] != cp.imports_head)
    ):
        return "signed import head differs from the import records (imports rewritten)"
    return None


def check_against(
    exported: SignedHead,
    checkpoints: list[SignedHead],
    keys: Keys,
    event_heads: Mapping[int, str] | None,
    import_heads: list[str] | None,
    entries: int,
    records: int,
) -> list[str]:
    """The store against a head exported earlier: signed by one of the store's keys, and the
    store still holds its checkpoint and both chains up to it, unchanged."""
    where = f"exported head (checkpoint {exported.number}, entry {exported.seq})"
    public = keys.public(exported.key_id)
    if public is None or not signature_valid(public, exported.signature, exported.message()):
        return [f"{where}: not signed by the store's key; it proves nothing"]
    problems = []
    if exported.seq > entries:
        problems.append(
            f"{where}: the store holds {entries} entries; entries {entries + 1}-{exported.seq} "
            "were removed (truncated)"
        )
    elif event_heads is not None and event_heads.get(exported.seq) != exported.head:
        problems.append(f"{where}: the chain at entry {exported.seq} differs (history rewritten)")
    imports_seq = exported.imports_seq or 0
    if imports_seq > records:
        problems.append(
            f"{where}: the store holds {records} import records; records "
            f"{records + 1}-{imports_seq} were removed (truncated)"
        )
    elif (
        import_heads is not None
        and exported.imports_head is not None
        and import_heads[imports_seq] != exported.imports_head
    ):
        problems.append(f"{where}: import record {imports_seq} differs (imports rewritten)")
    if exported not in checkpoints:
        problems.append(f"{where}: the store no longer holds this checkpoint")
    return problems
