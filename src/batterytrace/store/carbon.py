"""Carbon footprint in the store: the imported model, factor sets, supplier footprints, and the
recorded steps, legs and packs a product system is built from.

The reads go through the derived tables, never the events' content (a cell line's event lists
500 cells): ``event_figure`` gives every event with quantities (its flows and element figures),
``holding`` the items each transformation made (level 0) and what each pack holds, and
``event_key`` the sources and destinations of shipments (CBV types: location, parties), the
objects of shipments without quantities, the parents of aggregations and the events that state
extension fields (``bt:activity``, ``bt:transportMode``, ``bt:distanceKm``), whose content alone
is parsed. ``vocabulary_child`` gives the location hierarchy the master data declare.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select

from batterytrace.carbon.activity import Model, change, event_activities, from_json
from batterytrace.carbon.factors import FactorSet, read_csv, write_csv
from batterytrace.carbon.places import Stated
from batterytrace.carbon.system import Assembled, Leg, Made, Output, Unit
from batterytrace.epcis.timestamps import local_time
from batterytrace.errors import FactorError, ImportConflict
from batterytrace.masterdata import BT
from batterytrace.store import schema
from batterytrace.store.driver import Driver
from batterytrace.store.imported import Imported
from batterytrace.store.records import extension_values
from batterytrace.trace.lineage import class_of

M, F, P = schema.carbon_model, schema.factor_set, schema.supplier_footprint
EXTENSIONS = {
    "activity": BT + "activity",
    "mode": BT + "transportMode",
    "distance": BT + "distanceKm",
}

_FIGURED = """
SELECT f.seq, f.figures, e.event_id, e.event_type, e.biz_step, e.biz_location,
       e.event_time, e.event_time_zone_offset, e.transformation_id, e.read_point
FROM event_figure f {join} event e ON e.seq = f.seq
WHERE e.event_type = 'TransformationEvent'
   OR (e.event_type = 'ObjectEvent' AND (e.action = 'ADD' OR e.biz_step = 'shipping'))
ORDER BY f.seq
"""
# where these lots or items were received (for shipments that say nowhere where they left)
_RECEIPTS = """
SELECT k.value, e.event_time, COALESCE(e.biz_location, e.read_point)
FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role IN ('epcClass', 'epc') AND k.value IN ({marks})
  AND e.event_type = 'ObjectEvent' AND e.biz_step = 'receiving'
  AND COALESCE(e.biz_location, e.read_point) IS NOT NULL
"""
_CHUNK = 500  # identifiers per IN list
# shipments of identified objects only (no quantity list: no figures), and what they move
_UNFIGURED_SHIPMENTS = """
SELECT e.seq, e.event_id, e.biz_location, e.event_time, e.event_time_zone_offset, e.read_point,
       k.value
FROM event e {join} event_key k ON k.seq = e.seq
WHERE e.event_type = 'ObjectEvent' AND e.biz_step = 'shipping' AND k.role = 'epc'
  AND NOT EXISTS (SELECT 1 FROM event_figure f WHERE f.seq = e.seq)
ORDER BY e.seq
"""
# the items each transformation made (holdings at level 0: only transformations make items)
_ITEMS_MADE = "SELECT source, container_class, items FROM holding WHERE level = 0"
_STATED = """
SELECT k.seq, e.content FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role = 'extension' AND k.value = {mark}
"""
_MADE_BY = """
SELECT e.event_id FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role = 'outputEPC' AND k.value = {mark} AND e.event_type = 'TransformationEvent'
ORDER BY e.seq LIMIT 1
"""
_HELD = """
SELECT e.event_id, h.items FROM holding h {join} event e ON e.seq = h.source
WHERE h.container = {mark} AND h.level > 0
"""
# the source and destination lists of shipments (CBV types: location, owning_party...)
_ENDS = """
SELECT k.seq, k.role, k.value FROM event e {join} event_key k ON k.seq = e.seq
WHERE e.biz_step = 'shipping' AND e.event_type = 'ObjectEvent'
  AND (k.role LIKE {mark} OR k.role LIKE {mark})
ORDER BY k.seq, k.role, k.value
"""
_PARENTS = "SELECT child, parent FROM vocabulary_child ORDER BY child, parent"
_PACK_CONTENTS = """
SELECT container, source, items FROM holding
WHERE container > {mark} AND container < {mark} AND level > 0
"""
_PACKED = """
SELECT k.value, e.biz_location, e.event_time, e.event_time_zone_offset
FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role = 'parentID' AND k.value > {mark} AND k.value < {mark}
  AND e.event_type = 'AggregationEvent' AND (e.action IS NULL OR e.action <> 'DELETE')
ORDER BY e.event_time, e.seq
"""


# --- what users import ------------------------------------------------------------------------


def add_model(
    conn: Connection,
    incoming: Model,
    record: int,
    source: str | None,
    owner: str | None = None,
    replace: bool = False,
) -> Imported:
    """Import a carbon model over the stored one (decision 016): what is stored already as given
    changes nothing; a datum of a site, period, kind and factor (or a lane, site's allocation,
    proxy) stored with other values is refused before anything is written, unless ``replace``.
    What the import changed is kept under its import ``record`` (``imports``, ``remove_model``)."""
    stored = model(conn)
    found = change(stored, incoming)
    if found.replaced and not replace:
        raise ImportConflict(
            f"{source}: {found.replaced[0]} is stored with other values; nothing was imported "
            "(replacing it is asked with --replace)"
        )
    stored.merged(found.kept)  # checked together with the stored data, before any write
    done = Imported(found.added, len(found.replaced), found.unchanged)
    if done.changed:
        conn.execute(
            insert(M).values(
                record=record,
                source=source or "",
                imported=int(datetime.now(UTC).timestamp() * 1000),
                content=orjson.dumps(found.kept.to_json()).decode(),
                owner=owner,
            )
        )
    return done


def model(conn: Connection) -> Model:
    """Every import merged in import order: a later one's data replace the earlier data of the
    same site, period, kind and factor, its settings the earlier ones of the same lane, site or
    product (each import keeps only what it changed, so removing it restores what it replaced)."""
    merged = Model()
    for source, content in conn.execute(select(M.c.source, M.c.content).order_by(M.c.id)):
        merged = merged.merged(from_json(orjson.loads(content), source))
    return merged


def imports(conn: Connection) -> list[tuple[int | None, str, datetime, Model]]:
    """(import record, source, when, what it changed) of every carbon import kept, in import
    order; rows adopted from before import records existed have no record of their own."""
    rows = conn.execute(select(M.c.record, M.c.source, M.c.imported, M.c.content).order_by(M.c.id))
    return [
        (seq, source, datetime.fromtimestamp(ms / 1000, UTC),
         from_json(orjson.loads(content), source))
        for seq, source, ms, content in rows
    ]  # fmt: skip


def remove_model(conn: Connection, record: int) -> bool:
    """Forget the carbon import kept under import ``record``; whether it was there."""
    return bool(conn.execute(delete(M).where(M.c.record == record)).rowcount)


def save_factors(conn: Connection, factors: FactorSet, owner: str | None = None) -> Imported:
    """Add a set; the same set again changes nothing, another content under a stored
    ``name@version`` is refused (a published version does not change: give it a new one)."""
    content = write_csv(factors)
    stored = conn.execute(
        select(F.c.content).where((F.c.name == factors.name) & (F.c.version == factors.version))
    ).scalar()
    if stored == content:
        return Imported(unchanged=1)
    if stored is not None:
        raise ImportConflict(
            f"factor set {factors.label} is stored with other factors; a version does not "
            "change: add it under a new version"
        )
    conn.execute(
        insert(F).values(name=factors.name, version=factors.version, content=content, owner=owner)
    )
    return Imported(added=1)


def factor_sets(conn: Connection) -> dict[str, FactorSet]:
    """The sets users added, by label (``name@version``); a set stored before a column it now
    needs (``kind``, ``mode``: decision 014) is named, to be added again with it."""
    sets = {}
    for name, version, content in conn.execute(select(F.c.name, F.c.version, F.c.content)):
        try:
            found = read_csv(content, name, version)
        except FactorError as err:
            raise FactorError(
                f"stored factor set {name}@{version}: {err}; add it again "
                "(carbon factors --add) with the columns of docs/carbon-data.md"
            ) from None
        sets[found.label] = found
    return sets


def save_supplier(
    conn: Connection,
    id: str,
    product: str,
    document: Mapping[str, Any],
    owner: str | None = None,
    replace: bool = False,
) -> Imported:
    """Keep a supplier's footprint ``id`` for ``product``: the same again changes nothing; other
    content under a stored id is refused (PACT gives an updated footprint a new id); a product
    with another supplier footprint is refused unless ``replace`` (which drops that one)."""
    content = orjson.dumps(document).decode()
    stored = conn.execute(select(P.c.product, P.c.content).where(P.c.id == id)).first()
    if stored is not None and stored.content != content:
        raise ImportConflict(
            f"supplier footprint {id} is stored with other content; PACT gives an updated "
            "footprint a new id"
        )
    if stored is not None and stored.product == product:
        return Imported(unchanged=1)
    other = conn.execute(
        select(P.c.id).where((P.c.product == product) & (P.c.id != id)).limit(1)
    ).scalar()
    if other is not None and not replace:
        raise ImportConflict(
            f"{product}: supplier footprint {other} stands for it already; nothing was imported "
            "(replacing it is asked with --replace)"
        )
    conn.execute(delete(P).where((P.c.id == id) | (P.c.product == product)))
    conn.execute(insert(P).values(id=id, product=product, content=content, owner=owner))
    return Imported(added=int(stored is None and other is None),
                    replaced=int(stored is not None or other is not None))  # fmt: skip


def suppliers(conn: Connection) -> list[tuple[str, dict[str, Any]]]:
    """(product, PACT document) of every supplier footprint."""
    return [
        (product, orjson.loads(content))
        for product, content in conn.execute(select(P.c.product, P.c.content).order_by(P.c.id))
    ]


# --- what the events recorded -----------------------------------------------------------------


def _when(ms: int, offset: str) -> datetime:
    """An event's local time (the periods' clock, decision 014)."""
    return local_time(datetime.fromtimestamp(ms / 1000, UTC), offset)


def _stated(driver: Driver, name: str) -> dict[int, Any]:
    """seq -> value of an extension field, for the events that state it."""
    uri = EXTENSIONS[name]
    out: dict[int, Any] = {}
    for seq, content in driver.rows(_STATED, (uri,)):
        for key, value in extension_values(orjson.loads(content)):
            if key == uri:
                out[seq] = value
    return out


def _elements(facts: Mapping[str, list[Any]], quantity: float, per_item: bool) -> dict[str, float]:
    return {e: value * quantity for e, (value, item) in facts.items() if bool(item) == per_item}


def parents(conn: Connection) -> dict[str, str]:
    """The location hierarchy the master data declare: child -> parent (Digital Links)."""
    return {child: parent for child, parent in Driver(conn).rows(_PARENTS, ())}


def recorded(
    conn: Connection, pack_classes: tuple[str, ...]
) -> tuple[list[Made], list[Leg], list[Assembled]]:
    """The steps that made lots and items, the shipping legs, and the packs of these classes."""
    driver = Driver(conn)
    stated = {name: _stated(driver, name) for name in EXTENSIONS}
    items: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for source, cls, n in driver.rows(_ITEMS_MADE, ()):
        items[source].append((cls, int(n)))
    ends: dict[int, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for seq, role, value in driver.rows(_ENDS, ("source:%", "destination:%")):
        side, _, kind = role.partition(":")
        ends[seq][side].append((kind, value))
    steps: dict[str, Made] = {}
    # (seq, event, time, offset, lot, kg, bizLocation, readPoint) of each shipment
    shipped: list[tuple[int, str, int, str, str, float | None, str | None, str | None]] = []
    batches: dict[int, str] = {}
    rows = driver.rows(_FIGURED, ())
    for seq, figures, event_id, kind, biz_step, site, ms, offset, tid, point in rows:
        flows = orjson.loads(figures)
        facts = flows.get("facts", {})
        when = _when(ms, offset)
        if kind == "ObjectEvent" and biz_step == "shipping":
            shipped.extend(
                (seq, event_id, ms, offset, lot, kg, site, point)
                for lot, kg in flows.get("quantityList", ())
            )
            continue
        listed = flows.get(
            "outputQuantityList" if kind == "TransformationEvent" else "quantityList", ()
        )
        outputs = [
            Output(lot, Unit.KG, kg, class_of(lot), _elements(facts, kg, False))
            for lot, kg in listed
            if kg is not None
        ]
        if seq in items:
            batch = f"{event_id}#outputEPCList"
            count = sum(n for _, n in items[seq])
            cls = items[seq][0][0] if len(items[seq]) == 1 else ""
            outputs.append(
                Output(batch, Unit.ITEM, float(count), cls, _elements(facts, count, True))
            )
            batches[seq] = batch
        inputs = tuple(
            (lot, kg) for lot, kg in flows.get("inputQuantityList", ()) if kg is not None
        )
        activities = (
            tuple(event_activities(stated["activity"][seq], site, event_id))
            if seq in stated["activity"]
            else ()
        )
        step = Made(event_id, site, when, inputs, tuple(outputs), activities, kind == "ObjectEvent")
        key = tid or event_id  # the events of one transformation are one step
        steps[key] = _joined(steps[key], step) if key in steps else step
    for seq, event_id, site, ms, offset, point, epc in driver.rows(_UNFIGURED_SHIPMENTS, ()):
        shipped.append((seq, event_id, ms, offset, epc, None, site, point))
    unplaced = {
        lot
        for seq, _, _, _, lot, _, site, point in shipped
        if not (site or point or dict(ends[seq]["source"]).get("location"))
    }
    receipts = _receipts(driver, sorted(unplaced))
    legs = []
    for seq, event_id, ms, offset, lot, kg, site, point in shipped:
        before = [(at, place) for at, place in receipts.get(lot, ()) if at < ms]
        places = Stated(
            point,
            tuple(ends[seq]["source"]),
            tuple(ends[seq]["destination"]),
            max(before)[1] if before else None,  # the last receipt before the shipment
        )
        legs.append(
            Leg(
                event_id,
                lot,
                kg,
                site,
                dict(ends[seq]["destination"]).get("location"),
                _when(ms, offset),
                stated["mode"].get(seq),
                stated["distance"].get(seq),
                places,
            )
        )
    packs = list(_packs(driver, pack_classes, batches))
    return list(steps.values()), legs, packs


def _receipts(driver: Driver, objects: list[str]) -> dict[str, list[tuple[int, str]]]:
    """(time, location) of each receiving event of these lots or items."""
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for start in range(0, len(objects), _CHUNK):
        chunk = objects[start : start + _CHUNK]
        for value, ms, place in driver.rows(_RECEIPTS, chunk, len(chunk)):
            out[value].append((ms, place))
    return out


def _joined(a: Made, b: Made) -> Made:
    return Made(
        a.event,
        a.site,
        min(a.time, b.time),
        a.inputs + b.inputs,
        a.outputs + b.outputs,
        a.activities + b.activities,
        a.commissioned and b.commissioned,
    )


def _packs(
    driver: Driver, classes: tuple[str, ...], batches: Mapping[int, str]
) -> Iterator[Assembled]:
    for cls in classes:
        low, high = cls + "/", cls + "0"  # every Digital Link of the class: "<class>/21/<serial>"
        contents: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for container, source, n in driver.rows(_PACK_CONTENTS, (low, high)):
            contents[container].append((batches.get(source, f"event #{source}"), int(n)))
        seen: set[str] = set()
        for pack, site, ms, offset in driver.rows(_PACKED, (low, high)):
            if pack not in seen:
                seen.add(pack)
                yield Assembled(pack, cls, site, _when(ms, offset), tuple(contents.get(pack, ())))


def batch_of(conn: Connection, item: str) -> str | None:
    """The batch node of the transformation that made a serialised item, if one did."""
    driver = Driver(conn)
    found = driver.rows(_MADE_BY, (item,))
    return f"{found[0][0]}#outputEPCList" if found else None


def held(conn: Connection, container: str) -> list[tuple[str, int]]:
    """The items a container holds, per batch node of the event that made them."""
    rows = Driver(conn).rows(_HELD, (container,))
    return [(f"{event_id}#outputEPCList", int(n)) for event_id, n in rows]
