"""Carbon footprint in the store: the imported model, factor sets, supplier footprints, and the
recorded steps, legs and packs a product system is built from.

The reads go through the derived tables, never the events' content (a cell line's event lists
500 cells): ``event_figure`` gives every event with quantities (its flows and element figures),
``holding`` the items each transformation made (level 0) and what each pack holds, and
``event_key`` the sources and destinations of shipments (CBV types: location, parties), the
items transformations used and shipments moved, the parents of aggregations and the events that
state extension fields (``bt:activity``, ``bt:transportMode``, ``bt:distanceKm``), whose content
alone is parsed. ``vocabulary_child`` gives the location hierarchy the master data declare.
Quantities stated in volumes or counts, and items shipped, are weighed by the master data
(decision 012).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select

from batterytrace.carbon.activity import Model, change, event_activities, from_json
from batterytrace.carbon.factors import FactorSet, read_csv, write_csv
from batterytrace.carbon.places import Stated
from batterytrace.carbon.system import Assembled, Leg, Made, Output, Unit, Unweighed
from batterytrace.epcis.timestamps import local_time
from batterytrace.errors import FactorError, ImportConflict
from batterytrace.masterdata import BT, Material, MaterialKind, unweighed_because
from batterytrace.store import schema
from batterytrace.store.driver import Driver
from batterytrace.store.imported import Imported
from batterytrace.store.records import extension_values
from batterytrace.trace.lineage import Flow, MaterialFacts, class_of

M, F, P = schema.carbon_model, schema.factor_set, schema.supplier_footprint
U = schema.factor_use
EXTENSIONS = {
    "activity": BT + "activity",
    "mode": BT + "transportMode",
    "distance": BT + "distanceKm",
}

_FIGURED = """
SELECT f.seq, f.figures, e.event_id, e.event_type, e.biz_step, e.biz_location,
       e.event_time, e.event_time_zone_offset, e.transformation_id, e.read_point
FROM event_figure f {join} event e ON e.seq = f.seq
WHERE (e.event_type = 'TransformationEvent'
   OR (e.event_type = 'ObjectEvent' AND (e.action = 'ADD' OR e.biz_step = 'shipping'))
   OR (e.event_type = 'AggregationEvent' AND e.biz_step = 'shipping')) {since}
ORDER BY f.seq
"""
# transformations of items alone (inputEPCList to outputEPCList) have no figures
_UNFIGURED = """
SELECT seq, NULL, event_id, event_type, biz_step, biz_location, event_time, event_time_zone_offset,
       transformation_id, read_point
FROM event WHERE seq IN ({marks}) AND event_type = 'TransformationEvent'
"""
# where these lots or items were received (for shipments that say nowhere where they left)
_RECEIPTS = """
SELECT k.value, e.event_time, COALESCE(e.biz_location, e.read_point)
FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role IN ('epcClass', 'epc') AND k.value IN ({marks})
  AND e.event_type = 'ObjectEvent' AND e.biz_step = 'receiving'
  AND COALESCE(e.biz_location, e.read_point) IS NOT NULL
"""
# the items each transformation made (holdings at level 0: only transformations make items)
_ITEMS_MADE = "SELECT source, container_class, items FROM holding WHERE level = 0 {since}"
_STATED = """
SELECT k.seq, e.content FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role = 'extension' AND k.value = {mark} {since}
"""
_HELD = """
SELECT e.event_id, h.items FROM holding h {join} event e ON e.seq = h.source
WHERE h.container = {mark} AND h.level > 0
"""
# the source and destination lists of shipments (CBV types: location, owning_party...)
_ENDS = """
SELECT k.seq, k.role, k.value FROM {tables}
WHERE e.biz_step = 'shipping' AND (k.role LIKE {mark} OR k.role LIKE {mark}) {since}
ORDER BY k.seq, k.role, k.value
"""
_PARENTS = "SELECT child, parent FROM vocabulary_child ORDER BY child, parent"
# serialised inputs of transformations
_ITEM_INPUTS = """
SELECT k.seq, k.value FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role = 'inputEPC' AND e.event_type = 'TransformationEvent' {since}
"""
# the transformations that made items (their items are the batch ``<event>#outputEPCList``)
_MAKERS = """
SELECT o.value, m.event_id, o.seq FROM event_key o {join} event m ON m.seq = o.seq
WHERE o.role = 'outputEPC' AND o.value IN ({marks}) AND m.event_type = 'TransformationEvent'
"""
# the ObjectEvents that commissioned items (action ADD), and everything each of them listed
_COMMISSIONED = """
SELECT k.value, e.seq, e.event_id, e.biz_location, e.event_time, e.event_time_zone_offset
FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role = 'epc' AND k.value IN ({marks}) AND e.event_type = 'ObjectEvent'
  AND e.action = 'ADD'
"""
_LISTED = "SELECT seq, value FROM event_key WHERE role = 'epc' AND seq IN ({marks})"
# what shipments state as instances: the epcList of a shipping ObjectEvent (items, packs,
# logistic units), the children of a shipping AggregationEvent
_SHIPPED_ITEMS = """
SELECT e.seq, e.event_id, e.biz_location, e.event_time, e.event_time_zone_offset, e.read_point,
       k.value
FROM {tables}
WHERE e.biz_step = 'shipping'
  AND k.role = CASE e.event_type WHEN 'ObjectEvent' THEN 'epc'
                                 WHEN 'AggregationEvent' THEN 'childEPC' END {besides} {since}
ORDER BY e.seq
"""
# the lots (childQuantityList) packed into logistic units by aggregations
_PACKED_LOTS = """
SELECT k.value, f.figures FROM event_key k {join} event e ON e.seq = k.seq
{join} event_figure f ON f.seq = k.seq
WHERE k.role = 'parentID' AND k.value IN ({marks}) AND e.event_type = 'AggregationEvent'
  AND e.action = 'ADD'
"""
# the items a container holds, per event that made them, with their class (one class a batch)
_CONTAINED = """
SELECT h.container, e.event_id, h.items, (
    SELECT CASE WHEN count(*) = 1 THEN min(c.container_class) END FROM holding c
    WHERE c.source = h.source AND c.level = 0)
FROM holding h {join} event e ON e.seq = h.source
WHERE h.level > 0 AND h.container IN ({marks})
"""
_PACK_CONTENTS = """
SELECT container, source, items FROM holding
WHERE container > {mark} AND container < {mark} AND level > 0
"""
_NEW = "SELECT seq FROM event WHERE seq > {mark}"
_CONTENTS_OF = """
SELECT container, source, items FROM holding WHERE container IN ({marks}) AND level > 0
"""
_BATCHES = """
SELECT DISTINCT h.source, e.event_id FROM holding h {join} event e ON e.seq = h.source
WHERE h.level = 0 AND h.source IN ({marks})
"""
_PACKED = """
SELECT k.value, e.biz_location, e.event_time, e.event_time_zone_offset
FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role = 'parentID' AND k.value > {mark} AND k.value < {mark}
  AND e.event_type = 'AggregationEvent' AND (e.action IS NULL OR e.action <> 'DELETE') {since}
ORDER BY e.event_time, e.seq
"""

# the packs of some classes (``{among}``: a range of Digital Links per class), by the time they
# were first packed; what shipments moved as themselves; the events that pack or ship some of
# them; whether a transformation made or used a pack; the batches the items of packs come from
_PACKS_IN_ORDER = """
SELECT k.value, MIN(e.event_time) FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role = 'parentID' AND ({among}) AND e.event_type = 'AggregationEvent'
  AND (e.action IS NULL OR e.action <> 'DELETE')
GROUP BY k.value {since} ORDER BY 2, 1
"""
_SHIPPED_AS_SUCH = """
SELECT DISTINCT k.value FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role IN ('epc', 'childEPC') AND ({among}) AND e.biz_step = 'shipping' {since}
ORDER BY 1
"""
_APART_EVENTS = """
SELECT DISTINCT k.seq FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role IN ('parentID', 'epc', 'childEPC') AND k.value IN {texts}
  AND ((k.role = 'parentID' AND e.event_type = 'AggregationEvent')
    OR (k.role <> 'parentID' AND e.biz_step = 'shipping'))
"""
_PACK_TRANSFORMED = """
SELECT 1 FROM event_key k WHERE k.role IN ('inputEPC', 'outputEPC') AND ({among}) LIMIT 1
"""
_PACKED_BATCHES = """
SELECT DISTINCT e.event_id FROM holding k {join} event e ON e.seq = k.source
WHERE k.level > 0 AND ({among})
"""
_IN_CLASS = "(k.{column} > {mark} AND k.{column} < {mark})"
_NAMING = """
SELECT MIN(e.event_time) FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role IN ('epc', 'epcClass', 'inputEPC', 'inputEPCClass', 'outputEPC',
    'outputEPCClass', 'childEPC', 'childEPCClass', 'parentID')
  AND (k.value = {mark} OR (k.value > {mark} AND k.value < {mark}))
"""
_FROM = "SELECT seq FROM event WHERE event_time >= {mark}"
# what events make, commission or pack (decision 034: an earlier event naming it already would
# change a kept footprint), and where an earlier event would have named each
_MADE = """
SELECT k.value, k.role, e.event_type, e.action FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.seq IN {seqs} AND k.role IN ('outputEPC', 'outputEPCClass', 'parentID', 'epc', 'epcClass')
"""
_NAMED = """
SELECT k.value FROM event_key k
WHERE k.role IN ({marks}) AND k.value IN {texts} AND k.seq <= {mark}{besides} LIMIT 1
"""
# a parent packed after its commissioning (CBV 2.0: commission the serial, then aggregate) is
# made by the packing; the commissioning that named it alone changes no kept product
_BESIDES_COMMISSIONING = """ AND NOT (k.role = 'epc' AND EXISTS (SELECT 1 FROM event c
    WHERE c.seq = k.seq AND c.event_type = 'ObjectEvent' AND c.action = 'ADD'))"""
# a transformation the events after a ledger number go on (one step: its earlier events' too)
_JOINED = """
SELECT n.transformation_id FROM event n
WHERE n.seq IN {seqs} AND n.transformation_id IS NOT NULL
  AND EXISTS (SELECT 1 FROM event o
              WHERE o.transformation_id = n.transformation_id AND o.seq <= {mark})
LIMIT 1
"""
_NAMED_AS = {
    "item": ("inputEPC", "epc", "childEPC"),
    "lot": ("inputEPCClass", "epcClass", "childEPCClass"),
    "parent": ("parentID", "inputEPC", "epc", "childEPC"),
}


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
    done = Imported(added=found.added, replaced=len(found.replaced), unchanged=found.unchanged)
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


def changes_since(conn: Connection, record: int) -> list[Model]:
    """What each carbon import after import record ``record`` changed, in import order."""
    query = select(M.c.source, M.c.content).where(M.c.record > record).order_by(M.c.id)
    return [from_json(orjson.loads(content), source) for source, content in conn.execute(query)]


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


def has_inputs(conn: Connection) -> bool:
    """Whether anything can give a product a burden: a carbon model, a supplier footprint, or
    an event stating an activity or a transport leg (by the extension index). Without any,
    every footprint would be nothing but missing data."""
    stated = select(schema.event_key.c.seq).where(
        (schema.event_key.c.role == "extension") & schema.event_key.c.value.in_(EXTENSIONS.values())
    )
    return any(
        conn.execute(select(query.exists())).scalar() for query in (select(M), select(P), stated)
    )


def factors_in_use(conn: Connection) -> str | None:
    """The label of the user's set the kept footprints are figured with; None: the shipped
    set."""
    return conn.execute(select(U.c.label)).scalar()


def use_factors(conn: Connection, label: str | None) -> Imported:
    """Figure the kept footprints with the stored set ``label`` (None: the shipped set)."""
    if label == factors_in_use(conn):
        return Imported(unchanged=1)
    if label is not None and label not in factor_sets(conn):
        raise FactorError(f"factor set {label!r} is not stored (see `carbon factors`)")
    conn.execute(delete(U))
    if label is not None:
        conn.execute(insert(U).values(label=label))
    return Imported(replaced=1)


def remove_factors(conn: Connection, label: str) -> Imported:
    """Forget a stored set that the kept footprints do not use."""
    if label == factors_in_use(conn):
        raise ImportConflict(f"factor set {label} is the one the kept footprints use")
    name, _, version = label.rpartition("@")
    if not conn.execute(delete(F).where((F.c.name == name) & (F.c.version == version))).rowcount:
        raise FactorError(f"factor set {label!r} is not stored (see `carbon factors`)")
    return Imported(removed=1)


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


def _since(
    driver: Driver, sql: str, params: tuple[Any, ...], seq: str, new: str | None, **names: str
) -> list[Any]:
    """The rows of ``sql`` (whose ``{since}`` ends its conditions); ``new``: of these events
    only (their numbers, :meth:`Driver.among`), found by number (a range of numbers would let
    SQLite walk a whole role or business step), the event keys first (``{tables}``)."""
    if new is None:
        tables = f"event e {driver.join} event_key k ON k.seq = e.seq"
        return driver.rows(sql, params, 0, since="", tables=tables, **names)
    tables = f"event_key k {driver.join} event e ON e.seq = k.seq"
    since = f"AND {seq} IN {driver.seqs}"
    return driver.rows(sql, (*params, new), 0, since=since, tables=tables, **names)


def _stated(driver: Driver, name: str, new: str | None) -> dict[int, Any]:
    """seq -> value of an extension field, for the events (``new``: of these) that state it."""
    uri = EXTENSIONS[name]
    out: dict[int, Any] = {}
    for seq, content in _since(driver, _STATED, (uri,), "k.seq", new):
        for key, value in extension_values(orjson.loads(content)):
            if key == uri:
                out[seq] = value
    return out


def _elements(facts: Mapping[str, list[Any]], quantity: float, per_item: bool) -> dict[str, float]:
    return {e: value * quantity for e, (value, item) in facts.items() if bool(item) == per_item}


def parents(conn: Connection) -> dict[str, str]:
    """The location hierarchy the master data declare: child -> parent (Digital Links)."""
    return {child: parent for child, parent in Driver(conn).rows(_PARENTS, ())}


def _because(why: str) -> str:
    """Why a quantity :func:`_weigh` could not weigh has no mass, without what it stated
    (``stated as 10 LTR; <because>``): the reason shipments' legs not counted are listed
    under, one line for all the legs of a class, not one per lot."""
    return why.rpartition("; ")[2]


def _weigh(entry: Sequence[Any], materials: MaterialFacts) -> tuple[str, float | None, str]:
    """(class, kg, why not) of a quantity as ``records.figures`` keeps it: kg as stated, or a
    volume or count weighed by the master data (issue 12, points 7 and 11)."""
    flow = Flow(*entry)
    if flow.kg is not None:
        return flow.id, flow.kg, ""
    if flow.quantity is None:
        return flow.id, None, "no quantity stated"
    kg = materials.weighed(flow)
    stated = f"{flow.quantity:g} {flow.uom}" if flow.uom else f"{flow.quantity:g} (a count)"
    why = f"stated as {stated}; {unweighed_because(flow.uom, class_of(flow.id))}"
    return flow.id, kg, "" if kg is not None else why


def made_before(conn: Connection, after: int, materials: Iterable[Material] = ()) -> str | None:
    """Something the events after ledger number ``after`` make, commission or pack (vehicles
    aside: outside the battery's boundary), or a transformation they go on, that an event up
    to it names already; None."""
    driver = Driver(conn)
    weights = MaterialFacts(materials)
    new = Driver.among(s for (s,) in driver.rows(_NEW, (after,)))
    for (joined,) in driver.rows(_JOINED, (new, after)):
        return str(joined)
    made: dict[str, set[str]] = defaultdict(set)
    for value, role, kind, action in driver.rows(_MADE, (new,)):
        if role in ("epc", "epcClass") and (kind, action) != ("ObjectEvent", "ADD"):
            continue  # what is observed or shipped, not made
        if (m := weights.material(value)) is not None and m.kind is MaterialKind.VEHICLE:
            continue
        made[{"outputEPC": "item", "epc": "item", "parentID": "parent"}.get(role, "lot")].add(value)
    for kind, values in sorted(made.items()):
        roles = _NAMED_AS[kind]
        params = (*roles, Driver.among(sorted(values)), after)
        besides = _BESIDES_COMMISSIONING if kind == "parent" else ""
        for (value,) in driver.rows(_NAMED, params, len(roles), besides=besides):
            return str(value)
    return None


# a shipment up to a ledger number that states nowhere where it left (no bizLocation, readPoint
# or source location: placed at its lot's last receipt before it) of a lot one of the events
# after that number receives, somewhere, before it; each event looked up by number
_PLACED_BY_A_LATER_RECEIPT = """
SELECT s.event_id FROM event r {join} event_key rk ON rk.seq = r.seq
  {join} event_key sk ON sk.value = rk.value
    AND sk.role IN ('epcClass', 'epc', 'childEPCClass', 'childEPC')
  {join} event s ON s.seq = sk.seq
WHERE r.seq IN {seqs} AND r.biz_step = 'receiving'
  AND COALESCE(r.biz_location, r.read_point) IS NOT NULL AND rk.role IN ('epcClass', 'epc')
  AND s.seq <= {mark} AND s.biz_step = 'shipping' AND s.event_time > r.event_time
  AND s.biz_location IS NULL AND s.read_point IS NULL
  AND NOT EXISTS (SELECT 1 FROM event_key x WHERE x.seq = s.seq AND x.role = 'source:location')
LIMIT 1
"""


def placed_by_a_later_receipt(conn: Connection, after: int) -> str | None:
    """A shipment up to ledger number ``after`` that says nowhere where it left, of a lot an
    event after it receives before that shipment: its leg now leaves from that receipt's place
    (the lot's last receipt before it); None when there is none."""
    driver = Driver(conn)
    new = Driver.among(s for (s,) in driver.rows(_NEW, (after,)))
    for (event_id,) in driver.rows(_PLACED_BY_A_LATER_RECEIPT, (new, after)):
        return str(event_id)
    return None


def recorded(
    conn: Connection,
    pack_classes: tuple[str, ...],
    materials: Iterable[Material] = (),
    after: int = 0,
    events: Iterable[int] | None = None,
    apart: tuple[str, ...] = (),
) -> tuple[list[Made], list[Leg], list[Assembled]]:
    """The steps that made lots and items, the shipping legs, and the packs of these classes;
    ``materials`` weigh what the events state in volumes or counts. ``after``: what the events
    after that ledger number recorded (items they use or move found wherever they were made;
    the commissionings of items they use, whenever they were); ``events``: what these events
    (their ledger numbers) recorded. ``apart``: classes of packs and vehicles left out, with
    the legs that move them as themselves (figured apart: :func:`figured_apart`)."""
    driver = Driver(conn)
    if events is not None:
        new: str | None = Driver.among(events)
    else:
        new = Driver.among(s for (s,) in driver.rows(_NEW, (after,))) if after else None
    weights = MaterialFacts(materials)
    used = _since(driver, _ITEM_INPUTS, (), "k.seq", new)
    shipped_items = (
        _since(driver, _SHIPPED_ITEMS, _ranges(apart), "k.seq", new,
               besides=f"AND NOT ({_in_classes(driver, apart, 'value')})")
        if apart
        else _since(driver, _SHIPPED_ITEMS, (), "k.seq", new, besides="")
    )  # fmt: skip
    origins = _origins(driver, weights, [i for _, i in used] + [e for *_, e in shipped_items])
    item_inputs = _item_inputs(used, origins, weights)
    stated = {name: _stated(driver, name, new) for name in EXTENSIONS}
    items: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for source, cls, n in _since(driver, _ITEMS_MADE, (), "source", new):
        items[source].append((cls, int(n)))
    steps: dict[str, Made] = {}
    shipped: list[_Shipped] = []
    batches: dict[int, str] = {}
    rows = _since(driver, _FIGURED, (), "f.seq", new)
    unfigured = sorted((items.keys() | item_inputs.keys()) - {row[0] for row in rows})
    for chunk in _chunks(unfigured):
        rows.extend(driver.rows(_UNFIGURED, chunk, len(chunk)))
    rows.sort(key=lambda row: row[0])
    for seq, figures, event_id, kind, biz_step, site, ms, offset, tid, point in rows:
        flows = orjson.loads(figures) if figures else {}
        facts = flows.get("facts", {})
        when = _when(ms, offset)
        if biz_step == "shipping" and kind != "TransformationEvent":  # what moved: its list
            moved = flows.get("quantityList", flows.get("childQuantityList", ()))
            shipped.extend(
                _Shipped(seq, event_id, ms, offset, lot, kg, _because(why), site, point)
                for lot, kg, why in (_weigh(e, weights) for e in moved)
            )
            continue
        listed = flows.get(
            "outputQuantityList" if kind == "TransformationEvent" else "quantityList", ()
        )
        outputs, unweighed = [], []
        for lot, kg, why in (_weigh(e, weights) for e in listed):
            if kg is None:
                unweighed.append(Unweighed(lot, True, why))
            else:
                outputs.append(Output(lot, Unit.KG, kg, class_of(lot), _elements(facts, kg, False)))
        if seq in items:
            batch = f"{event_id}#outputEPCList"
            count = sum(n for _, n in items[seq])
            cls = items[seq][0][0] if len(items[seq]) == 1 else ""
            outputs.append(
                Output(batch, Unit.ITEM, float(count), cls, _elements(facts, count, True))
            )
            batches[seq] = batch
        counted, unweighed_items = item_inputs.pop(seq, ({}, []))
        inputs = list(counted.items())
        unweighed.extend(unweighed_items)
        for lot, kg, why in (_weigh(e, weights) for e in flows.get("inputQuantityList", ())):
            if kg is None:
                unweighed.append(Unweighed(lot, False, why))
            else:
                inputs.append((lot, kg))
        activities = (
            tuple(event_activities(stated["activity"][seq], site, event_id))
            if seq in stated["activity"]
            else ()
        )
        step = Made(
            event_id, site, when, tuple(inputs), tuple(outputs), activities,
            kind == "ObjectEvent", tuple(unweighed),
        )  # fmt: skip
        key = tid or event_id  # the events of one transformation are one step
        steps[key] = _joined(steps[key], step) if key in steps else step
    for step in origins.commissionings:
        steps[step.event] = _joined(steps[step.event], step) if step.event in steps else step
    together = tuple(cls for cls in pack_classes if cls not in apart)
    assembled = list(_packs(driver, together, batches, new))
    shipped.extend(_item_shipments(driver, shipped_items, origins, weights, pack_classes))
    shipped.sort(key=lambda s: s.seq)  # legs in ledger order, whatever moved (decision 034)
    return list(steps.values()), _legs(driver, shipped, stated), assembled


def _range(cls: str) -> tuple[str, str]:
    """The bounds (both excluded) of every Digital Link of a class: ``<class>/21/<serial>``."""
    return cls + "/", cls + "0"


def _ranges(classes: Sequence[str]) -> tuple[str, ...]:
    return tuple(edge for cls in classes for edge in _range(cls))


def _in_classes(driver: Driver, classes: Sequence[str], column: str) -> str:
    """A condition on ``k.<column>``: inside the range of one of these classes (its
    parameters: :func:`_ranges`)."""
    one = _IN_CLASS.format(column=column, mark=driver.mark)
    return " OR ".join([one] * len(classes))


def first_named(conn: Connection, product: str) -> datetime | None:
    """When the first event naming a lot, an item or a class (its lots and items with it)
    happened; None when none names it."""
    low, high = _range(product)
    ((ms,),) = Driver(conn).rows(_NAMING, (product, low, high))
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def happened_from(conn: Connection, when: datetime) -> list[int]:
    """The ledger numbers of the events that happened at ``when`` or later."""
    ms = int(when.timestamp() * 1000)
    return [seq for (seq,) in Driver(conn).rows(_FROM, (ms,))]


def packs_transformed(conn: Connection, pack_classes: Sequence[str]) -> bool:
    """Whether a transformation made or used a pack of these classes (then the packs are
    figured with the rest: a pack is an input like any product, or an item of a batch)."""
    if not pack_classes:
        return False
    driver = Driver(conn)
    among = _in_classes(driver, pack_classes, "value")
    return bool(driver.rows(_PACK_TRANSFORMED, _ranges(pack_classes), among=among))


def packed_batches(conn: Connection, pack_classes: Sequence[str]) -> set[str]:
    """The batches (``<event>#outputEPCList``) whose items packs of these classes hold."""
    if not pack_classes:
        return set()
    driver = Driver(conn)
    among = _in_classes(driver, pack_classes, "container")
    rows = driver.rows(_PACKED_BATCHES, _ranges(pack_classes), among=among)
    return {f"{event_id}#outputEPCList" for (event_id,) in rows}


def figured_apart(
    conn: Connection,
    pack_classes: tuple[str, ...],
    vehicle_classes: tuple[str, ...],
    materials: Iterable[Material],
    size: int,
    since: datetime | None = None,
) -> Iterator[tuple[list[Made], list[Leg], list[Assembled]]]:
    """What ``recorded(..., apart=pack_classes + vehicle_classes)`` leaves out, never all held:
    the packs, ``size`` at a time in the order they were first packed, then the vehicles
    shipped, ``size`` at a time; each time their legs and what :func:`recorded` gives of the
    events that pack or ship them (the commissionings of what those move: a step may come
    again in a later chunk). ``since``: the packs first packed, the vehicles shipped, then or
    later."""
    driver = Driver(conn)
    materials = list(materials)
    from_ = () if since is None else (int(since.timestamp() * 1000),)
    for classes, listing, time in (
        (pack_classes, _PACKS_IN_ORDER, "HAVING MIN(e.event_time) >= "),
        (vehicle_classes, _SHIPPED_AS_SUCH, "AND e.event_time >= "),
    ):
        if not classes:
            continue
        in_order = conn.connection.cursor()  # streamed beside the chunks' statements
        among = _in_classes(driver, classes, "value")
        later = time + driver.mark if from_ else ""
        in_order.execute(
            driver.text(listing, among=among, since=later), (*_ranges(classes), *from_)
        )
        while listed := in_order.fetchmany(size):
            chunk = {row[0] for row in listed}
            seqs = [seq for (seq,) in driver.rows(_APART_EVENTS, (Driver.among(sorted(chunk)),))]
            steps, legs, assembled = recorded(conn, pack_classes, materials, events=seqs)
            yield (
                steps,
                [leg for leg in legs if leg.lot in chunk],
                [pack for pack in assembled if pack.node in chunk],
            )
        in_order.close()


@dataclass(frozen=True, slots=True)
class _Shipped:
    """What one shipping event moved: a lot, or a batch's items (``kg`` None: ``why``)."""

    seq: int
    event: str
    ms: int
    offset: str
    lot: str
    kg: float | None
    why: str
    site: str | None  # bizLocation
    point: str | None  # readPoint


def _legs(
    driver: Driver,
    shipped: list[_Shipped],
    stated: Mapping[str, Mapping[int, Any]],
) -> list[Leg]:
    """The legs, with what their events state of where they went from and to."""
    ends: dict[int, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    moved = Driver.among(sorted({s.seq for s in shipped}))  # not every shipment's: these
    for seq, role, value in _since(driver, _ENDS, ("source:%", "destination:%"), "k.seq", moved):
        side, _, kind = role.partition(":")
        ends[seq][side].append((kind, value))
    unplaced = {
        s.lot
        for s in shipped
        if not (s.site or s.point or dict(ends[s.seq]["source"]).get("location"))
    }
    receipts = _receipts(driver, sorted(unplaced))
    legs = []
    for s in shipped:
        before = [(at, place) for at, place in receipts.get(s.lot, ()) if at < s.ms]
        places = Stated(
            s.point,
            tuple(ends[s.seq]["source"]),
            tuple(ends[s.seq]["destination"]),
            max(before)[1] if before else None,  # the last receipt before the shipment
        )
        legs.append(
            Leg(
                s.event,
                s.lot,
                s.kg,
                s.site,
                dict(ends[s.seq]["destination"]).get("location"),
                _when(s.ms, s.offset),
                stated["mode"].get(s.seq),
                stated["distance"].get(s.seq),
                places,
                "" if s.kg is not None else s.why,
                s.seq,
            )
        )
    return legs


def _receipts(driver: Driver, objects: list[str]) -> dict[str, list[tuple[int, str]]]:
    """(time, location) of each receiving event of these lots or items."""
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for chunk in _chunks(objects):
        for value, ms, place in driver.rows(_RECEIPTS, chunk, len(chunk)):
            out[value].append((ms, place))
    return out


def _chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True, slots=True)
class _Origins:
    """Where the product system finds serialised items: in the batch of the transformation that
    made them (a product per item), or in what the ObjectEvent that commissioned them brought
    in (a product per kg, weighed by its class's mass per item: proxies and suppliers apply);
    never a pack in its commissioning (its aggregation makes it: a product of its own)."""

    made: dict[str, str]  # item -> batch node
    commissioned: dict[str, str]  # item -> commissioning node
    commissionings: list[Made]
    vehicles: frozenset[str]  # outside the battery's cradle-to-gate boundary


def _origins(driver: Driver, weights: MaterialFacts, items: Iterable[str]) -> _Origins:
    wanted = set(items)
    vehicles = frozenset(
        item
        for item in wanted
        if (m := weights.material(item)) is not None and m.kind is MaterialKind.VEHICLE
    )
    made: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(sorted(wanted - vehicles)):
        for item, event_id, seq in driver.rows(_MAKERS, chunk, len(chunk)):
            if item not in made or seq < made[item][0]:
                made[item] = (seq, f"{event_id}#outputEPCList")
    packs = {  # a pack its aggregation makes (commissioning its serial first: CBV 2.0)
        item
        for item in wanted
        if (m := weights.material(item)) is not None and m.kind is MaterialKind.PACK
    }
    first: dict[str, tuple[int, str, str, int, str]] = {}
    for chunk in _chunks(sorted(wanted - vehicles - packs - made.keys())):
        for item, seq, event_id, site, ms, offset in driver.rows(_COMMISSIONED, chunk, len(chunk)):
            if item not in first or seq < first[item][0]:
                first[item] = (seq, event_id, site, ms, offset)
    events = {
        seq: (event_id, site, ms, offset) for seq, event_id, site, ms, offset in first.values()
    }
    listed: dict[int, Counter[str]] = defaultdict(Counter)
    for chunk in _chunks(sorted(events)):
        for seq, epc in driver.rows(_LISTED, chunk, len(chunk)):
            listed[seq][class_of(epc)] += 1

    def node(seq: int, cls: str) -> str:
        return f"{events[seq][0]}#epcList" + ("" if len(listed[seq]) == 1 else f"/{cls}")

    commissionings = []
    for seq, (event_id, site, ms, offset) in events.items():
        outputs, unweighed = [], []
        for cls, n in listed[seq].items():
            material = weights.material(cls)
            kg = None if material is None else material.kg(n, None)
            if kg is None:
                why = f"{n} items commissioned; {unweighed_because(None, cls)}"
                unweighed.append(Unweighed(node(seq, cls), True, why))
            else:
                outputs.append(Output(node(seq, cls), Unit.KG, kg, cls, {}))
        commissionings.append(
            Made(event_id, site, _when(ms, offset), (), tuple(outputs), (), True, tuple(unweighed))
        )
    commissioned = {item: node(seq, class_of(item)) for item, (seq, *_) in first.items()}
    return _Origins(
        {item: batch for item, (_, batch) in made.items()}, commissioned, commissionings, vehicles
    )


def _item_inputs(
    used: Sequence[tuple[int, str]], origins: _Origins, weights: MaterialFacts
) -> dict[int, tuple[dict[str, float], list[Unweighed]]]:
    """seq -> the serialised inputs of a transformation: items a transformation made counted
    per its batch, commissioned items in kg of what their commissioning brought in (their
    class's mass per item, or named without a mass); anything else is the item itself (a pack
    is a product of its own; an item nothing recorded is named as an input without origin)."""
    out: dict[int, tuple[dict[str, float], list[Unweighed]]] = defaultdict(
        lambda: (defaultdict(float), [])
    )
    for seq, item in used:
        amounts, unweighed = out[seq]
        if item in origins.made:
            amounts[origins.made[item]] += 1.0
        elif item in origins.commissioned:
            node, material = origins.commissioned[item], weights.material(item)
            kg = None if material is None else material.kg(1, None)
            if kg is None:
                why = f"item {item}; {unweighed_because(None, class_of(item))}"
                unweighed.append(Unweighed(node, False, why))
            else:
                amounts[node] += kg
        else:
            amounts[item] += 1.0
    return out


def _item_shipments(
    driver: Driver,
    rows: Sequence[tuple[int, str, str | None, int, str, str | None, str]],
    origins: _Origins,
    weights: MaterialFacts,
    pack_classes: tuple[str, ...],
) -> Iterator[_Shipped]:
    """What shipments stated as instances moved (issue 12, points 8 and 11): items go with the
    batch that made them, a pack as itself, a logistic unit (SSCC) or other container as the
    items and lots recorded inside it, else items with what commissioned them; items weighed by
    their class's mass per item, lots as their aggregation states them; what cannot be weighed
    is named without a mass. A vehicle goes as itself: outside the battery's cradle-to-gate
    boundary, its leg is listed, not counted."""
    containers = {epc for *_, epc in rows if class_of(epc) not in pack_classes}
    inside = _inside(driver, sorted(containers - origins.vehicles - origins.made.keys()))
    moved: dict[int, Counter[tuple[str, str]]] = defaultdict(Counter)  # (node, item class)
    weighed: dict[int, list[tuple[str, float | None, str]]] = defaultdict(list)  # node, kg, why
    shipments: dict[int, tuple[str, str | None, int, str, str | None]] = {}
    for seq, event_id, site, ms, offset, point, epc in rows:
        shipments[seq] = (event_id, site, ms, offset, point)
        cls = class_of(epc)
        items, packed = inside.get(epc, ([], []))
        if epc in origins.made:
            moved[seq][(origins.made[epc], cls)] += 1
        elif cls in pack_classes or epc in origins.vehicles:
            moved[seq][(epc, cls)] += 1
        elif items or packed:
            for batch, n, item_cls in items:
                moved[seq][(batch, item_cls or "")] += n
            for lot, kg, why in (_weigh(entry, weights) for entry in packed):
                weighed[seq].append((lot, kg, _because(why)))
        elif epc in origins.commissioned:
            moved[seq][(origins.commissioned[epc], cls)] += 1
        else:
            weighed[seq].append((epc, None, "nothing recorded made, commissioned or is inside it"))
    for seq, counted in moved.items():
        for (node, cls), n in counted.items():
            material = weights.material(cls)
            why = unweighed_because(None, cls or "them")
            weighed[seq].append((node, None if material is None else material.kg(n, None), why))
    for seq, listed in weighed.items():
        event_id, site, ms, offset, point = shipments[seq]
        for node, kg, why in listed:
            yield _Shipped(seq, event_id, ms, offset, node, kg, why, site, point)


def _inside(
    driver: Driver, containers: Sequence[str]
) -> dict[str, tuple[list[tuple[str, int, str | None]], list[Any]]]:
    """container -> (the items it holds per batch node, with their class if one; the lots its
    aggregations packed, as ``records.figures`` keeps them)."""
    out: dict[str, tuple[list[tuple[str, int, str | None]], list[Any]]] = defaultdict(
        lambda: ([], [])
    )
    for chunk in _chunks(containers):
        for container, event_id, n, cls in driver.rows(_CONTAINED, chunk, len(chunk)):
            out[container][0].append((f"{event_id}#outputEPCList", int(n), cls))
        for container, figures in driver.rows(_PACKED_LOTS, chunk, len(chunk)):
            out[container][1].extend(orjson.loads(figures).get("childQuantityList", ()))
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
        a.unweighed + b.unweighed,
    )


def _packs(
    driver: Driver, classes: tuple[str, ...], batches: Mapping[int, str], new: str | None
) -> Iterator[Assembled]:
    """The packs of these classes (``new``: those these events pack), each
    where and when it was first packed, with the items it holds per batch."""
    for cls in classes:
        low, high = _range(cls)
        packed: dict[str, tuple[str, int, str]] = {}
        for pack, site, ms, offset in _since(driver, _PACKED, (low, high), "e.seq", new):
            packed.setdefault(pack, (site, ms, offset))
        held = (
            driver.rows(_PACK_CONTENTS, (low, high))
            if new is None
            else [row for chunk in _chunks(sorted(packed))
                  for row in driver.rows(_CONTENTS_OF, chunk, len(chunk))]
        )  # fmt: skip
        named = dict(batches)
        unnamed = sorted({source for _, source, _ in held} - named.keys())
        for chunk in _chunks(unnamed) if new is not None else ():  # made before these
            named.update(
                (source, f"{event_id}#outputEPCList")
                for source, event_id in driver.rows(_BATCHES, chunk, len(chunk))
            )
        contents: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for container, source, n in held:
            contents[container].append((named.get(source, f"event #{source}"), int(n)))
        for pack, (site, ms, offset) in packed.items():
            yield Assembled(pack, cls, site, _when(ms, offset), tuple(contents.get(pack, ())))


def batch_of(conn: Connection, item: str) -> str | None:
    """The product-system node of a serialised item: the batch of the transformation that made
    it, else what the ObjectEvent that commissioned it brought in; None if neither did."""
    origins = _origins(Driver(conn), MaterialFacts(()), (item,))
    return origins.made.get(item) or origins.commissioned.get(item)


def held(conn: Connection, container: str) -> list[tuple[str, int]]:
    """The items a container holds, per batch node of the event that made them."""
    rows = Driver(conn).rows(_HELD, (container,))
    return [(f"{event_id}#outputEPCList", int(n)) for event_id, n in rows]
