"""The hash chain: each entry commits to its position, the event's hash ID, its stored content
and the previous entry, so changing, removing or re-ordering any stored event breaks every
entry after it."""

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
    """The bytes a checkpoint signature covers: chain length, head entry, creation time (ms)."""
    return f"batterytrace-checkpoint/1 {seq} {head} {created}".encode()
