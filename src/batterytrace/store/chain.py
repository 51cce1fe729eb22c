"""The hash chains: each entry commits to its position, its content and the previous entry, so
changing, removing or re-ordering any stored event (or import record) breaks every entry after
it (decision 003). The store chains each event as it writes its row; the ledger chains the
import records the same way, and signs the heads of both chains (decision 015)."""

from __future__ import annotations

import hashlib

GENESIS = "0" * 64


def entry_hash(
    previous: str, seq: int, hash_id: str, content: bytes, owner: str | None = None
) -> str:
    """sha256(previous entry ‖ seq as 8 bytes ‖ hash ID ‖ 0x00 ‖ sha256(content)), hex; an
    event an organisation owns commits to its owner too (‖ 0x00 ‖ owner, decision 040)."""
    h = hashlib.sha256(bytes.fromhex(previous))
    h.update(seq.to_bytes(8, "big"))
    h.update(hash_id.encode())
    h.update(b"\x00")
    h.update(hashlib.sha256(content).digest())
    if owner is not None:
        h.update(b"\x00" + owner.encode())
    return h.hexdigest()
