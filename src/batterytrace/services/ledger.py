"""The ledger as a service: the store and its signing key set up, the import records, verify,
the signed head exported, the key rotated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlalchemy import make_url

from batterytrace import json_input
from batterytrace.errors import LedgerKeyError, NoSuchResource, StoreError
from batterytrace.ledger import checkpoint, imports, keys
from batterytrace.ledger.verify import Failure, Progress
from batterytrace.ledger.verify import verify as verify_store
from batterytrace.services import derived
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import database
from batterytrace.store.events import write_lock


class Initialised(BaseModel):
    """The store and its signing key, as `init` set them up."""

    store: str  # the SQLAlchemy URL
    revision: str | None  # the schema's migration revision
    key: Path
    key_created: bool


class Verified(BaseModel):
    """What `verify` found: every entry, import record and checkpoint checked; the problems,
    the first broken entry first (and each kind apart); with ``derived``, the kept state
    against a recomputation."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    entries: int
    broken: int  # entries that fail their own check, the first named in ``failure``
    import_records: int = Field(alias="importRecords")
    checkpoints: int
    head: str
    problems: list[str]
    derived: str | None = None  # "equal to a recomputation" or "differs"; None: not asked
    failure: Failure | None = Field(default=None, exclude=True)
    import_failure: str | None = Field(default=None, exclude=True)
    checkpoint_failures: list[str] = Field(default_factory=list, exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self, operator: bool = True) -> dict[str, Any]:
        """The report as JSON (the command's ``--json``, the API's answer); ``derived`` only
        when it was asked for. Not for the ``operator``: the problems counted, not told
        (each names an entry, an event or a record of someone's, decision 041)."""
        body = self.model_dump(exclude_none=self.derived is None)
        if not operator and self.problems:
            body["problems"] = [f"{len(self.problems)} problem(s); the store's operator sees them"]
        return body


def init(uow: UnitOfWork) -> Initialised:
    """Create or upgrade the schema; create the signing key when there is none and the
    store never signed (a store's key is replaced only by :func:`rotate_key`). A store
    upgraded from before import records has its imported rows recorded once and signed."""
    database.migrate(uow.engine)
    created = not uow.key_path.exists()
    with write_lock(uow.engine, "init") as conn:
        expected = checkpoint.signing_key_id(conn)
        if expected is not None and created:
            raise LedgerKeyError(
                f"{uow.key_path}: no ledger key, and this store is signed by key "
                f"{expected[:16]}…: restore that key file or set BATTERYTRACE_KEY to it "
                "(init never replaces a store's key; `batterytrace key rotate` does)"
            )
        if expected is not None and keys.key_id(keys.load_public(uow.key_path)) != expected:
            raise LedgerKeyError(
                f"{uow.key_path}: not this store's key (it is signed by {expected[:16]}…); "
                "set BATTERYTRACE_KEY to the store's key file"
            )
        if created:
            keys.generate(uow.key_path)
        if imports.adopt(conn) is not None:
            checkpoint.sign(conn, keys.load_private(uow.key_path))
    return Initialised(
        store=uow.url, revision=database.revision(uow.engine), key=uow.key_path, key_created=created
    )


def import_records(uow: UnitOfWork) -> list[imports.ImportRecord]:
    """Every recorded import, removal and key rotation, in order."""
    with uow.reading() as conn:
        return imports.records(conn)


def verify(
    uow: UnitOfWork,
    progress: Progress | None = None,
    against: Path | None = None,
    kept: bool = False,
) -> Verified:
    """Recompute every hash ID, the chain, derived rows (the holdings too), the imported
    tables and checkpoint signatures; ``progress`` gets what is checked, how far and out of
    how many; ``against``: a head exported earlier (:func:`export_head`) the store must
    still hold; ``kept``: the kept derived state compared with a recomputation too."""
    uow.ready()
    head = None
    if against is not None:
        exported = json_input.loads(against.read_bytes(), str(against), LedgerKeyError)
        head = checkpoint.SignedHead.from_json(exported, str(against))
    report = verify_store(uow.engine, keys.load_public(uow.key_path), progress, head)
    first = str(report.failure) if report.failure else None
    if first and report.broken > 1:
        first += f" ({report.broken} entries fail their own check in all)"
    problems = [p for p in (first, report.import_failure) if p] + report.checkpoint_failures
    compared = None
    if kept:
        difference = derived.check(uow)
        if difference is not None:
            problems.append(str(difference))
        compared = "differs" if difference else "equal to a recomputation"
    return Verified(
        entries=report.entries, broken=report.broken, importRecords=report.records,
        checkpoints=report.checkpoints, head=report.head, problems=problems, derived=compared,
        failure=report.failure, import_failure=report.import_failure,
        checkpoint_failures=report.checkpoint_failures,
    )  # fmt: skip


class NoCheckpoint(StoreError, NoSuchResource):
    """The store has signed no checkpoint yet (the API answers 404)."""


def export_head(uow: UnitOfWork) -> dict[str, Any]:
    """The newest signed checkpoint, to keep outside the store (``verify --against``)."""
    with uow.reading() as conn:
        last = checkpoint.latest(conn)
    if last is None:  # the store named without its password: the API shows the message
        store = make_url(uow.url).render_as_string(hide_password=True)
        raise NoCheckpoint(f"{store}: no signed checkpoint yet (nothing captured or imported)")
    return last.to_json()


def rotate_key(uow: UnitOfWork) -> tuple[str, str]:
    """Replace the signing key: the old key signs the new public key, the rotation is
    recorded in the ledger and the heads signed with the new key, in one transaction; then
    the new key takes the key file's place and the old one is kept beside it as
    ``<file>.retired-<id>``. Returns (old key id, new key id)."""
    uow.ready()
    key_path = uow.key_path
    old = keys.load_private(key_path)
    new = Ed25519PrivateKey.generate()
    old_id, new_raw = keys.key_id(old.public_key()), checkpoint.raw(new.public_key())
    signature = old.sign(checkpoint.rotation_message(old_id, new_raw)).hex()
    staged = key_path.with_name(key_path.name + ".new")
    for stale in (staged, keys.public_path(staged)):
        stale.unlink(missing_ok=True)
    keys.write(staged, new)
    with write_lock(uow.engine, "key rotation") as conn:
        expected = checkpoint.signing_key_id(conn)
        if expected is not None and expected != old_id:
            raise LedgerKeyError(
                f"{key_path}: not this store's key (it is signed by {expected[:16]}…)"
            )
        content = {"old": checkpoint.raw(old.public_key()), "new": new_raw,
                   "signature": signature}  # fmt: skip
        imports.record(conn, "key", "rotate", content, {}, str(key_path))
        checkpoint.sign(conn, new)
    retired = key_path.with_name(f"{key_path.name}.retired-{old_id[:16]}")
    key_path.rename(retired)
    keys.public_path(key_path).rename(keys.public_path(retired))
    staged.rename(key_path)
    keys.public_path(staged).rename(keys.public_path(key_path))
    derived.refresh(uow)  # the rotation signed a new version: the kept state follows
    return old_id, keys.key_id(new.public_key())
