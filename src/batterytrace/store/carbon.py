"""Carbon footprint in the store: the imported model, factor sets, supplier footprints, and the
recorded steps, legs and packs a product system is built from.

The reads go through the derived tables, never the events' content (a cell line's event lists
500 cells): ``event_figure`` gives every event with quantities (its flows and element figures),
``holding`` the items each transformation made (level 0) and what each pack holds, and
``event_key`` the destinations of shipments, the parents of aggregations and the events that
state extension fields (``bt:activity``, ``bt:transportMode``, ``bt:distanceKm``), whose content
alone is parsed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select

from batterytrace.carbon.activity import Model, event_activities, from_json
from batterytrace.carbon.factors import FactorSet, read_csv, write_csv
from batterytrace.carbon.system import Assembled, Leg, Made, Output, Unit
from batterytrace.errors import ImportConflict
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
       e.event_time, e.transformation_id
FROM event_figure f {join} event e ON e.seq = f.seq
WHERE e.event_type = 'TransformationEvent'
   OR (e.event_type = 'ObjectEvent' AND (e.action = 'ADD' OR e.biz_step = 'shipping'))
ORDER BY f.seq
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
_DESTINATIONS = "SELECT seq, value FROM event_key WHERE role = 'destination:location'"
_PACK_CONTENTS = """
SELECT container, source, items FROM holding
WHERE container > {mark} AND container < {mark} AND level > 0
"""
_PACKED = """
SELECT k.value, e.biz_location, e.event_time
FROM event_key k {join} event e ON e.seq = k.seq
WHERE k.role = 'parentID' AND k.value > {mark} AND k.value < {mark}
  AND e.event_type = 'AggregationEvent' AND (e.action IS NULL OR e.action <> 'DELETE')
ORDER BY e.event_time, e.seq
"""


# --- what users import ------------------------------------------------------------------------


def add_model(conn: Connection, model: Model, source: str, owner: str | None = None) -> int:
    """Keep what an import changed; its id."""
    return int(
        conn.execute(
            insert(M)
            .values(
                source=source,
                imported=int(datetime.now(UTC).timestamp() * 1000),
                content=orjson.dumps(model.to_json()).decode(),
                owner=owner,
            )
            .returning(M.c.id)
        ).scalar_one()
    )


def model(conn: Connection) -> Model:
    """Every import merged in import order: a later one's data replace the earlier data of the
    same site, period, kind and factor, its settings the earlier ones of the same lane, site or
    product (each import keeps only what it changed, so removing it restores what it replaced)."""
    merged = Model()
    for source, content in conn.execute(select(M.c.source, M.c.content).order_by(M.c.id)):
        merged = merged.merged(from_json(orjson.loads(content), source))
    return merged


def imports(conn: Connection) -> list[tuple[int, str, datetime, Model]]:
    """(id, source, when, what it changed) of every import kept, in import order."""
    rows = conn.execute(select(M.c.id, M.c.source, M.c.imported, M.c.content).order_by(M.c.id))
    return [
        (id_, source, _when(ms), from_json(orjson.loads(content), source))
        for id_, source, ms, content in rows
    ]


def remove_model(conn: Connection, id: int) -> bool:
    """Forget one import; whether it was there."""
    return bool(conn.execute(delete(M).where(M.c.id == id)).rowcount)


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
    """The sets users added, by label (``name@version``)."""
    sets = (
        read_csv(content, name, version)
        for name, version, content in conn.execute(select(F.c.name, F.c.version, F.c.content))
    )
    return {s.label: s for s in sets}


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


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


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


def recorded(
    conn: Connection, pack_classes: tuple[str, ...]
) -> tuple[list[Made], list[Leg], list[Assembled]]:
    """The steps that made lots and items, the shipping legs, and the packs of these classes."""
    driver = Driver(conn)
    stated = {name: _stated(driver, name) for name in EXTENSIONS}
    items: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for source, cls, n in driver.rows(_ITEMS_MADE, ()):
        items[source].append((cls, int(n)))
    destinations = dict(driver.rows(_DESTINATIONS, ()))
    steps: dict[str, Made] = {}
    legs: list[Leg] = []
    batches: dict[int, str] = {}
    for seq, figures, event_id, kind, biz_step, site, ms, tid in driver.rows(_FIGURED, ()):
        flows = orjson.loads(figures)
        facts = flows.get("facts", {})
        when = _when(ms)
        if kind == "ObjectEvent" and biz_step == "shipping":
            legs.extend(
                Leg(
                    event_id,
                    lot,
                    kg,
                    site,
                    destinations.get(seq),
                    when,
                    stated["mode"].get(seq),
                    stated["distance"].get(seq),
                )
                for lot, kg in flows.get("quantityList", ())
                if kg is not None
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
    packs = list(_packs(driver, pack_classes, batches))
    return list(steps.values()), legs, packs


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
        for pack, site, ms in driver.rows(_PACKED, (low, high)):
            if pack not in seen:
                seen.add(pack)
                yield Assembled(pack, cls, site, _when(ms), tuple(contents.get(pack, ())))


def batch_of(conn: Connection, item: str) -> str | None:
    """The batch node of the transformation that made a serialised item, if one did."""
    driver = Driver(conn)
    found = driver.rows(_MADE_BY, (item,))
    return f"{found[0][0]}#outputEPCList" if found else None


def held(conn: Connection, container: str) -> list[tuple[str, int]]:
    """The items a container holds, per batch node of the event that made them."""
    rows = Driver(conn).rows(_HELD, (container,))
    return [(f"{event_id}#outputEPCList", int(n)) for event_id, n in rows]
