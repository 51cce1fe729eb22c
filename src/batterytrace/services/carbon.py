"""Carbon footprint as a service (issue 5, decision 010): the carbon model, emission-factor
sets and supplier footprints imported; the product system of everything stored built and
rolled up into footprints, PACT exports and targets."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import Connection

from batterytrace.carbon import DRAWS, SEED, embodied, pact
from batterytrace.carbon.activity import Model, period_of
from batterytrace.carbon.embodied import Embodied, Pool
from batterytrace.carbon.factors import FactorSet, shipped, write_csv
from batterytrace.carbon.footprint import (
    Contribution,
    Figures,
    Footprint,
    Product,
    Rollup,
    declared,
    explain,
    rollup,
    stated,
)
from batterytrace.carbon.footprint import footprint as footprint_of
from batterytrace.carbon.system import (
    Assembled,
    Builder,
    Leg,
    Made,
    Node,
    SupplierPcf,
    System,
    Uncounted,
    Uncounting,
    Unused,
)
from batterytrace.carbon.system import Unit as SystemUnit
from batterytrace.carbon.targets import Targets
from batterytrace.carbon.targets import targets as targets_of
from batterytrace.carbon.uncertainty import Interval, check_draws, interval
from batterytrace.errors import (
    BatteryTraceError,
    FactorError,
    FootprintError,
    Forbidden,
    ImportConflict,
    NoSuchResource,
)
from batterytrace.identifiers import epc_urn
from batterytrace.masterdata import MasterData, Material, MaterialKind
from batterytrace.periods import Period, parse_period
from batterytrace.periods import span as period_span
from batterytrace.services import contracts
from batterytrace.services.masterdata import master_data
from batterytrace.services.unit_of_work import StartAgain, Unit, UnitOfWork, version
from batterytrace.sharing import figures_level
from batterytrace.store import carbon as carbon_store
from batterytrace.store import derived, organisations, readers
from batterytrace.store import masterdata as masterdata_store
from batterytrace.store.imported import Imported
from batterytrace.store.lineage import Decoded
from batterytrace.trace.lineage import class_of, node_id


def import_carbon(
    uow: UnitOfWork, model: Model, source: str, owner: str | None = None, replace: bool = False
) -> Imported:
    """Import a carbon model (activity data, lanes, allocation rules, proxies) over the
    stored one (decision 016): what is stored already as given changes nothing (and is not
    recorded); a datum for a site, period, kind and factor already stated (or a lane,
    site's allocation, proxy already set) with other values is refused, nothing written,
    unless ``replace``. What the import changed is kept under its import record's number
    (``id``: ``carbon_imports``, ``remove_carbon``)."""
    action = "replace" if replace else "import"
    effect, record = uow.record("carbon", action, model.to_json(), source, owner)
    return effect["entries"].model_copy(update={"id": record.seq if record else None})


def carbon_imports(uow: UnitOfWork) -> list[tuple[int | None, str, datetime, Model]]:
    """(import record, source, when, what it changed) of every carbon import kept, in
    import order."""
    with uow.reading() as conn:
        return carbon_store.imports(conn)


def remove_carbon(uow: UnitOfWork, record: int, owner: str | None = None) -> None:
    """Undo the carbon import of import record ``record``: what it replaced applies again.
    The removal is recorded, naming that record."""
    uow.record("carbon", "remove", {"record": record}, None, owner)


def carbon_model(uow: UnitOfWork) -> Model:
    """The stored carbon model: every import kept, merged in import order."""
    with uow.reading() as conn:
        return carbon_store.model(conn)


def import_factors(uow: UnitOfWork, factors: FactorSet, owner: str | None = None) -> Imported:
    """Add a user's emission-factor set, chosen by ``name@version``: the same set again
    changes nothing, other factors under a stored label are refused (ImportConflict)."""
    if factors.label == shipped().label:
        raise FactorError(f"{factors.label} is the shipped set; give your set another name")
    content = {"name": factors.name, "version": factors.version, "csv": write_csv(factors)}
    return uow.record("factors", "import", content, factors.label, owner)[0]["factor sets"]


def _factor_sets(conn: Connection) -> list[FactorSet]:
    return [shipped(), *carbon_store.factor_sets(conn).values()]


def factor_sets(uow: UnitOfWork) -> list[FactorSet]:
    """The shipped set, then the users' sets."""
    with uow.reading() as conn:
        return _factor_sets(conn)


def factor_set_of(conn: Connection, label: str | None = None) -> FactorSet:
    """The set a calculation uses, read in ``conn``'s transaction: the shipped one, or a
    user's (over the shipped one, so a set overriding a few factors keeps the others)."""
    if label is None or label == shipped().label:
        return shipped()
    found = carbon_store.factor_sets(conn).get(label)
    if found is None:
        labels = ", ".join(s.label for s in _factor_sets(conn))
        raise FactorError(f"factor set {label!r} is unknown; known: {labels}")
    return found.over(shipped())


def factor_set(uow: UnitOfWork, label: str | None = None) -> FactorSet:
    """The set a calculation uses: the shipped one (without reading the store), or a user's
    (over the shipped one, so a set overriding a few factors keeps the others)."""
    if label is None or label == shipped().label:  # no need to read the store
        return shipped()
    with uow.reading() as conn:
        return factor_set_of(conn, label)


def import_supplier_footprint(
    uow: UnitOfWork,
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
    return read, uow.record("supplier", action, content, source, owner)[0]["footprints"]


def system_of(conn: Connection, factors: FactorSet, model: Model | None = None) -> System:
    """The product system of everything stored (decision 010), read in ``conn``'s
    transaction, with the emission factors ``factors``; ``model`` replaces the stored carbon
    model (what-if)."""
    data = masterdata_store.load(conn)
    builder = _builders(conn, factors, data, model)()
    _feed(builder, *_recorded(conn, data))
    return builder.build()


def _builders(
    conn: Connection, factors: FactorSet, data: MasterData, model: Model | None = None
) -> Callable[[], Builder]:
    """What makes a new :class:`Builder` of the store's carbon model (or ``model``), supplier
    footprints and location hierarchy, read once for all it makes."""
    suppliers = {}
    for product, document in carbon_store.suppliers(conn):
        read = pact.read(document)
        share = (read.primary_data_share or 0.0) / 100
        suppliers[product] = SupplierPcf(read.id, read.kg_co2e_per_kg, share, read.company_name)
    model = model or carbon_store.model(conn)
    return partial(Builder, model, factors, data.sites, suppliers, carbon_store.parents(conn))


def _classes(data: MasterData, kind: MaterialKind) -> tuple[str, ...]:
    return tuple(sorted(node_id(m.id) for m in data.materials.values() if m.kind is kind))


def _recorded(
    conn: Connection,
    data: MasterData,
    after: int = 0,
    apart: tuple[str, ...] = (),
    events: list[int] | None = None,
) -> tuple[list[Made], list[Leg], list[Assembled]]:
    packs, materials = _classes(data, MaterialKind.PACK), data.materials.values()
    return carbon_store.recorded(conn, packs, materials, after, events, apart)


def _feed(builder: Builder, steps: list[Made], legs: list[Leg], assembled: list[Assembled]) -> None:
    for step in steps:
        builder.step(step)
    for pack in assembled:
        builder.assembled(pack)
    for leg in legs:
        builder.leg(leg)


def product_system(
    uow: UnitOfWork, factors: str | None = None, model: Model | None = None
) -> System:
    """The product system of everything stored (decision 010), with the factor set labelled
    ``factors`` (:func:`factor_set`); ``model`` replaces the stored carbon model (what-if)."""
    with uow.reading() as conn:
        return system_of(conn, factor_set_of(conn, factors), model)


def not_counted(
    uow: UnitOfWork, period: str | None = None, factors: str | None = None
) -> list[Unused]:
    """Activity data no product takes and legs not counted; ``period``: only what overlaps
    it (``YYYY``, ``YYYY-Qn``, ``YYYY-MM``)."""
    span = None if period is None else period_of(period)
    return product_system(uow, factors).not_counted(span)


def footprints(uow: UnitOfWork, factors: str | None = None) -> Rollup:
    """Every stored lot, item batch and pack, rolled up."""
    return rollup(product_system(uow, factors))


def _material(data: MasterData, identifier: str) -> Material | None:
    """The master-data material of the identifier's class."""
    cls = class_of(node_id(identifier))
    return next((m for m in data.materials.values() if node_id(m.id) == cls), None)


@dataclass(frozen=True, slots=True)
class Answer:
    """A product's footprint as answered: stated with ``factors``, at ledger ``version``;
    ``kept``: read from the kept state (False: rolled up for this answer, with a factor set
    other than the one in use)."""

    footprint: Footprint
    factors: FactorSet
    version: int
    kept: bool

    def interval(self, draws: int = DRAWS, seed: int = SEED) -> Interval:
        return interval(self.footprint, self.factors, draws, seed)


def footprint(uow: UnitOfWork, identifier: str, factors: str | None = None) -> Answer:
    """One unit of a lot, an item, a pack or a module (the items it holds), from the kept
    footprints (decision 032), or rolled up for the answer when ``factors`` names a set other
    than the one in use; a vehicle is outside the battery's boundary."""
    _fresh(uow)
    with uow.reading() as conn:
        material = _material(masterdata_store.load(conn), identifier)
        if material is not None and material.kind is MaterialKind.VEHICLE:
            raise FootprintError(
                f"{identifier}: a vehicle is outside the battery's cradle-to-gate boundary; "
                "ask for the pack it holds"
            )
        capacity = material.energy_kwh if material else None
        node = _node(conn, identifier)
        in_use = _in_use(conn) or shipped().label
        chosen = factor_set_of(conn, factors or in_use)  # a user's set: parsed once per read
        if chosen.label == in_use:
            kept = _kept(uow, conn, identifier, node)
            answer = stated(kept.figures, chosen, capacity, kept.not_counted)
            return Answer(answer, chosen, derived.watermark(conn, AREA) or 0, kept=True)
        result = rollup(system_of(conn, chosen))
        inside = [] if result.system.node(node) is not None else _held(conn, identifier)
        _known(result.system.node(node) is not None or bool(inside), identifier)
        answer = footprint_of(result, node, capacity, inside)
        return Answer(answer, chosen, version(conn), kept=False)


def _node(conn: Connection, identifier: str) -> str:
    """The product-system node that stands for an identifier: a lot, a pack, or for a
    serialised item the batch of the transformation that made it (or what the event that
    commissioned it brought in, per kg)."""
    node = node_id(identifier)
    return carbon_store.batch_of(conn, node) or node


def _held(conn: Connection, identifier: str) -> list[tuple[str, int]]:
    """What a container the product system does not count (a module) holds, per batch."""
    return carbon_store.held(conn, node_id(identifier))


class NotAProduct(FootprintError, NoSuchResource):
    """The identifier names no lot, pack, module or item the product system holds (the API
    answers 404)."""


def _known(found: bool, identifier: str) -> None:
    if not found:
        raise NotAProduct(
            f"{identifier}: not a lot, pack, module or item made by a transformation in this store"
        )


@dataclass(frozen=True, slots=True)
class _Kept:
    figures: Figures
    not_counted: list[Unused]


def _kept(uow: UnitOfWork, conn: Connection, identifier: str, node: str) -> _Kept:
    """The kept figures of a product (or of the items a module holds, combined), with what no
    product takes; the roll-up's error when it failed."""
    error, not_counted = uow.decoded_rows(conn, _SYSTEM, lambda: _system(conn))
    if error is not None:
        raise FootprintError(f"{error} (kept roll-up at ledger version "
                             f"{derived.watermark(conn, AREA)})")  # fmt: skip
    rows = _products(conn, [node])
    if node in rows:
        parts = [(node, 1)]
    else:
        parts = _held(conn, identifier)
        rows = _products(conn, [batch for batch, _ in parts])
        _known(bool(parts) and all(batch in rows for batch, _ in parts), identifier)
    pools = _pools(conn, {label for row in rows.values() for label, _ in row.embodied})
    figures = Figures.combined(node if node in rows else node_id(identifier), [
        (rows[batch].figures(pools), float(n)) for batch, n in parts
    ])  # fmt: skip
    return _Kept(figures, not_counted)


def _products(conn: Connection, nodes: Iterable[str]) -> dict[str, Embodied]:
    """The kept rows of these products (those kept)."""
    return {
        node: Embodied.from_json(orjson.loads(contents[0]))
        for node, contents in derived.by_scope(conn, _PRODUCTS, nodes).items()
    }


def _pools(conn: Connection, labels: Iterable[str]) -> dict[str, Pool]:
    """The kept pools of these labels."""
    return {
        label: Pool.from_json(orjson.loads(contents[0]))
        for label, contents in derived.by_scope(conn, _POOLS, labels).items()
    }


def _system(conn: Connection) -> tuple[str | None, list[Unused]]:
    """The kept roll-up's error, or what no product takes."""
    system = _system_rows(conn)
    if "error" in system:
        return system["error"]["error"], []
    return None, _NotCounted.from_json(system["not counted"]).unused()


def _system_rows(conn: Connection) -> dict[str, Any]:
    return {
        key: orjson.loads(content) for key, (_, content) in derived.stored(conn, _SYSTEM).items()
    }


def explain_footprint(uow: UnitOfWork, identifier: str, factors: str | None = None) -> Contribution:
    """The tree of contributions to one unit of an identifier's product, down to each activity
    datum and factor: the product system is read and rolled up for it."""
    with uow.reading() as conn:
        result = rollup(system_of(conn, factor_set_of(conn, factors or _in_use(conn))))
        node = _node(conn, identifier)
        inside = [] if result.system.node(node) is not None else _held(conn, identifier)
    _known(result.system.node(node) is not None or bool(inside), identifier)
    return explain(result, node, held=inside)


def footprint_json(
    uow: UnitOfWork,
    identifier: str,
    factors: str | None = None,
    draws: int = DRAWS,
    seed: int = SEED,
    explained: bool = False,
    reader: str | None = None,
) -> dict[str, Any]:
    """A product's footprint as JSON (the command's ``--json``, the API's answer): the
    footprint with its Monte Carlo interval (``draws``, ``seed``), the ledger version and
    whether it was kept; ``explained``: the tree of contributions too (``explain``). As
    ``reader`` (an organisation) may see it (decision 041): whole when it made the product or
    a share of its maker gives the breakdown; the total and its class alone at ``total``; as
    no product at all at ``none``."""
    check_draws(draws)  # before the footprint is computed
    level = shown_level(uow, identifier, reader)
    if explained and level != "breakdown":
        raise Forbidden(f"explain: {identifier}: its maker shares the total, not the breakdown")
    answer = footprint(uow, identifier, factors)
    spread = answer.interval(draws, seed)
    body = answer.footprint.to_json() | {
        "uncertainty": spread.to_json(),
        "version": answer.version,
        "kept": answer.kept,
    }
    if explained:
        body["explain"] = contribution_json(explain_footprint(uow, identifier, factors))
    return body if level == "breakdown" else total_only(body)


# What a footprint shared at ``total`` shows: the figure, its unit, class and interval, and
# how it was bounded; not the stages, materials, factors, data quality or supplier documents.
TOTAL = ("id", "declaredUnit", "kgCO2e", "kgCO2ePerKWh", "capacityKWh", "performanceClass",
         "complete", "uncertainty", "version", "kept")  # fmt: skip


def total_only(body: dict[str, Any]) -> dict[str, Any]:
    """A footprint's JSON as it is shared at ``total``."""
    shown = {key: body[key] for key in TOTAL if key in body}
    bounds = {key: body["provenance"][key] for key in ("boundary", "gwp100")}
    return shown | {"provenance": bounds | {"shared": "total and class (decision 041)"}}


def shown_level(uow: UnitOfWork, identifier: str, reader: str | None) -> str:
    """How much of a product's footprint ``reader`` may see (:func:`sharing.figures_level`);
    at ``none`` the product answers as unknown (NotAProduct, the same words)."""
    if reader is None:
        return "breakdown"
    with uow.reading() as conn:
        grants = organisations.grants(conn, reader)
        assert grants is not None
        level = figures_level(grants, readers.makers(conn, node_id(identifier)), "footprint")
    if level == "none":
        _known(False, identifier)
    return level


def contribution_json(c: Contribution) -> dict[str, Any]:
    """A tree of contributions (:func:`explain_footprint`) as JSON."""
    return {"label": c.label, "kgCO2e": float(c.kg_co2e), "detail": c.detail,  # numpy's too
            "children": [contribution_json(k) for k in c.children]}  # fmt: skip


def pact_footprint(
    uow: UnitOfWork,
    identifier: str,
    version: str = "3",
    factors: str | None = None,
    reader: str | None = None,
) -> dict[str, Any]:
    """The PACT ProductFootprint (v2.3 or v3.0) of a lot, item or pack; for ``reader``, of a
    product whose maker shares at least its total (:func:`shown_level`)."""
    shown_level(uow, identifier, reader)
    return pact.export(pact_declared(uow, identifier, factors), version)


def pact_declared(uow: UnitOfWork, identifier: str, factors: str | None = None) -> pact.Declared:
    """What a PACT ProductFootprint of a lot, item or pack states, from its kept footprint and
    the master data (its maker's name, site country, product name and mass)."""
    fp = footprint(uow, identifier, factors).footprint
    with uow.reading() as conn:
        made = _kept(uow, conn, identifier, _node(conn, identifier)).figures
        data = masterdata_store.load(conn)
    if made.site is None or made.made is None:  # a module: no site or date of its own
        raise FootprintError(
            f"{identifier}: PACT footprints are exported for lots, packs and items made by "
            "a transformation"
        )
    cls = class_of(node_id(identifier))
    kind = _material(data, identifier)
    site = next((s for s in data.sites.values() if node_id(s.id) == made.site), None)
    party = data.parties.get(site.party) if site else None
    if site is None or party is None:
        raise FootprintError(
            f"{identifier}: its site {made.site} is not in the master data (PACT needs the company)"
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
        made=made.made,
    )
    return declared(fp, product)


def targets(
    uow: UnitOfWork, what_if: list[str], baseline: float | None = None, factors: str | None = None
) -> Targets:
    """Average footprint per kWh of the packs by year against the 2020 baseline and the
    targets, and what the levers would change (carbon.targets)."""
    packs = {
        node_id(m.id): (m.energy_kwh or 0.0, m.chemistry or "")
        for m in master_data(uow).materials.values()
        if m.kind is MaterialKind.PACK and m.energy_kwh
    }
    return targets_of(product_system(uow, factors), packs, what_if, baseline)


def targets_json(
    uow: UnitOfWork,
    what_if: list[str],
    baseline: float | None = None,
    factors: str | None = None,
    reader: str | None = None,
) -> dict[str, Any]:
    """:func:`targets` as JSON (the command's ``--json``, the API's answer). The targets are
    the agreement's, figured on every battery of the store: ``reader`` (an organisation) sees
    them when it is a party of a stored agreement (decision 041)."""
    if reader is not None and not contracts.parties_of(uow, reader):
        raise Forbidden("targets: the agreement's fleet figures are for its parties")
    return targets(uow, what_if, baseline, factors).to_json()


# --- the kept footprints (decision 032) ---------------------------------------------------------

AREA = "carbon"
_PRODUCTS, _POOLS, _SYSTEM = "carbon.product", "carbon.pool", "carbon.system"


def _in_use(conn: Connection) -> str | None:
    """The label of the factor set the kept footprints are figured with (None: shipped)."""
    return carbon_store.factors_in_use(conn)


@dataclass(slots=True)
class _NotCounted:
    """What no product takes, as kept: activity data (listed), legs (by reason, ends and
    month, so that a capture adds its legs to a line)."""

    activity: list[Unused]
    legs: dict[Uncounting, Uncounted]

    def unused(self) -> list[Unused]:
        lines = self.activity + [legs.line(key) for key, legs in self.legs.items()]
        return sorted(lines, key=Unused.order)

    def to_json(self) -> dict[str, Any]:
        return {
            "activity": [u.to_json() for u in sorted(self.activity, key=Unused.order)],
            "legs": [
                [*key, legs.count, legs.named, legs.first.isoformat(), legs.last.isoformat()]
                for key, legs in sorted(self.legs.items(), key=lambda kv: str(kv[0]))
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _NotCounted:
        return cls(
            [Unused.from_json(u) for u in data["activity"]],
            {
                (reason, origin, basis, destination, month): Uncounted(
                    count, [(seq, e, lot) for seq, e, lot in named], datetime.fromisoformat(first),
                    datetime.fromisoformat(last),
                )
                for reason, origin, basis, destination, month, count, named, first, last
                in data["legs"]
            },
        )  # fmt: skip

    @classmethod
    def of(cls, system: System) -> _NotCounted:
        return cls([u for u in system.unused if u.kind != "leg"], dict(system.uncounted))


def kept_rows(conn: Connection, decoded: Decoded) -> dict[str, derived.Rows]:
    """The kept footprint rows a roll-up of the store gives (decision 034): each product as
    what it embodies, each site period's pool, the factor set, what no product takes and the
    latest event taken; or the roll-up's error (a capture is kept all the same, and a
    footprint read names the error, never a stale or zero figure). A store with no carbon data
    at all keeps that, without building the product system (plain EPCIS traffic: its captures
    are not followed by a roll-up of every lot). The packs, most of the products, are figured
    apart, :data:`PACKS_AT_ONCE` at a time, after the rest (decision 036), unless a
    transformation made or used one (then one product system of everything)."""
    if not carbon_store.has_inputs(conn):
        return _failed(_NOTHING)
    try:
        factors = factor_set_of(conn, _in_use(conn))
        data = masterdata_store.load(conn)
        if carbon_store.packs_transformed(conn, _classes(data, MaterialKind.PACK)):
            return _whole(conn, factors)
        return _apart(conn, factors, data)
    except BatteryTraceError as err:
        return _failed(str(err))


PACKS_AT_ONCE = 10_000  # packs (or vehicles) figured at once (decision 036)


def _failed(error: str) -> dict[str, derived.Rows]:
    """The rows a roll-up that failed keeps: its error."""
    return {_PRODUCTS: [], _POOLS: [], _SYSTEM: [("error", "", _json({"error": error}))]}


def _again(conn: Connection, decoded: Decoded) -> dict[str, derived.Rows]:
    """One product system of everything stored: what figuring packs apart falls back on."""
    try:
        return _whole(conn, factor_set_of(conn, _in_use(conn)))
    except BatteryTraceError as err:
        return _failed(str(err))


def _whole(conn: Connection, factors: FactorSet) -> dict[str, derived.Rows]:
    system = system_of(conn, factors)
    pools = embodied.pools(system, {})
    products = _given(embodied.products(system, pools, {}))
    latest = derived.latest_time(conn)
    return _rows(factors, products, pools, _NotCounted.of(system), latest, system.made)


def _apart(
    conn: Connection,
    factors: FactorSet,
    data: MasterData,
    since: datetime | None = None,
    after: int = 0,
) -> dict[str, derived.Rows]:
    """The rows of every product but the packs, figured at once (errors raised here), then
    those of the packs, chunk by chunk, each chunk's packs as the steps of a capture going on
    from the rows figured before (decision 034): its site periods' pools joined to theirs, the
    batches its packs hold known as figured; then the legs of vehicles, chunk by chunk (what
    no product takes). The pools, what no product takes and the months sites made products in
    follow all the products. ``since`` (decision 038): the products made then or later (on
    their own clock) figured again from the events that happened from a day before, those
    made before known as kept (their rows final but for a first use); what no product takes
    as kept, but for the site data of the periods from then on, and the legs the events after
    ledger number ``after`` (the kept rows' latest) add."""
    packs, vehicles = _classes(data, MaterialKind.PACK), _classes(data, MaterialKind.VEHICLE)
    builders = _builders(conn, factors, data)
    builder = builders()
    events = None if since is None else carbon_store.happened_from(conn, _utc(since) - _DAY)
    steps, legs, assembled = _recorded(conn, data, apart=packs + vehicles, events=events)
    steps = [step for step in steps if _from(step.time, since)]
    commissioned = {step.event: _made_by(step) for step in steps if step.commissioned}
    _feed(builder, steps, legs, assembled)
    del steps, legs, assembled, events
    known = {} if since is None else _products(conn, builder.referenced())
    for row in known.values():
        builder.known(_stub(row))
    system = builder.build()
    pools = embodied.pools(system, {})
    if since is not None:
        pools.update(_pools(conn, {label for row in known.values() for label, _ in row.embodied}))
    not_counted = _NotCounted.of(system)
    months = {site: set(m) for site, m in system.made.items()}
    packed = carbon_store.packed_batches(conn, packs)
    rest = embodied.products(system, pools, known, used=packed, as_kept=True)
    del system, builder

    held: dict[str, bytes] = {}  # the rows packs are made of, compressed (a row per batch)

    def products() -> Iterator[tuple[str, Embodied]]:
        for node, row in rest:
            if node in packed and node not in known:
                held[node] = zlib.compress(orjson.dumps(row.to_json()), 1)
            yield node, row
        materials = data.materials.values()
        if since is not None:  # vehicles are no products: their legs are kept as listed
            parts = carbon_store.figured_apart(conn, packs, (), materials, PACKS_AT_ONCE,
                                               _utc(since) - _DAY)  # fmt: skip
        else:
            parts = carbon_store.figured_apart(conn, packs, vehicles, materials, PACKS_AT_ONCE)
        for part in parts:
            yield from figured(*part)
            del part  # not held while the next is read
        if since is not None:
            _as_kept(conn, not_counted, months, since, _legs_after(conn, data, builders, after))

    def figured(
        steps: list[Made], legs: list[Leg], assembled: list[Assembled]
    ) -> Iterator[tuple[str, Embodied]]:
        chunk = builders()
        new = []
        for step in steps:  # a commissioning an earlier chunk, or the rest, took already
            if not _from(step.time, since):
                continue
            if commissioned.get(step.event, _made_by(step)) != _made_by(step):
                raise StartAgain(_again)  # a step the rest took in part
            if step.event not in commissioned:
                commissioned[step.event] = _made_by(step)
                new.append(step)
        _feed(chunk, new, legs, [pack for pack in assembled if _from(pack.time, since)])
        referenced = chunk.referenced()
        inputs = {
            node: Embodied.from_json(orjson.loads(zlib.decompress(held[node])))
            for node in referenced & held.keys()
        }
        if since is not None:  # made before: kept
            inputs.update(_products(conn, referenced - held.keys()))
            embodying = {label for row in inputs.values() for label, _ in row.embodied}
            pools.update(_pools(conn, embodying - pools.keys()))
        for row in inputs.values():
            chunk.known(_stub(row))
        made = chunk.build(every_period=False)
        joined = embodied.pools(made, pools)
        if any(pools[label].folded for label in joined if label in pools):
            raise StartAgain(_again)  # a pool folded before all its products were known
        pools.update(joined)
        for node, row in embodied.products(made, pools, inputs, as_kept=True):
            if node not in held:
                yield node, row
        _went_on(not_counted, months, made)

    rows = _rows(factors, _given(products()), pools, not_counted, derived.latest_time(conn),
                 months)  # fmt: skip
    if since is not None:  # the pools of periods from then on no product shares any more go
        rows[_POOLS] = chain(rows[_POOLS], _gone(conn, pools, since))
    return rows


def _gone(conn: Connection, pools: Mapping[str, Pool], since: datetime) -> derived.Rows:
    """The kept pools of periods that began at ``since`` (naive) or later that ``pools``
    lacks, to go."""
    for label in derived.stored(conn, _POOLS):
        if label not in pools and _began(label) >= since:
            yield label, label, None


_DAY = timedelta(days=1)  # more than any two clocks of events differ (UTC-12 to UTC+14)


def _utc(wall: datetime) -> datetime:
    """A wall-clock time (naive) as the UTC instant of the same reading."""
    return wall.replace(tzinfo=UTC)


def _from(when: datetime, since: datetime | None) -> bool:
    """Whether a time on its own clock reads ``since`` (naive: a wall clock) or later."""
    return since is None or when.replace(tzinfo=None) >= since


def _as_kept(
    conn: Connection,
    not_counted: _NotCounted,
    months: dict[str, set[int]],
    since: datetime,
    legs: Mapping[Uncounting, Uncounted],
) -> None:
    """What no product takes and the months sites made products in, figured from ``since``
    on, joined to the kept ones of before; the legs not counted as kept, with ``legs``."""
    kept = _system_rows(conn)
    was = _NotCounted.from_json(kept["not counted"])
    not_counted.activity = [u for u in was.activity if not _from(u.start, since)] + [
        u for u in not_counted.activity if _from(u.start, since)
    ]
    not_counted.legs = was.legs
    for line, legs_of in legs.items():
        if line in not_counted.legs:
            not_counted.legs[line].add(legs_of)
        else:
            not_counted.legs[line] = legs_of
    month = Period.MONTH.number(since)
    for site, made in kept["made"].items():
        if earlier := {m for m in made if m < month}:
            months.setdefault(site, set()).update(earlier)


def _legs_after(
    conn: Connection, data: MasterData, builders: Callable[[], Builder], after: int
) -> dict[Uncounting, Uncounted]:
    """The legs not counted that the events after ledger number ``after`` record."""
    builder = builders()
    _feed(builder, *_recorded(conn, data, after))
    for row in _products(conn, builder.referenced()).values():
        builder.known(_stub(row))
    return builder.build(every_period=False).uncounted


def _made_by(step: Made) -> frozenset[str]:
    """What a step made (its products, and those it made without a mass)."""
    return frozenset(o.node for o in step.outputs) | {u.node for u in step.unweighed if u.output}


def _went_on(not_counted: _NotCounted, months: dict[str, set[int]], system: System) -> None:
    """What no product takes and the months sites made products in, once ``system``'s steps
    (going on from kept rows) are figured: the site periods whose pools they joined taken off
    the list, their legs not counted added."""
    filled = {_activity_of(system, g.label) for g in system.groups if g.end is not None}
    not_counted.activity = [u for u in not_counted.activity if u.what not in filled]
    not_counted.activity += [u for u in system.unused if u.kind != "leg"]
    for line, legs_of in system.uncounted.items():
        if line in not_counted.legs:
            not_counted.legs[line].add(legs_of)
        else:
            not_counted.legs[line] = legs_of
    for site, m in system.made.items():
        months.setdefault(site, set()).update(m)


def _given(rows: Iterator[tuple[str, Embodied]]) -> Iterator[tuple[str, Embodied]]:
    """Product rows as they are figured; a roll-up refused midway (a footprint beyond any
    finite number...) keeps its error instead of the rows given."""
    try:
        yield from rows
    except BatteryTraceError as err:
        error = str(err)
        raise StartAgain(lambda conn, decoded: _failed(error)) from err


def _rows(
    factors: FactorSet,
    products: Iterable[tuple[str, Embodied]],
    pools: Mapping[str, Pool],
    not_counted: _NotCounted,
    latest: int | None,
    made: Mapping[str, set[int]],
) -> dict[str, derived.Rows]:
    """The rows, products first: written as they come (never all held), then the pools
    (marked folded by then) and what no product takes, read once the products are given;
    ``made``: the months each site made products sharing its data in (what says whether new
    data for a period change kept products)."""

    def pool_rows() -> Iterator[tuple[str, str, str]]:
        for label, pool in pools.items():
            if pool.end is not None:  # an event's pool is folded into its products
                yield label, label, _json(pool.to_json())

    def system_rows() -> Iterator[tuple[str, str, str]]:
        yield "factor set", "", _json({"label": factors.label})
        yield "not counted", "", _json(not_counted.to_json())
        yield "latest", "", _json({"eventTimeMs": latest})
        yield "made", "", _json({site: sorted(m) for site, m in sorted(made.items())})

    return {
        _PRODUCTS: ((node, node, _json(row.to_json())) for node, row in products),
        _POOLS: pool_rows(),
        _SYSTEM: system_rows(),
    }


def resumed_rows(
    conn: Connection, decoded: Decoded, reflected: derived.Inputs
) -> dict[str, derived.Rows] | None:
    """The kept rows that change when the events stored since ``reflected`` are added to the
    kept footprints, and the site data imported since to the pools of their periods (decision
    034): the new products, the pools they join or whose data changed, the kept products they
    use or move, what no product takes. Taken again from the start of a year (decision 038)
    when events add a product to a period a kept product folded (made after the period
    closed), or data change such a period or a period of a kept product without data before,
    when an allocation rule changes for a site that made products, a proxy or a supplier
    footprint for a product events name, or when events move a kept product something is
    made of already. None (a recomputation) when anything else the footprints read changed
    (lanes, another factor set in use, master data, a removed import), or a site's data start
    a period length; when events bring
    a receipt earlier than a kept shipment of its lot that says nowhere where it left, make
    or pack what an earlier event names (but a parent packed after the event that
    commissioned it, as CBV 2.0 records it), or make again a kept product; or when the
    roll-up fails (the recomputation names the error)."""
    system_rows = _system_rows(conn)
    if "error" in system_rows or "made" not in system_rows:
        return None
    changed = _data_changed(conn, reflected.record, system_rows["made"])
    if changed is None:
        return None
    spans, reached = changed
    last = derived.latest_time(conn, reflected.event)
    latest = system_rows["latest"]["eventTimeMs"]
    if carbon_store.placed_by_a_later_receipt(conn, reflected.event) is not None:
        return None  # a late receipt: where a kept leg left from changes
    data = masterdata_store.load(conn)
    if carbon_store.made_before(conn, reflected.event, data.materials.values()) is not None:
        return None
    if reached is not None:
        return _taken_again(conn, data, reflected, reached, spans)
    try:
        factors = factor_set_of(conn, _in_use(conn))
        builder = _builders(conn, factors, data)()
        steps, legs, assembled = _recorded(conn, data, reflected.event)
        made = {o.node for step in steps for o in step.outputs} | {p.node for p in assembled}
        kept = _products(conn, made)
        steps = [  # not a commissioning the kept products hold already (items used before)
            step for step in steps
            if not (step.commissioned and step.outputs
                    and all(o.node in kept for o in step.outputs))
        ]  # fmt: skip
        if any(o.node in kept for step in steps for o in step.outputs) or any(
            p.node in kept for p in assembled
        ):
            return None  # made again: its kept row would change, and what is made of it
        _feed(builder, steps, legs, assembled)
        kept = _products(conn, builder.referenced())
        for row in kept.values():
            builder.known(_stub(row))
        system = builder.build(every_period=False)
        if (moved := embodied.downstream_changed(system, kept)) is not None:
            made_at = kept[moved].made.replace(tzinfo=None)
            return _taken_again(conn, data, reflected, made_at, spans)
        months = {site: set(m) for site, m in system_rows["made"].items()}
        for site, m in system.made.items():  # before the periods' data are looked at
            months.setdefault(site, set()).update(m)
        by_span = builder.data_by_span()
        joining = {g.label for g in system.groups if g.allocated}
        labels = joining | {label for row in kept.values() for label, _ in row.embodied}
        labels |= {builder.span_label(key[0], by_span[key]) for key in spans if key in by_span}
        pools = _pools(conn, labels)
        not_counted = _NotCounted.from_json(system_rows["not counted"])
        for key in sorted(spans, key=str):
            site, length, number = key
            if key not in by_span or all(s in spans for s in by_span if s[:2] == key[:2]):
                return None  # data gone, or a period length new to the site
            label = builder.span_label(site, by_span[key])
            if label in pools or label in joining:
                if label not in joining:  # its products known: its data anew
                    builder.span_group(site, length, number, by_span[key])
                continue
            start, end = period_span(length, number)
            if any(start <= period_span(Period.MONTH, m)[0] < end for m in months.get(site, ())):
                return _taken_again(conn, data, reflected, start.replace(tzinfo=None), spans)
            lost = builder.span_unused(site, length, number, by_span[key])
            not_counted.activity = [u for u in not_counted.activity if u.what != lost.what]
            not_counted.activity.append(lost)
        joined = embodied.pools(system, pools)
        closed = [_began(label) for label in joined if label in pools and pools[label].folded]
        if closed:  # a late product, or new data, of a closed period: what folded it changes
            return _taken_again(conn, data, reflected, min(closed), spans)
        found = {**pools, **joined}
        folded = {label for label, pool in found.items() if pool.folded}
        products = list(embodied.products(system, found, kept))
    except BatteryTraceError:
        return None
    joined.update((label, pool) for label, pool in found.items()
                  if pool.folded and label not in folded)  # fmt: skip
    _went_on(not_counted, months, system)
    latest = max(last or 0, latest or 0) if last or latest else None
    return _rows(factors, products, joined, not_counted, latest, months)


def _data_changed(
    conn: Connection, record: int, made: Mapping[str, list[int]]
) -> tuple[set[tuple[str, Period, int]], datetime | None] | None:
    """The site periods whose activity data the carbon imports after import record ``record``
    changed, and the earliest wall-clock reading (naive) what else they changed reaches: a
    site's allocation rule, the first month it made products in (``made``: the kept months);
    a product's proxy, or a supplier footprint for it (or for another product under the same
    footprint id), the first event naming it (on any clock). None when a lane, master data, a
    removal or another factor set in use came. A factor set imported or removed changes no
    footprint: they are figured with the set in use (never removed, nor imported again with
    other factors); nor does a supplier footprint or proxy for a product no event names (sent
    ahead of the goods: what names it later is sourced by it as it comes)."""
    records = derived.records_since(conn, record, UNIT.kinds)
    firsts: list[datetime] = []
    for kind, action, content in records:
        if kind == "supplier":
            firsts.extend(_first_named(conn, orjson.loads(content)["id"]))
        elif (kind, action) not in _DATA_IMPORTS | _OTHER_FACTOR_SETS:
            return None
    spans: set[tuple[str, Period, int]] = set()
    readings: list[datetime] = []
    named = _sites_named(conn, record)
    for changed in carbon_store.changes_since(conn, record):  # what each import changed
        if changed.lanes or not named.issuperset(changed.allocation):
            return None  # where legs go, or which site an event's place counts as, changes
        spans.update((a.site, *a.span()) for a in changed.activities)
        for site in changed.allocation:
            first = min(made.get(site, ()), default=None)
            if first is not None:
                readings.append(period_span(Period.MONTH, first)[0].replace(tzinfo=None))
        for cls in changed.proxies:
            if (first_named := carbon_store.first_named(conn, cls)) is not None:
                firsts.append(first_named)
    readings.extend(_on_any_clock(first) for first in firsts)
    return spans, min(readings, default=None)


def _sites_named(conn: Connection, record: int) -> set[str]:
    """The sites the carbon model named up to import record ``record`` (data, allocation
    rules, lanes): the places events at their sub-locations count as."""
    stood = Model()
    for imported, _, _, model in carbon_store.imports(conn):
        if imported is None or imported <= record:
            stood = stood.merged(model)
    return {a.site for a in stood.activities} | set(stood.allocation) | set().union(*stood.lanes)


def _first_named(conn: Connection, footprint: str) -> Iterator[datetime]:
    """When the first event naming each product a supplier footprint id was ever imported for
    happened (those no event names: none)."""
    supplied = (orjson.loads(c) for _, _, c in derived.records_since(conn, 0, ("supplier",)))
    for product in sorted({c["product"] for c in supplied if c["id"] == footprint}):
        if (first := carbon_store.first_named(conn, product)) is not None:
            yield first


def _taken_again(
    conn: Connection,
    data: MasterData,
    reflected: derived.Inputs,
    reading: datetime,
    spans: Iterable[tuple[str, Period, int]],
) -> dict[str, derived.Rows] | None:
    """The footprints taken again (decision 038) from the 1 January before the earliest of
    ``reading`` (a wall-clock time, naive), the site periods whose data changed (``spans``),
    the events stored since the kept rows and the making of each kept product those events
    move; None (a recomputation) when no event was kept, or the roll-up fails."""
    if not reflected.event:
        return None
    readings = [
        reading,
        *(period_span(length, n)[0].replace(tzinfo=None) for _, length, n in spans),
    ]
    if (first := derived.earliest_time(conn, reflected.event)) is not None:
        readings.append(_on_any_clock(datetime.fromtimestamp(first / 1000, UTC)))
    _, legs, _ = _recorded(conn, data, reflected.event)
    moved = _products(conn, {leg.lot for leg in legs}).values()
    readings.extend(row.made.replace(tzinfo=None) for row in moved)
    since = datetime(min(readings).year, 1, 1)
    try:
        return _apart(conn, factor_set_of(conn, _in_use(conn)), data, since, reflected.event)
    except BatteryTraceError:
        return None  # the recomputation names the error


def _on_any_clock(instant: datetime) -> datetime:
    """The earliest wall-clock reading (naive) of an instant on any event's clock."""
    return (instant.astimezone(UTC) - _DAY).replace(tzinfo=None)


def _began(label: str) -> datetime:
    """When the period of a site's pool (``<site> <period>``) began, on its own clock (naive)."""
    return period_span(*parse_period(label.rsplit(" ", 1)[1]))[0].replace(tzinfo=None)


_DATA_IMPORTS = {("carbon", "import"), ("carbon", "replace")}
_OTHER_FACTOR_SETS = {("factors", "import"), ("factors", "remove")}


def _activity_of(system: System, label: str) -> str:
    """How what no product takes names the activity data of a site period's pool."""
    site, period = label.rsplit(" ", 1)
    return f"{system.site_name(site)} ({site}) {period}"


def _stub(row: Embodied) -> Node:
    """A kept product as the product system of a capture's events knows it."""
    return Node(row.id, SystemUnit(row.unit), row.output, row.cls, row.site, row.made,
                row.material)  # fmt: skip


_NOTHING = (
    "no carbon data in this store (no carbon model, supplier footprint, nor an activity or a "
    "transport mode stated on an event): no footprint to figure; `carbon import` adds a model"
)


def _json(content: object) -> str:
    return orjson.dumps(content).decode()


def _fresh(uow: UnitOfWork) -> None:
    """Refresh the kept footprints when the ledger moved on since (decision 029)."""
    uow.refresh(UNIT)


def in_use(uow: UnitOfWork) -> str:
    """The label of the factor set the kept footprints are figured with."""
    with uow.reading() as conn:
        return factor_set_of(conn, _in_use(conn)).label


def use_factors(uow: UnitOfWork, label: str, owner: str | None = None) -> Imported:
    """Figure the kept footprints with the stored set ``label`` (the shipped one's label goes
    back to it); recorded, followed by the refresh of every kept footprint."""
    chosen = None if label == shipped().label else label
    return uow.record("factors", "use", {"label": chosen}, label, owner)[0]["factor sets"]


def remove_factors(uow: UnitOfWork, label: str, owner: str | None = None) -> Imported:
    """Forget a stored factor set; the set the kept footprints are figured with is refused,
    naming them (how many, and the first few)."""
    if label == shipped().label:
        raise FactorError(f"{label} is the shipped set; it cannot be removed")
    with uow.writing(f"factors remove {label}") as w:
        if label == _in_use(w.conn):
            figured = sorted(derived.stored(w.conn, _PRODUCTS))
            first = ", ".join(figured[:_NAMED])
            raise ImportConflict(
                f"factor set {label}: the kept footprints of {len(figured):,} products are "
                f"figured with it ({first}{', ...' if len(figured) > _NAMED else ''}); choose "
                "another set first (carbon factors --use NAME@VERSION)"
            )
        return w.record("factors", "remove", {"label": label}, label, owner)[0]["factor sets"]


_NAMED = 5  # products a refusal names


def made_at(uow: UnitOfWork, products: Iterable[str]) -> dict[str, str]:
    """The site each of ``products`` was made at, from the kept footprints (those the product
    system does not know are left out)."""
    _fresh(uow)
    with uow.reading() as conn:
        rows = derived.by_scope(conn, _PRODUCTS, products)
    return {
        node: site
        for node, (content, *_) in rows.items()
        if (site := orjson.loads(content)["site"]) is not None
    }


# what the kept rows are recomputed by, and the import records they read besides the events
UNIT = Unit(
    AREA,
    kept_rows,
    frozenset({"carbon", "factors", "supplier", "masterdata", "vocabulary", "store"}),
    resumed_rows,
    allocations=False,
    layout=4,  # products as what they embody, pools (decision 034); legs named by ledger place
)
