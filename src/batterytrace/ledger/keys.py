"""The Ed25519 key that signs checkpoints, kept in files outside the database.

The settings' ``BATTERYTRACE_KEY`` names the private key file (PKCS#8 PEM, mode 0600; default
``batterytrace-ledger.key`` in the working directory); the public key sits beside it with the
suffix ``.pub``. ``verify`` needs only the public key.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from batterytrace.errors import LedgerKeyError


def public_path(private: Path) -> Path:
    return private.with_name(private.name + ".pub")


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate(path: Path) -> Ed25519PublicKey:
    """Create a new key pair at ``path`` (refuses to overwrite an existing key)."""
    return write(path, Ed25519PrivateKey.generate())


def write(path: Path, private: Ed25519PrivateKey) -> Ed25519PublicKey:
    """Write ``private`` to ``path`` (mode 0600) and its public key beside it; never over an
    existing key."""
    if path.exists():
        raise LedgerKeyError(f"{path}: a ledger key already exists; refusing to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = private.public_key()
    public_path(path).write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise LedgerKeyError(
            f"{path}: no ledger key; set BATTERYTRACE_KEY to the store's key file "
            "(`batterytrace init` makes a key only for a store that never signed)"
        ) from None
    except ValueError as exc:
        raise LedgerKeyError(f"{path}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerKeyError(f"{path}: not an Ed25519 key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """The public key from ``<path>.pub``, or derived from the private key file."""
    pub = public_path(path)
    if not pub.exists():
        return load_private(path).public_key()
    try:
        key = serialization.load_pem_public_key(pub.read_bytes())
    except ValueError as exc:
        raise LedgerKeyError(f"{pub}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise LedgerKeyError(f"{pub}: not an Ed25519 key")
    return key


def signature_valid(public: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    try:
        public.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
