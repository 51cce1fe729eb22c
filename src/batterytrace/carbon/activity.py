"""Activity data and the modelling choices a footprint is computed with (decision 010).

*Activity data* are what a site consumed or emitted: electricity (kWh, one source or a mix with
shares), fuels, reagents, purchased materials the events do not trace, direct process emissions
(kg CO2e), per site and period (a year, a
quarter, a month) or per event (``bt:activity`` on the EPCIS event that made the product).
Each datum names the emission factor it is multiplied by and how it was obtained
(``measured`` and ``calculated`` data are primary data, ``estimated`` are not).

The *model* around them: how each site allocates its emissions among its products (ISO 14044
§4.3.4: ``mass`` by default; ``element:Co``, ``economic`` with prices, or fixed ``shares`` per
product class), transport lanes (mode and distance between two sites), proxy footprints for
products a site commissions without recorded upstream (a purchased intermediate: its
cradle-to-gate factor per kg), and cut-off products (end-of-life material entering a recycler
carries no burden from its first life).

Read from JSON (every section) or CSV (activities only, one row per datum); every problem is an
:class:`ActivityError` or :class:`AllocationError` naming where it is, the field and the rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from batterytrace.errors import ActivityError, AllocationError, BatteryTraceError
from batterytrace.periods import Period, parse_period
from batterytrace.trace.lineage import ELEMENT_NAMES, node_id
from batterytrace.units import dimension

ACTIVITY_FIELDS = ("site", "period", "kind", "factor", "amount", "unit", "mix", "quality", "note")
SHARE_TOLERANCE = 1e-6  # shares (a mix, allocation shares) must sum to 1 within this
K = TypeVar("K")
V = TypeVar("V")


class Kind(StrEnum):
    ELECTRICITY = "electricity"
    FUEL = "fuel"
    REAGENT = "reagent"
    PROCESS = "process"  # direct emissions, in kg CO2e
    MATERIAL = "material"  # purchased inputs the events do not trace (anode, electrolyte...)


class Quality(StrEnum):
    MEASURED = "measured"
    CALCULATED = "calculated"
    ESTIMATED = "estimated"

    @property
    def primary(self) -> bool:
        """Primary data (PACT: company-specific, measured or calculated from measurements)."""
        return self is not Quality.ESTIMATED


class Mode(StrEnum):
    SEA = "sea"
    ROAD = "road"
    RAIL = "rail"
    INLAND_WATERWAY = "inland-waterway"
    AIR = "air"

    @property
    def factor(self) -> str:
        """The factor id of the shipped set for this mode (GLEC-style, per t·km, WTW)."""
        return {Mode.SEA: "freight-sea-container", Mode.ROAD: "freight-road-truck"}.get(
            self, f"freight-{self.value}"
        )


# Great-circle distance times this when a lane gives no distance (project assumption, decision
# 010: roads and rails are not straight, ships follow sea lanes; GLEC/ISO 14083 prefer actual
# or shortest feasible distances, which a lane's distanceKm states).
DETOUR = {Mode.SEA: 1.3, Mode.ROAD: 1.25, Mode.RAIL: 1.25, Mode.INLAND_WATERWAY: 1.3, Mode.AIR: 1.1}


@dataclass(frozen=True, slots=True)
class Activity:
    """One activity datum: ``amount`` ``unit`` of something at a site, multiplied by a factor
    (or by each factor of an electricity ``mix`` for its share; process emissions are kg CO2e
    themselves)."""

    site: str  # Digital Link of the site
    period: str | None  # "2025", "2025-Q1", "2025-03"; None: the datum belongs to ``event``
    kind: Kind
    amount: float
    unit: str
    factor: str | None = None
    mix: tuple[tuple[str, float], ...] = ()
    quality: Quality = Quality.MEASURED
    event: str | None = None
    where: str = ""  # where the datum was read (file line, event)

    def factor_shares(self) -> tuple[tuple[str | None, float], ...]:
        """(factor id, share of the amount); process emissions: (None, 1)."""
        if self.mix:
            return self.mix
        return ((self.factor, 1.0),)

    def span(self) -> tuple[Period, int]:
        assert self.period is not None
        return period_of(self.period, self.where)

    @property
    def key(self) -> tuple[str, str | None, Kind, str]:
        """What one datum is about: site, period, kind and factor (a mix: its factors; process
        emissions: none). An import states the data of each key it names."""
        factor = "+".join(sorted(f for f, _ in self.mix)) if self.mix else self.factor or "-"
        return self.site, self.period, self.kind, factor

    def describe_key(self) -> str:
        site, period, kind, factor = self.key
        return f"site {site}, period {period}, kind {kind.value}, factor {factor}"


@dataclass(frozen=True, slots=True)
class Lane:
    origin: str
    destination: str
    mode: Mode
    distance_km: float | None = None


class Rule(StrEnum):
    MASS = "mass"
    ELEMENT = "element"
    ECONOMIC = "economic"
    SHARES = "shares"


@dataclass(frozen=True, slots=True)
class Allocation:
    """How a site shares its emissions among the products it made in a period."""

    rule: Rule = Rule.MASS
    element: str | None = None  # rule element: the element whose mass decides
    values: Mapping[str, float] = field(default_factory=dict)  # class -> price or share

    def describe(self) -> str:
        if self.rule is Rule.ELEMENT:
            return f"element mass ({self.element})"
        if self.rule is Rule.ECONOMIC:
            return "economic (prices per product class)"
        if self.rule is Rule.SHARES:
            return "fixed shares per product class"
        return "mass"


DEFAULT_ALLOCATION = Allocation()


@dataclass(frozen=True, slots=True)
class Proxy:
    """A product class commissioned without recorded upstream, and the factor (per kg) that
    stands for its cradle-to-gate footprint; ``factor`` None: cut off (no burden)."""

    product: str  # class Digital Link (…/01/<GTIN>)
    factor: str | None


@dataclass(slots=True)
class Model:
    """Everything a footprint is computed from, besides the events and the factors."""

    activities: list[Activity] = field(default_factory=list)
    lanes: dict[tuple[str, str], Lane] = field(default_factory=dict)
    allocation: dict[str, Allocation] = field(default_factory=dict)  # site -> rule
    proxies: dict[str, Proxy] = field(default_factory=dict)  # class -> proxy

    def allocation_of(self, site: str) -> Allocation:
        return self.allocation.get(site, DEFAULT_ALLOCATION)

    def lane(self, origin: str, destination: str) -> Lane | None:
        return self.lanes.get((origin, destination))

    def merged(self, other: Model) -> Model:
        """This model with ``other``'s data and settings over these: ``other``'s activities
        replace these of the same key (site, period, kind, factor), the others add up."""
        stated = {a.key for a in other.activities}
        return Model(
            [*(a for a in self.activities if a.key not in stated), *other.activities],
            {**self.lanes, **other.lanes},
            {**self.allocation, **other.allocation},
            {**self.proxies, **other.proxies},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "activities": [_activity_json(a) for a in self.activities if a.event is None],
            "lanes": [
                {"from": lane.origin, "to": lane.destination, "mode": lane.mode.value}
                | ({} if lane.distance_km is None else {"distanceKm": lane.distance_km})
                for lane in self.lanes.values()
            ],
            "allocation": [
                {"site": site, "rule": a.rule.value}
                | ({"element": a.element} if a.element else {})
                | ({"values": dict(a.values)} if a.values else {})
                for site, a in self.allocation.items()
            ],
            "proxies": [{"product": p.product, "factor": p.factor} for p in self.proxies.values()],
        }


@dataclass(slots=True)
class Change:
    """What importing a model changes over the stored one (decision 016): ``kept`` holds what
    is new or differs (what the import writes), ``replaced`` names each entry that differs from
    a stored one (the data of one key as one), ``added`` and ``unchanged`` count activity data
    and settings new and stored already as given."""

    kept: Model = field(default_factory=Model)
    added: int = 0
    replaced: list[str] = field(default_factory=list)
    unchanged: int = 0


def change(stored: Model, incoming: Model) -> Change:
    """Compare an import with the stored model, entry by entry: the activity data of one key
    (site, period, kind, factor) together, each lane, site's allocation and proxy alone."""
    out = Change()
    groups = _by_key(incoming.activities)
    before = _by_key(stored.activities)
    for key, group in groups.items():
        old = before.get(key)
        if old is not None and _contents(old) == _contents(group):
            out.unchanged += len(group)
            continue
        out.kept.activities.extend(group)
        if old is None:
            out.added += len(group)
        else:
            out.replaced.append(f"a datum for {group[0].describe_key()} ({group[0].where})")
    _settings(out, incoming.lanes, stored.lanes, out.kept.lanes, "lane {0[0]} -> {0[1]}")
    _settings(out, incoming.allocation, stored.allocation, out.kept.allocation,
              "allocation of site {0}")  # fmt: skip
    _settings(out, incoming.proxies, stored.proxies, out.kept.proxies, "proxy for {0}")
    return out


def _settings(
    out: Change, new: Mapping[K, V], old: Mapping[K, V], kept: dict[K, V], label: str
) -> None:
    """Each setting of an import: stored already as given, new, or replacing another."""
    for key, value in new.items():
        before = old.get(key)
        if before == value:
            out.unchanged += 1
            continue
        kept[key] = value
        if before is None:
            out.added += 1
        else:
            out.replaced.append(label.format(key))


def _by_key(
    activities: Iterable[Activity],
) -> dict[tuple[str, str | None, Kind, str], list[Activity]]:
    groups: dict[tuple[str, str | None, Kind, str], list[Activity]] = {}
    for a in activities:
        groups.setdefault(a.key, []).append(a)
    return groups


def _contents(group: list[Activity]) -> list[tuple[Any, ...]]:
    """What the data of one key state, whatever their order and where they were read."""
    return sorted((a.amount, a.unit, tuple(sorted(a.mix)), a.quality.value) for a in group)


def _activity_json(a: Activity) -> dict[str, Any]:
    out: dict[str, Any] = {
        "site": a.site,
        "period": a.period,
        "kind": a.kind.value,
        "amount": a.amount,
        "unit": a.unit,
        "quality": a.quality.value,
    }
    if a.factor:
        out["factor"] = a.factor
    if a.mix:
        out["mix"] = {f: s for f, s in a.mix}
    return out


def period_of(label: str, where: str = "") -> tuple[Period, int]:
    """The length and number of a period label (``2025``, ``2025-Q1``, ``2025-03``)."""
    try:
        return parse_period(label)
    except ValueError as err:
        raise ActivityError(f"{where}period: {err}") from None


def _number(value: object, name: str, where: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ActivityError(f"{where}{name}: {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise ActivityError(f"{where}{name}: {value!r} must be a finite number ≥ 0")
    return number


def _site(value: object, name: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ActivityError(
            f"{where}{name}: a site identifier (SGLN or GLN Digital Link) is required"
        )
    try:
        return node_id(value)
    except BatteryTraceError as err:
        raise ActivityError(f"{where}{name}: {err}") from None


def _mix(value: object, where: str) -> tuple[tuple[str, float], ...]:
    """``{"electricity-wind-onshore": 0.8, "electricity-grid-ma": 0.2}`` or the CSV form
    ``electricity-wind-onshore:0.8;electricity-grid-ma:0.2``."""
    if isinstance(value, str):
        pairs: list[tuple[str, object]] = []
        for part in value.split(";"):
            factor, colon, share = part.strip().rpartition(":")
            if not colon or not factor:
                raise ActivityError(f"{where}mix: {part!r} is not factor:share")
            pairs.append((factor, share))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise ActivityError(f"{where}mix: must map factor ids to shares")
    mix = tuple((str(f), _number(s, f"mix[{f}]", where)) for f, s in pairs)
    total = sum(s for _, s in mix)
    if abs(total - 1) > SHARE_TOLERANCE:
        raise ActivityError(f"{where}mix: shares sum to {total:g}, not 1")
    return mix


def activity(
    row: Mapping[str, Any], where: str, site: str | None = None, event: str | None = None
) -> Activity:
    """One checked activity datum from a JSON object or CSV row; ``site``/``event`` given for
    data stated on an event (``bt:activity``), which have no site or period of their own."""

    def get(name: str) -> Any:
        value = row.get(name)
        return None if value in ("", None) else value

    try:
        kind = Kind(str(get("kind")))
    except ValueError:
        raise ActivityError(
            f"{where}kind: {get('kind')!r} is not one of {', '.join(k.value for k in Kind)}"
        ) from None
    amount = _number(get("amount"), "amount", where)
    unit = get("unit")
    if not isinstance(unit, str):
        raise ActivityError(f"{where}unit: required")
    try:
        dim = dimension(unit)
    except BatteryTraceError as err:
        raise ActivityError(f"{where}unit: {err}") from None
    if kind is Kind.ELECTRICITY and dim != "energy":
        raise ActivityError(f"{where}unit: electricity is energy (kWh, MJ...), not {unit}")
    if (kind is Kind.PROCESS) != (dim == "emissions"):
        raise ActivityError(
            f"{where}unit: {unit} — process emissions are in kgCO2e/tCO2e, and only they"
        )
    mix = _mix(get("mix"), where) if get("mix") is not None else ()
    factor = get("factor")
    if kind is Kind.PROCESS:
        if factor or mix:
            raise ActivityError(f"{where}factor: process emissions take no factor")
    elif bool(factor) == bool(mix):
        raise ActivityError(f"{where}factor: give a factor id or (electricity) a mix, one of them")
    if mix and kind is not Kind.ELECTRICITY:
        raise ActivityError(f"{where}mix: only electricity comes as a mix")
    try:
        quality = Quality(get("quality") or Quality.MEASURED)
    except ValueError:
        raise ActivityError(
            f"{where}quality: {get('quality')!r} is not one of "
            + ", ".join(q.value for q in Quality)
        ) from None
    period = get("period")
    if event is None:
        if not isinstance(period, str):
            raise ActivityError(f"{where}period: required (YYYY, YYYY-Qn or YYYY-MM)")
        period_of(period, where)
    return Activity(
        site if site is not None else _site(get("site"), "site", where),
        None if event is not None else period,
        kind,
        amount,
        unit,
        factor,
        mix,
        quality,
        event,
        where.rstrip(": "),
    )


def _allocation(entry: Mapping[str, Any], where: str) -> Allocation:
    try:
        rule = Rule(entry.get("rule", "mass"))
    except ValueError:
        raise AllocationError(
            f"{where}rule: {entry.get('rule')!r} is not one of {', '.join(r.value for r in Rule)}"
        ) from None
    element = entry.get("element")
    if (rule is Rule.ELEMENT) != (element is not None):
        raise AllocationError(f"{where}element: required with rule element, and only with it")
    if element is not None and element not in ELEMENT_NAMES:
        raise AllocationError(
            f"{where}element: {element!r} is not one of {', '.join(ELEMENT_NAMES)}"
        )
    raw = entry.get("values") or {}
    if not isinstance(raw, Mapping):
        raise AllocationError(f"{where}values: must map product classes to numbers")
    values = {node_id(str(c)): _number(v, f"values[{c}]", where) for c, v in raw.items()}
    if (rule in (Rule.ECONOMIC, Rule.SHARES)) != bool(values):
        raise AllocationError(
            f"{where}values: required with rules economic and shares, and only with them"
        )
    if rule is Rule.SHARES and abs(sum(values.values()) - 1) > SHARE_TOLERANCE:
        raise AllocationError(f"{where}values: shares sum to {sum(values.values()):g}, not 1")
    return Allocation(rule, element, values)


def _lane(entry: Mapping[str, Any], where: str) -> Lane:
    try:
        mode = Mode(str(entry.get("mode")))
    except ValueError:
        raise ActivityError(
            f"{where}mode: {entry.get('mode')!r} is not one of {', '.join(m.value for m in Mode)}"
        ) from None
    distance = entry.get("distanceKm")
    return Lane(
        _site(entry.get("from"), "from", where),
        _site(entry.get("to"), "to", where),
        mode,
        None if distance is None else _number(distance, "distanceKm", where),
    )


def _proxy(entry: Mapping[str, Any], where: str) -> Proxy:
    product = entry.get("product")
    if not isinstance(product, str) or not product:
        raise ActivityError(f"{where}product: a product class (EPC class pattern or GTIN link)")
    factor = entry.get("factor")
    if factor is not None and not isinstance(factor, str):
        raise ActivityError(f"{where}factor: a factor id, or null for a cut-off")
    try:
        return Proxy(node_id(product), factor)
    except BatteryTraceError as err:
        raise ActivityError(f"{where}product: {err}") from None


def from_json(content: Mapping[str, Any], source: str = "") -> Model:
    """A model from its JSON form: ``activities``, ``lanes``, ``allocation``, ``proxies``."""
    if not isinstance(content, Mapping):
        raise ActivityError(f"{source}: a JSON object with activities, lanes, allocation, proxies")
    unknown = sorted(set(content) - {"activities", "lanes", "allocation", "proxies"})
    if unknown:
        raise ActivityError(f"{source}: unknown section {unknown[0]!r}")

    def entries(name: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
        listed = content.get(name) or []
        if not isinstance(listed, list):
            raise ActivityError(f"{source}: {name} must be a list")
        for i, entry in enumerate(listed):
            if not isinstance(entry, Mapping):
                raise ActivityError(f"{source}: {name}[{i}] must be an object")
            yield f"{source}: {name}[{i}]: ", entry

    model = Model([activity(e, w) for w, e in entries("activities")])
    for w, e in entries("lanes"):
        lane = _lane(e, w)
        model.lanes[(lane.origin, lane.destination)] = lane
    for w, e in entries("allocation"):
        model.allocation[_site(e.get("site"), "site", w)] = _allocation(e, w)
    for w, e in entries("proxies"):
        proxy = _proxy(e, w)
        model.proxies[proxy.product] = proxy
    return model


def read_json(content: object, source: str) -> Model:
    """A model from an import file: checked against its format (decision 021: unknown fields
    refused, identifiers visible ASCII URIs), then read."""
    from batterytrace.formats import CarbonModelFormat, checked

    return from_json(checked(CarbonModelFormat, content, source, ActivityError), source)


def from_csv(text: str, source: str = "") -> Model:
    """Activities from CSV, one datum per row, columns ``site, period, kind, factor, amount,
    unit, mix, quality, note`` (``mix`` as ``factor:share;factor:share``); another column is
    refused."""
    from batterytrace.formats import csv_table

    reader = csv_table(text, ActivityError, source)
    unknown = [c for c in reader.fieldnames or () if c not in ACTIVITY_FIELDS]
    if unknown:
        raise ActivityError(
            f"{source}: line 1: column {unknown[0]!r} is not one of {', '.join(ACTIVITY_FIELDS)}"
        )
    missing = [
        c
        for c in ("site", "period", "kind", "amount", "unit")
        if c not in (reader.fieldnames or ())
    ]
    if missing:
        raise ActivityError(
            f"{source}: column {missing[0]!r} is missing (columns: {', '.join(ACTIVITY_FIELDS)})"
        )
    return Model([activity(row, f"{source}:{reader.line_num}: ") for row in reader])


def event_activities(value: object, site: str, event: str) -> list[Activity]:
    """The activity data an EPCIS event states (``bt:activity``: an object or a list of them,
    fields as in the JSON form, without site and period)."""
    listed = value if isinstance(value, list) else [value]
    out = []
    for i, entry in enumerate(listed):
        where = f"event {event}: bt:activity[{i}]: "
        if not isinstance(entry, Mapping):
            raise ActivityError(f"{where}must be an object")
        out.append(activity(entry, where, site=site, event=event))
    return out
