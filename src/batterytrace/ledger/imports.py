"""Import records (decision 015): every import, removal, key rotation and custody operator act
(a period closed, credits transferred), hash-chained like the events and covered by the signed
checkpoints.

A record keeps what was imported as canonical JSON with its sha256, when, from which source,
by whom, and its effect (counts). An import is applied through the same function that
``verify`` replays: verify recomputes every imported table (master data, carbon models, custody
rules, closed periods and transfers, contracts, factor sets, supplier footprints) from the
recorded imports, in a scratch in-memory database, and compares it with the stored rows, so a
row changed, removed or added by hand fails and names the import that wrote it. The appliers
decide what an import changes (refusing a conflict before writing, decision 017): an import
that changes nothing is not recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Table, create_engine, func, insert, select
from sqlalchemy.pool import StaticPool

from batterytrace.carbon.activity import from_json as model_from_json
from batterytrace.carbon.factors import read_csv
from batterytrace.certificates import Certificate
from batterytrace.contracts.agreement import Agreement
from batterytrace.custody.claims import parse_claim
from batterytrace.custody.flows import Transfer
from batterytrace.custody.rules import CustodyRules
from batterytrace.errors import ImportConflict
from batterytrace.ledger.checkpoint import Rotation
from batterytrace.masterdata import MasterData
from batterytrace.sharing import share_of_json
from batterytrace.store import carbon as carbon_store
from batterytrace.store import certificates as certificates_store
from batterytrace.store import chain, schema
from batterytrace.store import contracts as contracts_store
from batterytrace.store import custody as custody_store
from batterytrace.store import masterdata as masterdata_store
from batterytrace.store import organisations as organisations_store
from batterytrace.store import pact as pact_store
from batterytrace.store.imported import Imported

R = schema.import_record
Content = Any  # JSON: what an import brought, as the applier reads it
Effect = dict[str, Imported]  # what an import changed, per kind of entry (decision 016)
Applier = Callable[[Connection, Content, "Origin"], Effect]


@dataclass(frozen=True, slots=True)
class ImportRecord:
    seq: int
    kind: str
    action: str
    source: str | None
    recorded: int  # ms since the epoch
    owner: str | None
    content_hash: str
    effect: dict[str, int]

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.recorded / 1000, UTC)

    def describe(self) -> str:
        source = f" of {self.source}" if self.source else ""
        when = f"{self.when:%Y-%m-%d %H:%M:%S} UTC"
        return f"import record {self.seq} ({self.kind} {self.action}{source}, {when})"

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "kind": self.kind, "action": self.action, "source": self.source,
            "recorded": self.when.isoformat(), "owner": self.owner,
            "contentHash": self.content_hash, "effect": self.effect,
        }  # fmt: skip


def canonical(content: Content) -> str:
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS).decode()


def _entry(prev: str, record: ImportRecord) -> str:
    """The chain entry: the record's fields (its content by hash) chained like an event's."""
    fields = record.to_json() | {"recorded": record.recorded}
    return chain.entry_hash(prev, record.seq, record.content_hash, canonical(fields).encode())


# --- what each kind of import writes (the one code path for importing and replaying) ---------


@dataclass(frozen=True, slots=True)
class Origin:
    """The record an import is written under: its position in the chain (a carbon import is
    kept under it: the same on every backend and in the replay), source and owner."""

    seq: int
    source: str | None = None
    owner: str | None = None


def _masterdata(conn: Connection, content: Content, at: Origin) -> Effect:
    data = MasterData.from_json(content)
    masterdata_store.load(conn).merged(data)  # checked with what is stored, before any write
    return masterdata_store.save(conn, data, at.owner)


def _custody(conn: Connection, content: Content, at: Origin) -> Effect:
    return {"rules": custody_store.save(conn, CustodyRules.from_json(content), at.owner)}


def _close(conn: Connection, content: Content, _: Origin) -> Effect:
    when = datetime.fromtimestamp(content["closedAt"] / 1000, UTC)
    claim = parse_claim(content["claim"])
    custody_store.close(conn, content["site"], claim, content["period"], when)
    return {"closed periods": Imported(added=1)}


def _transfer(conn: Connection, content: Content, _: Origin) -> Effect:
    when = datetime.fromtimestamp(content["at"] / 1000, UTC)
    custody_store.keep_transfer(
        conn,
        Transfer(when, content["source"], content["target"], parse_claim(content["claim"]),
                 content["kg"], content["ref"], when),
    )  # fmt: skip
    return {"transfers": Imported(added=1)}


def _contracts(conn: Connection, content: Content, at: Origin) -> Effect:
    agreements = [Agreement.from_json(item, f"contract[{i}]") for i, item in enumerate(content)]
    return {"agreements": contracts_store.save(conn, agreements, at.owner)}


def _carbon(conn: Connection, content: Content, at: Origin, replace: bool = False) -> Effect:
    model = model_from_json(content, at.source or "")
    return {"entries": carbon_store.add_model(conn, model, at.seq, at.source, at.owner, replace)}


def _carbon_replace(conn: Connection, content: Content, at: Origin) -> Effect:
    return _carbon(conn, content, at, replace=True)


def _carbon_remove(conn: Connection, content: Content, _: Origin) -> Effect:
    """Undo the carbon import of record ``content["record"]``: what it replaced applies again."""
    if not carbon_store.remove_model(conn, content["record"]):
        raise ImportConflict(
            f"carbon import {content['record']}: no such import (see `carbon list`)"
        )
    return {"carbon imports": Imported(removed=1)}


def _factors(conn: Connection, content: Content, at: Origin) -> Effect:
    factors = read_csv(content["csv"], content["name"], content["version"])
    return {"factor sets": carbon_store.save_factors(conn, factors, at.owner)}


def _factors_use(conn: Connection, content: Content, _: Origin) -> Effect:
    return {"factor sets": carbon_store.use_factors(conn, content["label"])}


def _factors_remove(conn: Connection, content: Content, _: Origin) -> Effect:
    return {"factor sets": carbon_store.remove_factors(conn, content["label"])}


def _supplier(conn: Connection, content: Content, at: Origin, replace: bool = False) -> Effect:
    return {"footprints": carbon_store.save_supplier(
        conn, content["id"], content["product"], content["document"], at.owner, replace
    )}  # fmt: skip


def _supplier_replace(conn: Connection, content: Content, at: Origin) -> Effect:
    return _supplier(conn, content, at, replace=True)


def _organisation(conn: Connection, content: Content, _: Origin) -> Effect:
    return {"organisations": organisations_store.create(conn, content["id"], content["name"])}


def _registered(conn: Connection, organisation: str) -> None:
    if organisation not in organisations_store.load(conn).names:
        raise ImportConflict(f"organisation {organisation}: no such organisation (org create)")


def _assign(conn: Connection, content: Content, _: Origin) -> Effect:
    _registered(conn, content["organisation"])
    return {"sites": organisations_store.assign(conn, content["site"], content["organisation"])}


def _delegation(conn: Connection, content: Content, granted: bool) -> Effect:
    site, organisation = content["site"], content["organisation"]
    _registered(conn, organisation)
    owner = organisations_store.load(conn).owners.get(site)
    if owner is None:
        raise ImportConflict(f"site {site}: no organisation owns it (site assign)")
    if owner == organisation:
        raise ImportConflict(f"site {site}: {organisation} owns it; it needs no delegation")
    return {"delegations": organisations_store.delegate(conn, site, organisation, granted)}


def _delegate(conn: Connection, content: Content, _: Origin) -> Effect:
    return _delegation(conn, content, granted=True)


def _undelegate(conn: Connection, content: Content, _: Origin) -> Effect:
    return _delegation(conn, content, granted=False)


def _share(conn: Connection, content: Content, at: Origin) -> Effect:
    share = share_of_json(content, at.seq)
    for organisation in (share.owner, share.grantee):
        _registered(conn, organisation)
    return {"shares": organisations_store.grant(conn, share)}


def _unshare(conn: Connection, content: Content, _: Origin) -> Effect:
    done = organisations_store.revoke(conn, content["id"])
    if not done.removed:
        raise ImportConflict(f"share {content['id']}: no such share in force (share list)")
    return {"shares": done}


def _certificates(conn: Connection, content: Content, at: Origin) -> Effect:
    read = [Certificate.from_json(c, f"$[{i}]") for i, c in enumerate(content)]
    return {"certificates": certificates_store.save(conn, read, at.seq)}


def _publish(conn: Connection, content: Content, _: Origin) -> Effect:
    return {"footprints published": pact_store.publish(
        conn, content["product"], content["number"], content["created"], content["documents"]
    )}  # fmt: skip


def _vocabulary(conn: Connection, content: Content, _: Origin) -> Effect:
    return masterdata_store.save_vocabularies(conn, content)


def _rotation(_conn: Connection, _content: Content, _: Origin) -> Effect:
    return {}


def _adopt(conn: Connection, content: Content, _: Origin) -> Effect:
    """The rows a store held before imports were recorded, as they stood (``init`` adopts
    them once, signed by the operator's key)."""
    for name, rows in content.items():
        if rows:
            conn.execute(insert(schema.metadata.tables[name]), rows)
    return _adopted(content)


def _adopted(content: Mapping[str, list[Any]]) -> Effect:
    return {name: Imported(added=len(rows)) for name, rows in content.items()}


APPLIERS: dict[tuple[str, str], Applier] = {
    ("masterdata", "import"): _masterdata,
    ("custody", "import"): _custody,
    ("custody", "close"): _close,
    ("custody", "transfer"): _transfer,
    ("contracts", "import"): _contracts,
    ("carbon", "import"): _carbon,
    ("carbon", "replace"): _carbon_replace,
    ("carbon", "remove"): _carbon_remove,
    ("factors", "import"): _factors,
    ("factors", "use"): _factors_use,
    ("factors", "remove"): _factors_remove,
    ("supplier", "import"): _supplier,
    ("supplier", "replace"): _supplier_replace,
    ("organisation", "create"): _organisation,
    ("site", "assign"): _assign,
    ("site", "delegate"): _delegate,
    ("site", "undelegate"): _undelegate,
    ("share", "grant"): _share,
    ("share", "revoke"): _unshare,
    ("pact", "publish"): _publish,
    ("certificate", "import"): _certificates,
    ("vocabulary", "capture"): _vocabulary,
    ("key", "rotate"): _rotation,
    ("store", "adopt"): _adopt,
}
# The tables imports write, and the columns each row is compared on: a surrogate id (its value
# depends on the backend) and the time of writing are not replayed.
TABLES: tuple[Table, ...] = (
    schema.party, schema.site, schema.material, schema.custody_rule, schema.custody_close,
    schema.custody_transfer, schema.contract, schema.carbon_model, schema.factor_set,
    schema.factor_use, schema.supplier_footprint, schema.vocabulary_element,
    schema.vocabulary_child, schema.organisation, schema.site_owner, schema.capture_delegation,
    schema.share, schema.pact_footprint, schema.certificate,
)  # fmt: skip
_NOT_REPLAYED = {"carbon_model": ("id", "imported"), "custody_rule": ("id",)}
# The tables each kind of record writes: replay compares only those after a record.
_WRITES: dict[str, tuple[Table, ...]] = {
    "masterdata": (schema.party, schema.site, schema.material),
    "custody": (schema.custody_rule, schema.custody_close, schema.custody_transfer),
    "contracts": (schema.contract,),
    "carbon": (schema.carbon_model,),
    "factors": (schema.factor_set, schema.factor_use),
    "supplier": (schema.supplier_footprint,),
    "vocabulary": (schema.vocabulary_element, schema.vocabulary_child),
    "organisation": (schema.organisation,),
    "site": (schema.site_owner, schema.capture_delegation),
    "share": (schema.share,),
    "pact": (schema.pact_footprint,),
    "certificate": (schema.certificate,),
    "key": (),
    "store": TABLES,
}


def apply(
    conn: Connection,
    kind: str,
    action: str,
    content: Content,
    source: str | None = None,
    owner: str | None = None,
) -> tuple[Effect, ImportRecord | None]:
    """Write an import and record it, in the caller's transaction (which signs a checkpoint):
    what it changed, and its record; an import that changes nothing is not recorded (None).
    The applier refuses a conflict before it writes anything."""
    body = orjson.loads(canonical(content))  # what replay will read, exactly
    effect = APPLIERS[(kind, action)](conn, body, Origin(_next_seq(conn), source, owner))
    if not any(done.changed for done in effect.values()):
        return effect, None
    return effect, record(conn, kind, action, body, counts(effect), source, owner)


def counts(effect: Effect) -> dict[str, int]:
    """An effect as the record keeps it: "sites added", "rules removed"… (those not zero)."""
    return {f"{name} {what}": n for name, done in effect.items()
            for what, n in done.counts().items() if n}  # fmt: skip


def _next_seq(conn: Connection) -> int:
    return (conn.execute(select(func.max(R.c.seq))).scalar() or 0) + 1


def record(
    conn: Connection,
    kind: str,
    action: str,
    content: Content,
    effect: Mapping[str, int],
    source: str | None = None,
    owner: str | None = None,
) -> ImportRecord:
    last = conn.execute(select(R.c.seq, R.c.entry_hash).order_by(R.c.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, chain.GENESIS)
    text = canonical(content)
    rec = ImportRecord(
        seq, kind, action, source, int(datetime.now(UTC).timestamp() * 1000), owner,
        hashlib.sha256(text.encode()).hexdigest(), dict(effect),
    )  # fmt: skip
    conn.execute(
        insert(R).values(
            seq=seq, kind=kind, action=action, source=source, recorded=rec.recorded, owner=owner,
            content=text, content_hash=rec.content_hash, effect=canonical(rec.effect),
            entry_hash=_entry(prev, rec),
        )
    )  # fmt: skip
    return rec


def records(conn: Connection) -> list[ImportRecord]:
    rows = conn.execute(select(R).order_by(R.c.seq))
    return [_record(row) for row in rows]


def _record(row: Any) -> ImportRecord:
    return ImportRecord(
        row.seq, row.kind, row.action, row.source, row.recorded, row.owner, row.content_hash,
        orjson.loads(row.effect),
    )  # fmt: skip


def adopt(conn: Connection) -> ImportRecord | None:
    """Record, once, the imported rows a store held before import records existed."""
    if conn.execute(select(R.c.seq).limit(1)).first() is not None:
        return None
    content = {
        str(t.name): [{str(k): v for k, v in r._mapping.items()} for r in conn.execute(select(t))]
        for t in TABLES
    }
    if not any(content.values()):
        return None
    return record(conn, "store", "adopt", content, counts(_adopted(content)))


# --- verify ------------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportCheck:
    """The import records as verify found them: how many, the chain's entry after each
    (``heads[0]`` the genesis; None when the chain is broken), the key rotations, the first
    problem."""

    records: int = 0
    heads: list[str] | None = field(default_factory=lambda: [chain.GENESIS])
    rotations: list[Rotation] = field(default_factory=list)
    failure: str | None = None


def check(conn: Connection) -> ImportCheck:
    """Walk the import records' chain, then replay them and compare every imported table."""
    result = ImportCheck()
    rows = list(conn.execute(select(R).order_by(R.c.seq)))
    result.records = len(rows)
    heads = [chain.GENESIS]
    for expected, row in enumerate(rows, start=1):
        rec = _record(row)
        problem = None
        if row.seq != expected:
            problem = f"import record {expected} is missing (the next stored is {row.seq})"
        elif hashlib.sha256(row.content.encode()).hexdigest() != row.content_hash:
            problem = f"{rec.describe()}: content does not match its hash"
        elif _entry(heads[-1], rec) != row.entry_hash:
            problem = f"{rec.describe()}: chain entry does not match its record and predecessor"
        elif (row.kind, row.action) not in APPLIERS:
            problem = f"{rec.describe()}: unknown kind of import"
        if problem:
            result.heads, result.failure = None, problem
            return result
        heads.append(row.entry_hash)
        if row.kind == "key":
            c = orjson.loads(row.content)
            result.rotations.append(Rotation(row.seq, c["old"], c["new"], c["signature"]))
    result.heads = heads
    result.failure = _replay(conn, rows)
    return result


def _replay(conn: Connection, rows: list[Any]) -> str | None:
    """Replay every record into a scratch database; the first stored row that differs, named
    with the import that last wrote (or removed) it."""
    scratch = create_engine("sqlite://", poolclass=StaticPool)
    schema.metadata.create_all(scratch, tables=list(TABLES))
    expected: dict[str, dict[object, tuple[Any, ...]]] = {t.name: {} for t in TABLES}
    writer: dict[tuple[str, object], ImportRecord] = {}
    with scratch.begin() as s:
        for row in rows:
            at = Origin(row.seq, row.source, row.owner)
            APPLIERS[(row.kind, row.action)](s, orjson.loads(row.content), at)
            for table in _WRITES[row.kind]:
                now, before = _rows(s, table), expected[table.name]
                for key in {*now, *before}:
                    if now.get(key) != before.get(key):
                        writer[(table.name, key)] = _record(row)
                expected[table.name] = now
    scratch.dispose()
    for table in TABLES:
        stored, wanted = _rows(conn, table), expected[table.name]
        for key in sorted({*stored, *wanted}, key=repr):
            if stored.get(key) == wanted.get(key):
                continue
            what = f"{table.name} {_show(key)}"
            by = writer.get((table.name, key))
            if by is None:
                return f"{what}: in the store, but no recorded import wrote it"
            if key not in wanted:
                return f"{what}: removed by {by.describe()}, yet in the store"
            if key not in stored:
                return f"{what}: written by {by.describe()}, missing from the store"
            return f"{what}: differs from what {by.describe()} wrote"
    return None


def _rows(conn: Connection, table: Table) -> dict[object, tuple[Any, ...]]:
    """A table's rows by key (its primary key; its position for a surrogate id), each as the
    values replay gives again."""
    skipped = _NOT_REPLAYED.get(table.name, ())
    compared = [c for c in table.columns if c.name not in skipped]
    ordered = conn.execute(select(*compared).order_by(*table.primary_key.columns))
    if skipped:
        return {i: tuple(r) for i, r in enumerate(ordered, start=1)}
    keys = [i for i, c in enumerate(compared) if c.primary_key]
    return {tuple(r[i] for i in keys): tuple(r) for r in ordered}


def _show(key: object) -> str:
    if isinstance(key, tuple):
        return " ".join(str(k) for k in key)
    return f"row {key}"
