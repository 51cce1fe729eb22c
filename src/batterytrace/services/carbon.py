"""Carbon footprint as a service (issue 5, decision 010): the carbon model, emission-factor
sets and supplier footprints imported; the product system of everything stored built and
rolled up into footprints, PACT exports and targets."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace as dataclass_replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

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
    rollup,
)
from batterytrace.carbon.footprint import footprint as footprint_of
from batterytrace.carbon.system import Builder, SupplierPcf, System, Unused
from batterytrace.carbon.targets import Targets
from batterytrace.carbon.targets import targets as targets_of
from batterytrace.errors import FactorError, FootprintError
from batterytrace.identifiers import epc_urn
from batterytrace.masterdata import MasterData, Material, MaterialKind
from batterytrace.services.masterdata import master_data
from batterytrace.services.unit_of_work import UnitOfWork
from batterytrace.store import carbon as carbon_store
from batterytrace.store import masterdata as masterdata_store
from batterytrace.store.imported import Imported
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
    return dataclass_replace(effect["entries"], id=record.seq if record else None)


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
    packs = tuple(
        sorted(node_id(m.id) for m in data.materials.values() if m.kind is MaterialKind.PACK)
    )
    suppliers = {}
    for product, document in carbon_store.suppliers(conn):
        read = pact.read(document)
        share = (read.primary_data_share or 0.0) / 100
        suppliers[product] = SupplierPcf(read.id, read.kg_co2e_per_kg, share, read.company_name)
    builder = Builder(
        model or carbon_store.model(conn),
        factors,
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


def footprint_node(uow: UnitOfWork, identifier: str) -> str:
    """The product-system node that stands for an identifier: a lot, a pack, or for a
    serialised item the batch of the transformation that made it (or what the event that
    commissioned it brought in, per kg)."""
    node = node_id(identifier)
    with uow.reading() as conn:
        batch = carbon_store.batch_of(conn, node)
    return batch or node


def _material(data: MasterData, identifier: str) -> Material | None:
    """The master-data material of the identifier's class."""
    cls = class_of(node_id(identifier))
    return next((m for m in data.materials.values() if node_id(m.id) == cls), None)


def held(uow: UnitOfWork, identifier: str) -> list[tuple[str, int]]:
    """What a container the product system does not count (a module) holds, per batch."""
    with uow.reading() as conn:
        return carbon_store.held(conn, node_id(identifier))


def footprint(
    uow: UnitOfWork, identifier: str, factors: str | None = None
) -> tuple[Footprint, Rollup]:
    """One unit of a lot, an item, a pack or a module (the items it holds); a vehicle is
    outside the battery's boundary."""
    material = _material(master_data(uow), identifier)
    if material is not None and material.kind is MaterialKind.VEHICLE:
        raise FootprintError(
            f"{identifier}: a vehicle is outside the battery's cradle-to-gate boundary; "
            "ask for the pack it holds"
        )
    result = footprints(uow, factors)
    node = footprint_node(uow, identifier)
    inside = [] if result.system.node(node) is not None else held(uow, identifier)
    if result.system.node(node) is None and not inside:
        raise FootprintError(
            f"{identifier}: not a lot, pack, module or item made by a transformation in this store"
        )
    capacity = material.energy_kwh if material else None
    return footprint_of(result, node, capacity, inside), result


def pact_footprint(
    uow: UnitOfWork, identifier: str, version: str = "3", factors: str | None = None
) -> dict[str, Any]:
    """The PACT ProductFootprint (v2.3 or v3.0) of a lot, item or pack."""
    fp, result = footprint(uow, identifier, factors)
    j = result.system.node(footprint_node(uow, identifier))
    if j is None:  # a module: no site or date of its own in the product system
        raise FootprintError(
            f"{identifier}: PACT footprints are exported for lots, packs and items made by "
            "a transformation"
        )
    node = result.system.nodes[j]
    data = master_data(uow)
    cls = class_of(node_id(identifier))
    kind = _material(data, identifier)
    site = next((s for s in data.sites.values() if node_id(s.id) == node.site), None)
    party = data.parties.get(site.party) if site else None
    if site is None or party is None:
        raise FootprintError(
            f"{identifier}: its site {node.site} is not in the master data (PACT needs the company)"
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


def explain_footprint(uow: UnitOfWork, result: Rollup, identifier: str) -> Contribution:
    """The tree of contributions to one unit of an identifier's product, as rolled up in
    ``result``."""
    node = footprint_node(uow, identifier)
    inside = [] if result.system.node(node) is not None else held(uow, identifier)
    return explain(result, node, held=inside)
