"""The product system a footprint is computed on: products, what each used, what each emitted.

Built from what the events recorded (decision 010) and the model (activity data, allocation,
lanes, proxies):

- a *product* (node) is a lot (kg), the serialised items one transformation event made (a cell
  line's batch: per item), or a battery pack assembled by aggregation (per pack, holding the
  items the store's holdings count per making event);
- each product's *inputs* are what its making steps consumed (kg of lots, items), so the
  genealogy decides what reaches it;
- its *own burdens* are its share of activity data: a site's data for a period shared among the
  products the site made in that period by the site's allocation rule (ISO 14044 §4.3.4),
  data stated on an event shared among that event's products, a proxy factor for a purchased
  product without recorded upstream, a supplier's PACT footprint, and the transport legs its
  shipping events record (tonne-kilometres by mode).

Burdens of one allocation *group* (one activity set shared among products) are kept once with
each product's share, so a year of a pack plant's data shared among 100,000 packs is one group.
Nothing missing is counted as zero: a product with no footprint source, made at a site without
activity data for the period, a factor the set lacks or a leg of unknown mode is named on the
product, and everything downstream is incomplete; what no product takes (a site's data for a
period it made nothing in, legs not counted) is listed (:attr:`System.unused`). Locations count
as the sites they belong to, and legs find their ends, as :mod:`batterytrace.carbon.places` says.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from batterytrace.carbon.activity import DETOUR, Activity, Allocation, Mode, Model, Quality, Rule
from batterytrace.carbon.factors import Factor, FactorKind, FactorSet
from batterytrace.carbon.places import Places, Stated
from batterytrace.errors import AllocationError, FactorError
from batterytrace.masterdata import Site, SiteRole
from batterytrace.periods import Period, span
from batterytrace.trace.lineage import ELEMENT_NAMES, node_id
from batterytrace.units import convert

DIRECT = "direct"  # process emissions: kg CO2e as recorded, no factor
EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


class Stage(StrEnum):
    EXTRACTION = "extraction"
    REFINING = "refining"
    CATHODE = "pCAM/CAM"
    CELL = "cell"
    PACK = "pack"
    TRANSPORT = "transport"
    OTHER = "other"


STAGE_OF_ROLE = {
    SiteRole.MINE: Stage.EXTRACTION,
    SiteRole.CONCENTRATOR: Stage.EXTRACTION,
    SiteRole.REFINERY: Stage.REFINING,
    SiteRole.RECYCLER: Stage.REFINING,
    SiteRole.PRECURSOR: Stage.CATHODE,
    SiteRole.CATHODE: Stage.CATHODE,
    SiteRole.CELL: Stage.CELL,
    SiteRole.PACK: Stage.PACK,
    SiteRole.VEHICLE_ASSEMBLY: Stage.PACK,
    SiteRole.PORT: Stage.TRANSPORT,
    SiteRole.WAREHOUSE: Stage.TRANSPORT,
}
MATERIALS = (*ELEMENT_NAMES, "other")
EU = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)


class Unit(StrEnum):
    KG = "kg"
    ITEM = "item"


# --- what the events recorded ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Output:
    """A product a step made: a lot (``kg``) or ``items`` serialised items of one event."""

    node: str
    unit: Unit
    quantity: float
    cls: str  # class Digital Link, for allocation values and proxies
    elements: Mapping[str, float]  # kg of each known element in the quantity made


@dataclass(frozen=True, slots=True)
class Unweighed:
    """An input or output of a step stated in a quantity that the master data cannot turn into
    kg (litres without a density, a count without a mass per item), or not stated at all."""

    node: str
    output: bool
    why: str  # e.g. "stated as 10 LTR; the master data give no density for <class>"

    def __str__(self) -> str:
        return f"{'output' if self.output else 'input'} {self.node}: {self.why}"


@dataclass(frozen=True, slots=True)
class Made:
    """One step that made products (a transformation, a commissioning)."""

    event: str
    site: str
    time: datetime
    inputs: tuple[tuple[str, float], ...]  # (node, kg of a lot or number of items)
    outputs: tuple[Output, ...]
    activities: tuple[Activity, ...] = ()  # stated on the event (bt:activity)
    commissioned: bool = False  # no inputs by nature: proxies apply
    unweighed: tuple[Unweighed, ...] = ()  # each makes every output incomplete, named


@dataclass(frozen=True, slots=True)
class Leg:
    """A shipping event moving ``kg`` of a lot (or of a batch's items; None when neither the
    event nor the master data weigh what it moved: ``why``) from ``origin`` (its bizLocation)
    towards ``destination`` (its destination location); where either is missing,
    :class:`~batterytrace.carbon.places.Places` finds the ends from what else is ``stated``."""

    event: str
    lot: str
    kg: float | None
    origin: str | None
    destination: str | None
    time: datetime
    mode: str | None = None  # bt:transportMode on the event
    distance_km: float | None = None  # bt:distanceKm on the event
    stated: Stated = field(default_factory=Stated)
    why: str = ""  # why what it moved has no mass (the same for every leg of a class)
    seq: int = 0  # its event's place in the ledger (legs not counted are named in that order)


@dataclass(frozen=True, slots=True)
class Assembled:
    """A pack aggregated at a site: the items it holds, counted per making event's batch."""

    node: str
    cls: str
    site: str
    time: datetime
    contents: tuple[tuple[str, int], ...]  # (batch node, items)


# --- the system ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Key:
    """What a burden amount is: of which factor, at which life-cycle stage, for which material,
    and what kind of datum (an activity kind, transport, proxy, supplier)."""

    factor: str
    stage: Stage
    material: str
    kind: str


@dataclass(frozen=True, slots=True)
class Burden:
    """An amount (in its factor's unit) in an allocation group, with its provenance."""

    key: Key
    amount: float
    primary: float  # share of it from primary data, 0..1
    ratings: tuple[int, int, int]  # PACT DQR: technological, temporal, geographical (1 best..3)
    source: str  # the activity datum, proxy, leg or supplier document


@dataclass(slots=True)
class Group:
    """Burdens shared among products by one rule (a site's period, an event, a leg...)."""

    label: str
    rule: str
    allocated: bool = False  # shared by an allocation rule (a site's period, an event)
    burdens: list[Burden] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what its data lack (a factor...)
    unweighed: list[str] = field(default_factory=list)  # its products without a mass
    # an allocated group: the rule, each product's measure under it (node, kg of product or
    # of the rule's element), and the end of the period whose products share it (None: the
    # products of one event, all known when it is made)
    allocation: Allocation | None = None
    members: list[tuple[int, float]] = field(default_factory=list)
    end: datetime | None = None


@dataclass(slots=True)
class Node:
    id: str
    unit: Unit
    output: float  # units made
    cls: str
    site: str
    time: datetime
    material: str
    inputs: dict[int, float] = field(default_factory=dict)  # node index -> amount
    own: dict[int, float] = field(default_factory=dict)  # group index -> share
    missing: list[str] = field(default_factory=list)
    elements: dict[str, float] = field(default_factory=dict)
    origin: str = "made"  # or: proxy, supplier, cut-off (what stands for its own footprint)
    inputs_rule: str | None = None  # the rule a multi-output step shared its inputs by
    kept: bool = False  # a product of the kept state a capture's steps refer to (decision 034)


@dataclass(frozen=True, slots=True)
class Unused:
    """Burden no product takes, listed rather than dropped: a site's activity data for a period
    in which it made nothing, or a leg not counted."""

    kind: str  # "activity data" or "leg"
    what: str  # the site and period, or the legs
    start: datetime  # the period the data cover, [start, end); legs, an event: first, last time
    end: datetime
    reason: str
    data: tuple[str, ...] = ()  # the activity data, each where it was read

    def order(self) -> tuple[str, datetime, str, str, tuple[str, ...]]:
        """Listed by kind, then time, then as it reads."""
        return (self.kind, self.start, self.what, self.reason, self.data)

    def within(self, start: datetime, end: datetime) -> bool:
        """Whether it concerns [start, end): it overlaps it or begins in it (legs are listed by
        month, and periods are months or longer)."""
        return self.start < end and (self.end > start or self.start >= start)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "what": self.what,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reason": self.reason,
            "data": list(self.data),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Unused:
        return cls(
            data["kind"],
            data["what"],
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["end"]),
            data["reason"],
            tuple(data["data"]),
        )


@dataclass(slots=True)
class System:
    factors: FactorSet
    nodes: list[Node] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)
    keys: dict[Key, int] = field(default_factory=dict)
    suppliers: dict[str, str] = field(default_factory=dict)  # node -> supplier document id
    unused: list[Unused] = field(default_factory=list)  # burden no product takes
    uncounted: dict[Uncounting, Uncounted] = field(default_factory=dict)  # legs, as listed
    made: dict[str, set[int]] = field(default_factory=dict)  # site -> months it made products in
    sites: dict[str, Site] = field(default_factory=dict)
    mixes: list[tuple[str, frozenset[str]]] = field(default_factory=list)  # site, mix factors

    def site_name(self, site: str) -> str:
        known = self.sites.get(site)
        return known.name if known else site

    def role(self, site: str) -> SiteRole | None:
        known = self.sites.get(site)
        return known.role if known else None

    def wind_mix(self) -> frozenset[str]:
        """The factors of the electricity mixes with wind (a factor of kind wind) that
        refineries record."""
        return frozenset(
            f
            for site, mix in self.mixes
            if self.role(site) is SiteRole.REFINERY
            if any(self.kind(m) is FactorKind.WIND for m in mix)
            for f in mix
        )

    def kind(self, factor: str) -> FactorKind | None:
        """What a factor of the set is a factor of (None: not in the set)."""
        known = self.factors.factors.get(factor)
        return known.kind if known else None

    def node(self, node_id: str) -> int | None:
        return self.index.get(node_id)

    def missing(self, j: int) -> list[str]:
        """What product ``j`` itself lacks: its own data, and what its groups lack."""
        node = self.nodes[j]
        groups = [self.groups[g] for g in node.own]
        return node.missing + [m for group in groups for m in (*group.missing, *group.unweighed)]

    def not_counted(self, period: tuple[Period, int] | None = None) -> list[Unused]:
        """What no product takes; ``period``: only what overlaps it."""
        if period is None:
            return list(self.unused)
        return [u for u in self.unused if u.within(*span(*period))]

    def key(self, key: Key) -> int:
        found = self.keys.get(key)
        if found is None:
            found = self.keys[key] = len(self.keys)
        return found

    def value(self, factor: str) -> float:
        """kg CO2e per unit of a key's factor (1 for direct emissions and supplier PCFs, whose
        amounts are kg CO2e already)."""
        return (
            1.0
            if factor == DIRECT or factor.startswith("pact:")
            else self.factors.get(factor).value
        )


@dataclass(frozen=True, slots=True)
class SupplierPcf:
    """A supplier's footprint standing for a product class or lot (PACT import)."""

    id: str
    kg_co2e_per_kg: float
    primary_share: float  # 0..1
    company: str


# --- building it ------------------------------------------------------------------------------


def material_of(elements: Mapping[str, float]) -> str:
    """The material a product's own burdens count under: its one tracked element, or "other"
    (a mixed product: precursor, cathode, cell, pack)."""
    present = [e for e, kg in elements.items() if kg > 0]
    return present[0] if len(present) == 1 else "other"


def great_circle_km(a: Site, b: Site) -> float | None:
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))  # type: ignore[arg-type]
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


_Product = tuple[int, float, Mapping[str, float], str]  # node, quantity, element kg, event
_Ends = tuple[str | None, str, str | None]  # origin, on what basis, destination
LISTED_LEGS = 3  # legs named in one line of legs not counted; the rest are counted


def _leg_text(named: Sequence[tuple[int, str, str]], count: int, ends: _Ends) -> str:
    """``leg E (lot) from A (basis) to B``, or ``N legs E1 (lot1), ... from ...``; ``named``:
    (ledger place, event, lot) of the first legs."""
    origin, basis, destination = ends
    listed = ", ".join(f"{event} ({lot})" for _, event, lot in named[:LISTED_LEGS])
    more = f" and {count - LISTED_LEGS} more" if count > LISTED_LEGS else ""
    which = f"leg {listed}" if count == 1 else f"{count} legs {listed}{more}"
    return f"{which} from {origin} ({basis}) to {destination}"


# legs not counted are listed by reason, ends (origin, on what basis, destination) and month
Uncounting = tuple[str, str | None, str, str | None, int]


@dataclass(slots=True)
class Uncounted:
    """The legs not counted for one reason between the same ends in one month: how many, the
    first few (ledger place, event, lot) in ledger order, the first and last time."""

    count: int
    named: list[tuple[int, str, str]]
    first: datetime
    last: datetime

    def add(self, other: Uncounted) -> None:
        """``other``'s legs added (in ledger order, wherever they were recorded)."""
        self.count += other.count
        both = sorted(self.named + other.named, key=lambda named: named[0])  # stable: ties kept
        self.named = both[:LISTED_LEGS]
        self.first, self.last = min(self.first, other.first), max(self.last, other.last)

    def line(self, key: Uncounting) -> Unused:
        reason, origin, basis, destination, _ = key
        what = _leg_text(self.named, self.count, (origin, basis, destination))
        return Unused("leg", what, self.first, self.last, reason)


def _no_mass(leg: Leg) -> str:
    return f"no mass: {leg.why}" if leg.why else "its mass is not stated in kg"


class Builder:
    """Assembles a :class:`System` from recorded steps, legs and packs, and the model."""

    def __init__(
        self,
        model: Model,
        factors: FactorSet,
        sites: Mapping[str, Site],
        suppliers: Mapping[str, SupplierPcf] | None = None,
        parents: Mapping[str, str] | None = None,
    ) -> None:
        """``parents``: the location hierarchy the master data declare (child -> parent)."""
        self.model = model
        self.sites = {node_id(s.id): s for s in sites.values()}
        named = {a.site for a in model.activities} | set(model.allocation)
        self.places = Places(self.sites, parents or {}, frozenset(named.union(*model.lanes)))
        self.suppliers = dict(suppliers or {})
        self.system = System(factors, sites=self.sites)
        self.system.mixes = [
            (a.site, frozenset(f for f, _ in a.mix)) for a in model.activities if a.mix
        ]
        self._pending_inputs: list[tuple[int, str, float]] = []
        # (site) -> products made there: (node index, time, quantity, element kg, event)
        self._made: dict[str, list[tuple[int, datetime, float, Mapping[str, float], str]]] = (
            defaultdict(list)
        )
        self._event_activities: list[tuple[Made, list[tuple[int, Output]]]] = []
        self._legs: list[Leg] = []
        # legs not counted, by reason, ends and month
        self._unweighed: dict[str, str] = {}  # products made in a quantity without mass: why
        # (site) -> (time, why) of those products: their site's data cannot be shared by mass
        self._unweighed_at: dict[str, list[tuple[datetime, str]]] = defaultdict(list)

    # products ----------------------------------------------------------------------------

    def known(self, node: Node) -> None:
        """A product of the kept state that the steps and legs given use or move (decision
        034): found by them, figured apart."""
        self.system.index[node.id] = len(self.system.nodes)
        self.system.nodes.append(replace(node, kept=True))

    def referenced(self) -> set[str]:
        """What the steps and legs given use or move that none of them made."""
        named = {source for _, source, _ in self._pending_inputs}
        return (named | {leg.lot for leg in self._legs}) - self.system.index.keys()

    def _product(self, out: Output, site: str, time: datetime) -> int:
        s = self.system
        i = s.index.get(out.node)
        if i is None:
            i = s.index[out.node] = len(s.nodes)
            node = Node(out.node, out.unit, 0.0, out.cls, site, time, material_of(out.elements))
            s.nodes.append(node)
        node = s.nodes[i]
        node.output += out.quantity
        for e, kg in out.elements.items():
            node.elements[e] = node.elements.get(e, 0.0) + kg
        return i

    def step(self, made: Made) -> None:
        made = replace(made, site=self.places.site(made.site)) if made.site else made
        products = [(self._product(out, made.site, made.time), out) for out in made.outputs]
        made_here = []
        for u in made.unweighed:
            if u.output:
                self._unweighed[u.node] = u.why
                self._unweighed_at[made.site].append((made.time, str(u)))
        for (i, out), share in zip(products, self._input_shares(made, products), strict=True):
            if self._sourced(i, out, made):
                continue  # its footprint stands for its upstream too (cradle to gate)
            self.system.nodes[i].missing.extend(map(str, made.unweighed))
            for source, amount in made.inputs:
                self._pending_inputs.append((i, source, amount * share))
            self._made[made.site].append((i, made.time, out.quantity, out.elements, made.event))
            made_here.append((i, out))
        if made.activities and made_here:
            self._event_activities.append((made, made_here))
        elif made.activities:
            self.system.unused.append(
                Unused(
                    "activity data",
                    f"event {made.event} at {self.system.site_name(made.site)} ({made.site})",
                    made.time,
                    made.time,
                    "a supplier footprint or proxy stands for all its products"
                    if products
                    else "none of its products has a mass to share them by",
                    tuple(
                        f"{a.where}: {a.kind.value} {a.amount:g} {a.unit}" for a in made.activities
                    ),
                )
            )

    def _input_shares(self, made: Made, products: list[tuple[int, Output]]) -> list[float]:
        """Each output's share of the step's inputs: one output takes them all; several share
        them by the site's allocation rule, the one its own data follow (ISO 14044 §4.3.4.2:
        one rule per unit process), named on the products for ``--explain``."""
        if len(products) <= 1 or not made.inputs:
            return [1.0] * len(products)
        rule = self.model.allocation_of(made.site)
        shares = self._allocate(
            [(i, out.quantity, out.elements, made.event) for i, out in products],
            rule,
            f"event {made.event} (its inputs)",
        )
        for i, _ in shares:
            self.system.nodes[i].inputs_rule = rule.describe()
        return [share for _, share in shares]

    def _sourced(self, i: int, out: Output, made: Made) -> bool:
        """A supplier PCF or (for commissioned products) a proxy stands for the product's own
        footprint; it then takes no share of the site's activity data."""
        s = self.system
        supplier = self.suppliers.get(out.node) or self.suppliers.get(out.cls)
        stage = self._stage(made.site)
        if supplier is not None:
            kg = out.quantity if out.unit is Unit.KG else None
            if kg is None:
                s.nodes[i].missing.append(
                    f"supplier footprint {supplier.id} is per kg; {out.node} is counted in items"
                )
                return True
            group = self._group(
                f"supplier footprint {supplier.id} ({supplier.company})", "per kg of product", i
            )
            key = Key(f"pact:{supplier.id}", stage, s.nodes[i].material, "supplier")
            group.burdens.append(
                Burden(
                    key,
                    supplier.kg_co2e_per_kg * kg,
                    supplier.primary_share,
                    (1 if supplier.primary_share > 0.5 else 2, 1, 1),
                    f"PACT footprint {supplier.id} from {supplier.company}: "
                    f"{supplier.kg_co2e_per_kg:g} kg CO2e/kg",
                )
            )
            s.nodes[i].origin = "supplier"
            s.suppliers[out.node] = supplier.id
            return True
        if not made.commissioned:
            return False
        proxy = self.model.proxies.get(out.cls)
        if proxy is None:
            return False
        if proxy.factor is None:
            s.nodes[i].origin = "cut-off"
            return True  # no burden, complete by rule
        group = self._group(f"proxy {proxy.factor} for {out.cls}", "per kg of product", i)
        self._burden(
            group,
            "proxy",
            proxy.factor,
            out.quantity,
            "kg" if out.unit is Unit.KG else "item",
            stage,
            s.nodes[i].material,
            Quality.ESTIMATED,
            made.site,
            made.time,
            f"proxy for {out.node}: {out.quantity:g} {out.unit.value}",
        )
        s.nodes[i].origin = "proxy"
        return True

    def assembled(self, pack: Assembled) -> None:
        pack = replace(pack, site=self.places.site(pack.site)) if pack.site else pack
        elements: dict[str, float] = {}
        out = Output(pack.node, Unit.ITEM, 1.0, pack.cls, elements)
        i = self._product(out, pack.site, pack.time)
        for batch, items in pack.contents:
            self._pending_inputs.append((i, batch, float(items)))
        self._made[pack.site].append((i, pack.time, 1.0, elements, pack.node))

    def leg(self, leg: Leg) -> None:
        """A transport leg: its tonne-kilometres are burdens of the lot moved (all of them on
        the whole lot, decision 010), counted once every step is known."""
        self._legs.append(leg)

    def _not_counted(self, leg: Leg, ends: _Ends, reason: str, node: Node | None = None) -> None:
        """A leg not counted: listed (with the others of its ends, reason and month), and
        when its lot is a product, named as missing on it."""
        one = Uncounted(1, [(leg.seq, leg.event, leg.lot)], leg.time, leg.time)
        key = (reason, *ends, Period.MONTH.number(leg.time))
        if key in self.system.uncounted:
            self.system.uncounted[key].add(one)
        else:
            self.system.uncounted[key] = one
        if node is not None:
            node.missing.append(f"{_leg_text(one.named, 1, ends)}: {reason}")

    def _ends(self, leg: Leg, made: str | None) -> _Ends:
        """Where a leg starts, on what basis, and where it ends."""
        origin, basis = self.places.origin(leg.origin, leg.stated, made) or (None, "unknown")
        return origin, basis, self.places.destination(leg.destination, leg.stated)

    def _leg(self, i: int, leg: Leg) -> None:
        s = self.system
        node = s.nodes[i]
        where = f"leg {leg.event} ({leg.lot})"
        ends = origin, basis, destination = self._ends(leg, node.site)
        assert origin is not None  # where the lot was made closes the order
        if leg.kg is None:
            self._not_counted(leg, ends, _no_mass(leg), node)
            return
        lane = self.model.lane(origin, destination) if origin and destination else None
        mode_name = leg.mode or (lane.mode.value if lane else None)
        if mode_name is None:
            self._not_counted(
                leg, ends, "transport mode unknown (no bt:transportMode, no lane)", node
            )
            return
        try:
            mode = Mode(mode_name)
        except ValueError:
            self._not_counted(leg, ends, f"transport mode {mode_name!r} unknown", node)
            return
        distance = (
            leg.distance_km if leg.distance_km is not None else (lane.distance_km if lane else None)
        )
        stated = distance is not None
        if distance is None:
            a, b = self.sites.get(origin), self.sites.get(destination or "")
            crow = great_circle_km(a, b) if a and b else None
            if crow is None:
                self._not_counted(
                    leg,
                    ends,
                    "no distance (no bt:distanceKm, lane distance or site coordinates)",
                    node,
                )
                return
            distance = crow * DETOUR[mode]
        group = self._group(where, "on the lot moved", i)
        tkm = leg.kg / 1000 * distance
        self._burden(
            group,
            "transport",
            mode.factor,
            tkm,
            "tkm",
            Stage.TRANSPORT,
            node.material,
            Quality.CALCULATED if stated else Quality.ESTIMATED,
            origin,
            leg.time,
            f"{where}: {leg.kg:g} kg x {distance:,.0f} km {mode.value} from {origin} ({basis})"
            + ("" if stated else f" (great circle x {DETOUR[mode]})"),
        )

    # burdens -----------------------------------------------------------------------------

    def _group(self, label: str, rule: str, owner: int | None = None) -> Group:
        """A new group; ``owner``: the one product that takes all of it."""
        group = Group(label, rule)
        self.system.groups.append(group)
        if owner is not None:
            self.system.nodes[owner].own[len(self.system.groups) - 1] = 1.0
        return group

    def _stage(self, site: str) -> Stage:
        known = self.sites.get(site)
        return STAGE_OF_ROLE.get(known.role, Stage.OTHER) if known else Stage.OTHER

    def _ratings(
        self, factor: Factor, primary: bool, site: str, when: datetime
    ) -> tuple[int, int, int]:
        """PACT data quality ratings (1 good, 2 fair, 3 poor): technological (primary site
        data or not), temporal (factor year within 1 or 3 years), geographical (factor for the
        site's country, its region, or global)."""
        gap = abs(when.year - factor.year)
        country = self.sites[site].country if site in self.sites else None
        geo = (
            1
            if factor.geography == country
            else 2
            if factor.geography in ("EU", "RER") and country in EU
            else 3
        )
        if factor.geography == "GLO" and factor.kind is FactorKind.FREIGHT:
            geo = 2  # freight intensities are global by nature (GLEC)
        return (1 if primary else 2, 1 if gap <= 1 else 2 if gap <= 3 else 3, geo)

    def _burden(
        self,
        group: Group,
        kind: str,
        factor_id: str | None,
        amount: float,
        unit: str,
        stage: Stage,
        material: str,
        quality: Quality,
        site: str,
        when: datetime,
        source: str,
    ) -> None:
        s = self.system
        if factor_id is None:  # process emissions, kg CO2e
            kg = convert(amount, unit, "kgCO2e")
            group.burdens.append(
                Burden(
                    Key(DIRECT, stage, material, kind),
                    kg,
                    float(quality.primary),
                    (1, 1, 1),
                    source,
                )
            )
            return
        if factor_id not in s.factors:
            group.missing.append(f"factor {factor_id!r} is not in {s.factors.label} ({source})")
            return
        factor = s.factors.get(factor_id)
        try:
            converted = factor.amount(amount, unit)
        except FactorError as err:
            raise FactorError(f"{source}: {err}") from None
        ratings = self._ratings(factor, quality.primary, site, when)
        group.burdens.append(
            Burden(
                Key(factor.id, stage, material, kind),
                converted,
                float(quality.primary),
                ratings,
                source,
            )
        )

    def _activity_group(
        self,
        label: str,
        rule: str,
        data: Iterable[Activity],
        stage: Stage,
        material: str,
        when: datetime,
    ) -> Group:
        group = self._group(label, rule)
        group.allocated = True
        for a in data:
            for factor, share in a.factor_shares():
                self._burden(
                    group,
                    a.kind.value,
                    factor,
                    a.amount * share,
                    a.unit,
                    stage,
                    material,
                    a.quality,
                    self.places.site(a.site),
                    when,
                    f"{a.where}: {a.kind.value} {a.amount:g} {a.unit}"
                    + (f" x {share:g} {factor}" if a.mix else f" ({factor or 'direct'})"),
                )
        return group

    def _allocate(
        self,
        products: list[_Product],
        rule: Allocation,
        where: str,
    ) -> list[tuple[int, float]]:
        """Each product's share of a site's period (or an event's) data under the rule."""
        s = self.system
        units = {s.nodes[i].unit for i, *_ in products}
        classes = {s.nodes[i].cls for i, *_ in products}
        if rule.rule is Rule.MASS:
            if Unit.ITEM in units and (len(units) > 1 or len(classes) > 1):
                raise AllocationError(
                    f"{where}: mass allocation among items of {len(classes)} classes"
                    + (" and lots" if len(units) > 1 else "")
                    + " needs their masses; choose economic or shares for this site"
                )
            basis = [q for _, q, _, _ in products]
        elif rule.rule is Rule.ELEMENT:
            assert rule.element is not None
            basis = [els.get(rule.element, math.nan) for _, _, els, _ in products]
            unknown = [
                s.nodes[i].id for (i, *_), b in zip(products, basis, strict=True) if math.isnan(b)
            ]
            if unknown:
                raise AllocationError(
                    f"{where}: {rule.element} mass of {unknown[0]} is unknown; "
                    "element allocation needs it"
                )
        else:
            missing = sorted(classes - set(rule.values))
            if missing:
                raise AllocationError(
                    f"{where}: {rule.rule.value} allocation has no value "
                    f"for product class {missing[0]}"
                )
            if rule.rule is Rule.ECONOMIC:
                basis = [rule.values[s.nodes[i].cls] * q for i, q, _, _ in products]
            else:
                by_class: dict[str, float] = defaultdict(float)
                for i, q, _, _ in products:
                    by_class[s.nodes[i].cls] += q
                basis = [
                    rule.values[s.nodes[i].cls] * q / by_class[s.nodes[i].cls]
                    for i, q, _, _ in products
                ]
        total = sum(basis)
        if total <= 0:
            raise AllocationError(f"{where}: the products' {rule.describe()} sums to zero")
        return [(i, b / total) for (i, *_), b in zip(products, basis, strict=True)]

    # finishing -----------------------------------------------------------------------------

    def build(self, every_period: bool = True) -> System:
        """The system; ``every_period`` False: of steps a capture added to a kept state, whose
        site periods without a product among them are kept as they were (decision 034)."""
        s = self.system
        for i, source, amount in self._pending_inputs:
            j = s.index.get(source)
            if j is None:
                why = self._unweighed.get(source)
                s.nodes[i].missing.append(
                    f"input {source}: made without a mass ({why})"
                    if why
                    else f"input {source}: no recorded origin or footprint source"
                )
                continue
            s.nodes[i].inputs[j] = s.nodes[i].inputs.get(j, 0.0) + amount
        self._pending_inputs = []  # taken: not held while the rest is built
        for leg in self._legs:
            lot = s.index.get(leg.lot)
            if lot is None:
                self._not_counted(
                    leg,
                    self._ends(leg, None),
                    "what it moves is no lot, item batch or pack of the product system"
                    if leg.kg is not None
                    else _no_mass(leg),
                )
            else:
                self._leg(lot, leg)
        self._legs = []
        s.unused.extend(legs.line(key) for key, legs in s.uncounted.items())
        self._events()
        self._site_periods(every_period)
        s.unused.sort(key=Unused.order)
        return s

    def _events(self) -> None:
        s = self.system
        for made, outputs in self._event_activities:
            products = [(i, out.quantity, out.elements, made.event) for i, out in outputs]
            rule = self.model.allocation_of(made.site)
            shares = self._allocate(products, rule, f"event {made.event}")
            group = self._activity_group(
                f"event {made.event}",
                rule.describe(),
                made.activities,
                self._stage(made.site),
                "other",
                made.time,
            )
            self._material_split(group, [s.nodes[i].material for i, _ in outputs])
            self._members(group, rule, products)
            for i, share in shares:
                s.nodes[i].own[len(s.groups) - 1] = share

    def _members(
        self, group: Group, rule: Allocation, products: list[_Product], end: datetime | None = None
    ) -> None:
        """Note on an allocated group its rule, its products' measures under it and its end."""
        group.allocation, group.end = rule, end
        element = rule.element if rule.rule is Rule.ELEMENT else None
        group.members.extend(
            (i, q if element is None else els[element]) for i, q, els, _ in products
        )

    @staticmethod
    def _material_split(group: Group, materials: list[str]) -> None:
        """Burdens of a group count under its products' material when they share one."""
        if len(set(materials)) == 1 and materials[0] != "other":
            group.burdens[:] = [
                Burden(
                    Key(b.key.factor, b.key.stage, materials[0], b.key.kind),
                    b.amount,
                    b.primary,
                    b.ratings,
                    b.source,
                )
                for b in group.burdens
            ]

    def data_by_span(self) -> dict[tuple[str, Period, int], list[Activity]]:
        """The model's site data by site and period (length, number)."""
        by_span: dict[tuple[str, Period, int], list[Activity]] = defaultdict(list)
        for a in self.model.activities:
            length, number = a.span()
            by_span[(a.site, length, number)].append(a)
        return by_span

    @staticmethod
    def span_label(site: str, data: list[Activity]) -> str:
        """The label of a site's data for a period (its group, its pool)."""
        return f"{site} {data[0].period}"

    def span_unused(self, site: str, length: Period, number: int, data: list[Activity]) -> Unused:
        """A site's data for a period no product takes, as listed."""
        return Unused(
            "activity data",
            f"{self.system.site_name(site)} ({site}) {data[0].period}",
            *span(length, number),
            "no product made there then takes them",
            tuple(f"{a.where}: {a.kind.value} {a.amount:g} {a.unit}" for a in data),
        )

    def span_group(self, site: str, length: Period, number: int, data: list[Activity]) -> int:
        """The group of a site's data for a period, without its products (a new group)."""
        rule = self.model.allocation_of(site)
        start, end = span(length, number)
        label = self.span_label(site, data)
        group = self._activity_group(
            label, rule.describe(), data, self._stage(site), "other", start
        )
        group.allocation, group.end = rule, end
        return len(self.system.groups) - 1

    def _site_periods(self, every_period: bool) -> None:
        s = self.system
        by_span = self.data_by_span()
        # the products of each site by period, for the period lengths the data use
        made: dict[tuple[str, Period], dict[int, list[_Product]]] = {}
        for site, length in {(site, length) for site, length, _ in by_span}:
            periods = made[(site, length)] = defaultdict(list)
            for i, when, q, els, ev in self._made.get(site, ()):
                periods[length.number(when)].append((i, q, els, ev))
        for site, listed in self._made.items():
            if site:  # a product made nowhere stated shares no site's data
                s.made.setdefault(site, set()).update(
                    Period.MONTH.number(when) for _, when, *_ in listed
                )
        covered: set[int] = set()
        for (site, length, number), data in sorted(
            by_span.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2])
        ):
            products = made[(site, length)].get(number, [])
            if not products:
                if every_period:
                    s.unused.append(self.span_unused(site, length, number, data))
                continue
            label = self.span_label(site, data)
            rule = self.model.allocation_of(site)
            shares = self._allocate(products, rule, label)
            g = self.span_group(site, length, number, data)
            group = s.groups[g]
            self._material_split(group, [s.nodes[i].material for i, *_ in products])
            self._members(group, rule, products, group.end)
            unweighed = self._unweighed_at.get(site, ())  # products to share with, no mass
            group.unweighed.extend(why for when, why in unweighed if length.number(when) == number)
            for i, share in shares:
                s.nodes[i].own[g] = s.nodes[i].own.get(g, 0.0) + share
                covered.add(i)
        # no site data, no completeness: other burden (a leg) does not stand in for them
        lengths: dict[str, set[Period]] = defaultdict(set)
        for site, length, _ in by_span:
            lengths[site].add(length)
        for site, listed in self._made.items():
            for i, when, *_ in listed:
                if i in covered or any(s.groups[g].allocated for g in s.nodes[i].own):
                    continue
                labels = " or ".join(
                    sorted(p.label(p.number(when)) for p in lengths[site] or {Period.YEAR})
                )
                s.nodes[i].missing.append(
                    f"no activity data for site {s.site_name(site)} ({site}) in {labels}"
                    f" ({s.nodes[i].id} made {when:%Y-%m-%d})"
                )
