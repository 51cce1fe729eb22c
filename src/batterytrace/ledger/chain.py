"""The hash chains: each entry commits to its position, its content and the previous entry, so
changing, removing or re-ordering any stored event (or import record) breaks every entry after
it. A checkpoint signs the heads of both chains (decisions 003, 015)."""

from __future__ import annotations

import hashlib

GENESIS = "0" * 64


def entry_hash(previous: str, seq: int, hash_id: str, content: bytes) -> str:
    """sha256(previous entry ‖ seq as 8 bytes ‖ hash ID ‖ 0x00 ‖ sha256(content)), hex."""
    h = hashlib.sha256(bytes.fromhex(previous))
    h.update(seq.to_bytes(8, "big"))
    h.update(hash_id.encode())
    h.update(b"\x00")
    h.update(hashlib.sha256(content).digest())
    return h.hexdigest()


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
