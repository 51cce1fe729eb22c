"""The library entry point: one object over the store, the ledger key and the EPCIS codecs.

The CLI (and later the HTTP API) are thin layers over :class:`Repository`::

    repo = Repository()                 # Settings(): BATTERYTRACE_DB, BATTERYTRACE_KEY...
    repo.init()                         # schema + signing key
    repo.capture(Path("events.jsonld")) # all or nothing
    page = repo.query({"EQ_bizStep": "shipping", "MATCH_epc": "urn:epc:idpat:sgtin:0614141.*.*"})
    repo.verify().ok
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, func, select

from batterytrace import json_input
from batterytrace.carbon import pact
from batterytrace.carbon.activity import Model, period_of
from batterytrace.carbon.factors import FactorSet, shipped, write_csv
from batterytrace.carbon.footprint import (
    Contribution,
    Footprint,
    Product,
    Rollup,
    declared,
    explain,
    footprint,
    rollup,
)
from batterytrace.carbon.system import Builder, SupplierPcf, System, Unused
from batterytrace.carbon.targets import Targets, targets
from batterytrace.contracts.agreement import Agreement
from batterytrace.contracts.deliveries import Deliveries
from batterytrace.epcis import documents
from batterytrace.epcis.model import Document, DocumentKind, Event
from batterytrace.errors import (
    FactorError,
    FootprintError,
    LedgerKeyError,
    StoreError,
)
from batterytrace.identifiers import epc_urn
from batterytrace.ledger import checkpoint, imports, keys
from batterytrace.ledger.verify import Progress, VerifyReport, verify
from batterytrace.masterdata import MasterData, Material, MaterialKind
from batterytrace.services import derived
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.settings import Settings
from batterytrace.store import carbon as carbon_store
from batterytrace.store import contracts as contracts_store
from batterytrace.store import custody as custody_store
from batterytrace.store import database, schema
from batterytrace.store import masterdata as masterdata_store
from batterytrace.store import query as event_query
from batterytrace.store.events import CaptureResult, write_lock
from batterytrace.store.imported import Imported
from batterytrace.store.lineage import StoreLineage
from batterytrace.store.query import ParamValue, QueryPage, SimpleEventQuery
from batterytrace.trace.balance import DEFAULT_TOLERANCE, BalanceReport
from batterytrace.trace.balance import check as balance_of
from batterytrace.trace.lineage import class_of, node_id

QUERY_NAME = "SimpleEventQuery"


@dataclass(slots=True)
class InitResult:
    url: str
    revision: str | None
    key_path: Path
    key_created: bool


class Repository:
    """An EPCIS event repository with its tamper-evident ledger."""

    def __init__(
        self,
        url: str | None = None,
        key_path: Path | None = None,
        settings: Settings | None = None,
    ) -> None:
        """The store at ``url`` with its key at ``key_path``, by default those of ``settings``
        (read from the environment when not given: :class:`UnitOfWork`)."""
        # the areas moved to services take this; every write is followed by the refresh of
        # the kept derived state (decision 029)
        self.uow = UnitOfWork(url, key_path, settings, follow_up=derived.refresh)
        self.url, self.key_path, self.engine = self.uow.url, self.uow.key_path, self.uow.engine
        self.settings = self.uow.settings

    def init(self) -> InitResult:
        """Create or upgrade the schema; create the signing key when there is none and the
        store never signed (a store's key is replaced only by :meth:`rotate_key`). A store
        upgraded from before import records has its imported rows recorded once and signed."""
        database.migrate(self.engine)
        created = not self.key_path.exists()
        with write_lock(self.engine, "init") as conn:
            expected = checkpoint.signing_key_id(conn)
            if expected is not None and created:
                raise LedgerKeyError(
                    f"{self.key_path}: no ledger key, and this store is signed by key "
                    f"{expected[:16]}…: restore that key file or set BATTERYTRACE_KEY to it "
                    "(init never replaces a store's key; `batterytrace key rotate` does)"
                )
            if expected is not None and keys.key_id(keys.load_public(self.key_path)) != expected:
                raise LedgerKeyError(
                    f"{self.key_path}: not this store's key (it is signed by {expected[:16]}…); "
                    "set BATTERYTRACE_KEY to the store's key file"
                )
            if created:
                keys.generate(self.key_path)
            if imports.adopt(conn) is not None:
                checkpoint.sign(conn, keys.load_private(self.key_path))
        return InitResult(self.url, database.revision(self.engine), self.key_path, created)

    def _engine(self) -> Engine:
        """The store's engine, once the store is known to be initialised."""
        self.uow.ready()
        return self.engine

    def _record(
        self,
        kind: str,
        action: str,
        content: object,
        source: str | None = None,
        owner: str | None = None,
    ) -> tuple[imports.Effect, imports.ImportRecord | None]:
        """Write an import (or removal) through its applier, record it in the ledger and sign
        the heads, all or nothing (:meth:`Writing.record`)."""
        with self.uow.writing(f"{kind} {action}") as w:
            return w.record(kind, action, content, source, owner)

    def import_records(self) -> list[imports.ImportRecord]:
        """Every recorded import, removal and key rotation, in order."""
        with self._engine().connect() as conn:
            return imports.records(conn)

    def capture(
        self, path: Path, owner: str | None = None, progress: Callable[[int], None] | None = None
    ) -> CaptureResult:
        """Capture every event of the file at ``path`` (JSON-LD or XML), or none
        (:meth:`Writing.capture`)."""
        with self.uow.writing("capture") as w:
            return w.capture(
                documents.stream(path, schema=self.settings.epcis_schema),
                source=path.name,
                owner=owner,
                progress=progress,
            )

    def capture_document(self, document: Document, owner: str | None = None) -> CaptureResult:
        """Capture an already parsed document (its events are checked first)."""
        with self.uow.writing("capture") as w:
            return w.capture(documents.EventStream.of(document), owner=owner)

    def query(self, params: Mapping[str, ParamValue]) -> QueryPage:
        """One page of a SimpleEventQuery (EPCIS 2.0 §8.2.7.1)."""
        query = SimpleEventQuery(params)
        with self._engine().connect() as conn:
            return query.page(conn)

    def query_all(self, params: Mapping[str, ParamValue]) -> Iterator[Event]:
        """Every matching event, in the query's order, read a page of at most
        :data:`~batterytrace.store.query.MAX_PER_PAGE` events at a time (bounded memory)."""
        params = {k: v for k, v in params.items() if k != "perPage"}
        while True:
            page = self.query(params | {"perPage": str(event_query.MAX_PER_PAGE)})
            yield from page.events
            if page.next_page_token is None:
                return
            params["nextPageToken"] = page.next_page_token

    def query_document(self, params: Mapping[str, ParamValue]) -> tuple[Document, str | None]:
        """The page as an EPCISQueryDocument, and the next-page token."""
        page = self.query(params)
        doc = Document(
            kind=DocumentKind.QUERY,
            creationDate=datetime.now(UTC),
            events=page.events,
            queryName=QUERY_NAME,
        )
        return doc, page.next_page_token

    def event_counts(self) -> list[tuple[str, str | None, int]]:
        """How many events of each type and business step are stored."""
        e = schema.event
        stmt = (
            select(e.c.event_type, e.c.biz_step, func.count())
            .group_by(e.c.event_type, e.c.biz_step)
            .order_by(e.c.event_type, e.c.biz_step)
        )
        with self._engine().connect() as conn:
            return [(kind, step, int(n)) for kind, step, n in conn.execute(stmt)]

    def count(self, params: Mapping[str, ParamValue]) -> int:
        """How many events match (``eventCountLimit`` caps it; paging parameters are ignored)."""
        query = SimpleEventQuery(params)
        with self._engine().connect() as conn:
            return query.count(conn)

    def import_master_data(
        self, data: MasterData, source: str | None = None, owner: str | None = None
    ) -> dict[str, Imported]:
        """Add or replace parties, sites and materials (by id); checked with what is stored, all
        or nothing; records stored already as given are left as they are. What changed, per
        kind (parties, sites, materials)."""
        return self._record("masterdata", "import", data.to_json(), source, owner)[0]

    def master_data(self) -> MasterData:
        """Every stored party, site and material."""
        with self._engine().connect() as conn:
            return masterdata_store.load(conn)

    def import_contracts(
        self, agreements: list[Agreement], source: str | None = None, owner: str | None = None
    ) -> Imported:
        """Add or replace offtake agreements (by id); one stored already as given is left as
        it is."""
        content = [a.to_json() for a in agreements]
        return self._record("contracts", "import", content, source, owner)[0]["agreements"]

    def contracts(self) -> list[Agreement]:
        with self._engine().connect() as conn:
            return contracts_store.load(conn)

    def deliveries(self) -> Deliveries:
        """Every agreement's shipments and findings, read from the stored events."""
        with self._engine().connect() as conn:
            state = Deliveries(contracts_store.load(conn))
            for event in custody_store.lot_events(conn):
                state.apply(event)
            return state

    # --- carbon footprint (issue 5, decision 010) ------------------------------------------

    def import_carbon(
        self, model: Model, source: str, owner: str | None = None, replace: bool = False
    ) -> Imported:
        """Import a carbon model (activity data, lanes, allocation rules, proxies) over the
        stored one (decision 016): what is stored already as given changes nothing (and is not
        recorded); a datum for a site, period, kind and factor already stated (or a lane,
        site's allocation, proxy already set) with other values is refused, nothing written,
        unless ``replace``. What the import changed is kept under its import record's number
        (``id``: ``carbon_imports``, ``remove_carbon``)."""
        action = "replace" if replace else "import"
        effect, record = self._record("carbon", action, model.to_json(), source, owner)
        return dataclass_replace(effect["entries"], id=record.seq if record else None)

    def carbon_imports(self) -> list[tuple[int | None, str, datetime, Model]]:
        """(import record, source, when, what it changed) of every carbon import kept, in
        import order."""
        with self._engine().connect() as conn:
            return carbon_store.imports(conn)

    def remove_carbon(self, record: int, owner: str | None = None) -> None:
        """Undo the carbon import of import record ``record``: what it replaced applies again.
        The removal is recorded, naming that record."""
        self._record("carbon", "remove", {"record": record}, None, owner)

    def carbon_model(self) -> Model:
        with self._engine().connect() as conn:
            return carbon_store.model(conn)

    def import_factors(self, factors: FactorSet, owner: str | None = None) -> Imported:
        """Add a user's emission-factor set, chosen by ``name@version``: the same set again
        changes nothing, other factors under a stored label are refused (ImportConflict)."""
        if factors.label == shipped().label:
            raise FactorError(f"{factors.label} is the shipped set; give your set another name")
        content = {"name": factors.name, "version": factors.version, "csv": write_csv(factors)}
        return self._record("factors", "import", content, factors.label, owner)[0]["factor sets"]

    def factor_sets(self) -> list[FactorSet]:
        """The shipped set, then the users' sets."""
        with self._engine().connect() as conn:
            return [shipped(), *carbon_store.factor_sets(conn).values()]

    def factor_set(self, label: str | None = None) -> FactorSet:
        """The set a calculation uses: the shipped one, or a user's (over the shipped one, so a
        set overriding a few factors keeps the others)."""
        if label is None or label == shipped().label:
            return shipped()
        with self._engine().connect() as conn:
            found = carbon_store.factor_sets(conn).get(label)
        if found is None:
            labels = ", ".join(s.label for s in self.factor_sets())
            raise FactorError(f"factor set {label!r} is unknown; known: {labels}")
        return found.over(shipped())

    def import_supplier_footprint(
        self,
        document: Mapping[str, object],
        product: str,
        source: str | None = None,
        owner: str | None = None,
        replace: bool = False,
    ) -> tuple[pact.SupplierFootprint, Imported]:
        """Keep a supplier's PACT footprint as the footprint of a product class or lot: it
        replaces the proxy factor (or the site's activity data) for that product. The same
        again changes nothing; another footprint for a product that has one is refused unless
        ``replace``, other content under a stored footprint id always (ImportConflict)."""
        read = pact.read(document)
        content = {"id": read.id, "product": node_id(product), "document": document}
        action = "replace" if replace else "import"
        return read, self._record("supplier", action, content, source, owner)[0]["footprints"]

    def product_system(self, factors: str | None = None, model: Model | None = None) -> System:
        """The product system of everything stored (decision 010); ``model`` replaces the
        stored carbon model (what-if)."""
        with self._engine().connect() as conn:
            data = masterdata_store.load(conn)
            packs = tuple(
                sorted(
                    node_id(m.id) for m in data.materials.values() if m.kind is MaterialKind.PACK
                )
            )
            suppliers = {}
            for product, document in carbon_store.suppliers(conn):
                read = pact.read(document)
                share = (read.primary_data_share or 0.0) / 100
                suppliers[product] = SupplierPcf(
                    read.id, read.kg_co2e_per_kg, share, read.company_name
                )
            builder = Builder(
                model or carbon_store.model(conn),
                self.factor_set(factors),
                data.sites,
                suppliers,
                carbon_store.parents(conn),
            )
            steps, legs, assembled = carbon_store.recorded(conn, packs, data.materials.values())
        for step in steps:
            builder.step(step)
        for pack in assembled:
            builder.assembled(pack)
        for leg in legs:
            builder.leg(leg)
        return builder.build()

    def not_counted(self, period: str | None = None, factors: str | None = None) -> list[Unused]:
        """Activity data no product takes and legs not counted; ``period``: only what overlaps
        it (``YYYY``, ``YYYY-Qn``, ``YYYY-MM``)."""
        span = None if period is None else period_of(period)
        return self.product_system(factors).not_counted(span)

    def footprints(self, factors: str | None = None) -> Rollup:
        """Every stored lot, item batch and pack, rolled up."""
        return rollup(self.product_system(factors))

    def footprint_node(self, identifier: str) -> str:
        """The product-system node that stands for an identifier: a lot, a pack, or for a
        serialised item the batch of the transformation that made it (or what the event that
        commissioned it brought in, per kg)."""
        node = node_id(identifier)
        with self._engine().connect() as conn:
            batch = carbon_store.batch_of(conn, node)
        return batch or node

    @staticmethod
    def _material(data: MasterData, identifier: str) -> Material | None:
        """The master-data material of the identifier's class."""
        cls = class_of(node_id(identifier))
        return next((m for m in data.materials.values() if node_id(m.id) == cls), None)

    def held(self, identifier: str) -> list[tuple[str, int]]:
        """What a container the product system does not count (a module) holds, per batch."""
        with self._engine().connect() as conn:
            return carbon_store.held(conn, node_id(identifier))

    def footprint(self, identifier: str, factors: str | None = None) -> tuple[Footprint, Rollup]:
        """One unit of a lot, an item, a pack or a module (the items it holds); a vehicle is
        outside the battery's boundary."""
        material = self._material(self.master_data(), identifier)
        if material is not None and material.kind is MaterialKind.VEHICLE:
            raise FootprintError(
                f"{identifier}: a vehicle is outside the battery's cradle-to-gate boundary; "
                "ask for the pack it holds"
            )
        result = self.footprints(factors)
        node = self.footprint_node(identifier)
        held = [] if result.system.node(node) is not None else self.held(identifier)
        if result.system.node(node) is None and not held:
            raise FootprintError(
                f"{identifier}: not a lot, pack, module or item made by a transformation "
                "in this store"
            )
        capacity = material.energy_kwh if material else None
        return footprint(result, node, capacity, held), result

    def pact_footprint(
        self, identifier: str, version: str = "3", factors: str | None = None
    ) -> dict[str, Any]:
        """The PACT ProductFootprint (v2.3 or v3.0) of a lot, item or pack."""
        fp, result = self.footprint(identifier, factors)
        j = result.system.node(self.footprint_node(identifier))
        if j is None:  # a module: no site or date of its own in the product system
            raise FootprintError(
                f"{identifier}: PACT footprints are exported for lots, packs and items made by "
                "a transformation"
            )
        node = result.system.nodes[j]
        data = self.master_data()
        cls = class_of(node_id(identifier))
        kind = self._material(data, identifier)
        site = next((s for s in data.sites.values() if node_id(s.id) == node.site), None)
        party = data.parties.get(site.party) if site else None
        if site is None or party is None:
            raise FootprintError(
                f"{identifier}: its site {node.site} is not in the master data "
                "(PACT needs the company)"
            )
        product = Product(
            ids=(epc_urn(identifier, kind.id if kind else None),),
            name=kind.name if kind else cls,
            company=party.name,
            company_ids=(
                party.id
                if party.id.startswith("urn:")
                else f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, party.id)}",
            ),
            country=site.country,
            mass_kg=kind.mass_kg if kind else None,
            made=node.time,
        )
        return pact.export(declared(fp, product), version)

    def targets(
        self, what_if: list[str], baseline: float | None = None, factors: str | None = None
    ) -> Targets:
        """Average footprint per kWh of the packs by year against the 2020 baseline and the
        targets, and what the levers would change (carbon.targets)."""
        packs = {
            node_id(m.id): (m.energy_kwh or 0.0, m.chemistry or "")
            for m in self.master_data().materials.values()
            if m.kind is MaterialKind.PACK and m.energy_kwh
        }
        return targets(self.product_system(factors), packs, what_if, baseline)

    def explain_footprint(self, result: Rollup, identifier: str) -> Contribution:
        node = self.footprint_node(identifier)
        held = [] if result.system.node(node) is not None else self.held(identifier)
        return explain(result, node, held=held)

    def check_balance(self, tolerance: float = DEFAULT_TOLERANCE) -> BalanceReport:
        """Element mass in against out for every stored transformation."""
        with self._engine().connect() as conn:
            lineage = StoreLineage(conn)
            return balance_of(lineage, lineage.transformations(), tolerance=tolerance)

    def verify(self, progress: Progress | None = None, against: Path | None = None) -> VerifyReport:
        """Recompute every hash ID, the chain, derived rows (the holdings too), the imported
        tables and checkpoint signatures; ``progress`` gets what is checked, how far and out of
        how many; ``against``: a head exported earlier (:meth:`export_head`) the store must
        still hold."""
        engine = self._engine()
        head = None
        if against is not None:
            exported = json_input.loads(against.read_bytes(), str(against), LedgerKeyError)
            head = checkpoint.SignedHead.from_json(exported, str(against))
        return verify(engine, keys.load_public(self.key_path), progress, head)

    def export_head(self) -> dict[str, Any]:
        """The newest signed checkpoint, to keep outside the store (``verify --against``)."""
        with self._engine().connect() as conn:
            last = checkpoint.latest(conn)
        if last is None:
            raise StoreError(f"{self.url}: no signed checkpoint yet (nothing captured or imported)")
        return last.to_json()

    def rotate_key(self) -> tuple[str, str]:
        """Replace the signing key: the old key signs the new public key, the rotation is
        recorded in the ledger and the heads signed with the new key, in one transaction; then
        the new key takes the key file's place and the old one is kept beside it as
        ``<file>.retired-<id>``. Returns (old key id, new key id)."""
        engine = self._engine()
        old = keys.load_private(self.key_path)
        new = Ed25519PrivateKey.generate()
        old_id, new_raw = keys.key_id(old.public_key()), checkpoint.raw(new.public_key())
        signature = old.sign(checkpoint.rotation_message(old_id, new_raw)).hex()
        staged = self.key_path.with_name(self.key_path.name + ".new")
        for stale in (staged, keys.public_path(staged)):
            stale.unlink(missing_ok=True)
        keys.write(staged, new)
        with write_lock(engine, "key rotation") as conn:
            expected = checkpoint.signing_key_id(conn)
            if expected is not None and expected != old_id:
                raise LedgerKeyError(
                    f"{self.key_path}: not this store's key (it is signed by {expected[:16]}…)"
                )
            content = {"old": checkpoint.raw(old.public_key()), "new": new_raw,
                       "signature": signature}  # fmt: skip
            imports.record(conn, "key", "rotate", content, {}, str(self.key_path))
            checkpoint.sign(conn, new)
        retired = self.key_path.with_name(f"{self.key_path.name}.retired-{old_id[:16]}")
        self.key_path.rename(retired)
        keys.public_path(self.key_path).rename(keys.public_path(retired))
        staged.rename(self.key_path)
        keys.public_path(staged).rename(keys.public_path(self.key_path))
        derived.refresh(self.uow)  # the rotation signed a new version: the kept state follows
        return old_id, keys.key_id(new.public_key())

    def close(self) -> None:
        self.engine.dispose()
