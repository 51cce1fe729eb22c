"""Footprints kept as what each product embodies (decision 034), so that a capture changes the
rows of what it touches, not of every product sharing a site's period with it.

A site's activity data for a period (a *pool*) are shared among the products it made then, each
by its measure under the site's allocation rule (ISO 14044 §4.3.4.2: kg of product, kg of an
element, or kg weighted by a price or share per class). Each product made there embodies its
measure per unit; a product made of it embodies what its inputs embody, per unit, as the
roll-up carries burdens. A pool's burden per measure unit is its burdens over the exact sum of
its products' measures, so a new product of the period changes the pool's row and adds its
own: no other product's row moves. A read sums what a product embodies of each pool, times the
pool's burden per measure unit, onto the product's *fixed* figures: its own transport legs,
proxies and supplier footprints and those of its upstream, and the pools closed by the time it
was made (a period two days past its end: its products are all known, local times differing
from UTC by at most 26 hours), folded in when the product is figured.

Every figure is computed by the functions below in one order (inputs by id, then the pools
folded by label and class, then the product's own legs, proxies and supplier footprints as they
were recorded), so the rows a capture updates equal those a recomputation writes, to the bit.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from batterytrace.carbon.activity import Rule
from batterytrace.carbon.footprint import SUMS, Figures
from batterytrace.carbon.system import Burden, System
from batterytrace.errors import FootprintError

CLOSING = timedelta(days=2)  # after a period's end, its products are all known (see above)
KeyT = tuple[str, str, str]  # factor, stage, material


def _per_class(rule: Rule) -> bool:
    """Whether products of a rule weigh by their class (a price or share per class)."""
    return rule in (Rule.ECONOMIC, Rule.SHARES)


@dataclass(slots=True)
class Pool:
    """An allocated group as kept: its burdens in kg CO2e (by key, and the :data:`SUMS`), what
    it lacks, the materials of its products, the exact sum of their measures per class ("" when
    the rule weighs no class), and what one measure unit of each class carries (``per``)."""

    label: str
    end: datetime | None  # the end of its period; None: the products of one event
    kg: dict[KeyT, float]
    sums: list[float]
    missing: frozenset[str]  # what its data lack (a factor the set has not)
    materials: frozenset[str]
    measures: dict[str, Fraction]
    per: dict[str, float] = field(default_factory=dict)
    unweighed: frozenset[str] = frozenset()  # its products without a mass to share by
    folded: bool = False  # into the fixed figures of a product made after it closed

    def closed(self, when: datetime) -> bool:
        """Whether every product sharing it is known to a product made at ``when``."""
        return self.end is None or self.end + CLOSING <= when

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "end": None if self.end is None else self.end.isoformat(),
            "kg": [[*key, kg] for key, kg in sorted(self.kg.items())],
            "sums": self.sums,
            "missing": sorted(self.missing),
            "materials": sorted(self.materials),
            "measures": {
                c: f"{m.numerator}/{m.denominator}" for c, m in sorted(self.measures.items())
            },
            "per": dict(sorted(self.per.items())),
            "unweighed": sorted(self.unweighed),
            "folded": self.folded,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pool:
        return cls(
            data["label"],
            None if data["end"] is None else datetime.fromisoformat(data["end"]),
            {(f, s, m): kg for f, s, m, kg in data["kg"]},
            list(data["sums"]),
            frozenset(data["missing"]),
            frozenset(data["materials"]),
            {c: Fraction(m) for c, m in data["measures"].items()},
            dict(data["per"]),
            frozenset(data["unweighed"]),
            data["folded"],
        )


def pool(system: System, g: int, kept: Pool | None = None) -> Pool:
    """The pool of allocated group ``g`` of ``system``, with the products of ``kept`` (the same
    period's pool as kept, before a capture added ``g``'s products to it)."""
    group = system.groups[g]
    assert group.allocation is not None
    rule = group.allocation
    measures = dict(kept.measures) if kept else {}
    materials = set(kept.materials) if kept else set()
    for i, measure in group.members:
        node = system.nodes[i]
        cls = node.cls if _per_class(rule.rule) else ""
        measures[cls] = measures.get(cls, Fraction(0)) + Fraction(measure)
        materials.add(node.material)
    one = next(iter(materials)) if len(materials) == 1 else "other"
    kg: dict[KeyT, float] = {}
    sums = [0.0] * len(SUMS)
    for b in group.burdens:  # the material its products share, or "other" (Builder split)
        key = (b.key.factor, b.key.stage.value, one)
        add = _burden(system, b)
        kg[key] = kg.get(key, 0.0) + add[0]
        for n, value in enumerate(add):
            sums[n] += value
    if not all(math.isfinite(v) for v in sums):
        raise FootprintError(f"{group.label}: a footprint beyond any finite number of kg CO2e")
    found = Pool(
        group.label, group.end, kg, sums, frozenset(group.missing), frozenset(materials), measures
    )
    found.unweighed = frozenset(group.unweighed) | (kept.unweighed if kept else frozenset())
    found.per = _per(found, rule.rule, dict(rule.values), group.label)
    found.folded = kept.folded if kept else False
    return found


def _per(found: Pool, rule: Rule, values: dict[str, float], label: str) -> dict[str, float]:
    """What one measure unit of each class carries of the pool: 1 over the sum of measures
    (mass, element), a price over the sum of priced measures (economic), a share over the
    class's measures and the sum of the shares of the classes present (shares)."""
    if rule is Rule.ECONOMIC:
        total = sum((Fraction(values[c]) * m for c, m in found.measures.items()), Fraction(0))
        weights = {c: Fraction(values[c]) / total if total else None for c in found.measures}
    elif rule is Rule.SHARES:
        shares = sum((Fraction(values[c]) for c in found.measures), Fraction(0))
        weights = {
            c: Fraction(values[c]) / (m * shares) if m and shares else None
            for c, m in found.measures.items()
        }
    else:
        weights = {c: 1 / m if m else None for c, m in found.measures.items()}
    if any(w is None or w <= 0 for w in weights.values()):
        raise FootprintError(f"{label}: its products' allocation basis sums to zero")
    return {c: float(w) for c, w in weights.items() if w is not None}


def _burden(system: System, b: Burden) -> tuple[float, ...]:
    """A burden's :data:`SUMS` in kg CO2e (the first is its kg CO2e)."""
    kg = b.amount * system.value(b.key.factor)
    if not math.isfinite(kg):
        raise FootprintError(
            f"{b.source}: {b.amount:g} x {system.value(b.key.factor):g} kg CO2e per unit of "
            f"{b.key.factor} is more than any finite number of kg CO2e"
        )
    return (kg, kg * b.primary, *(kg * r for r in b.ratings))


@dataclass(slots=True)
class Embodied:
    """One unit of a product as kept: what it is (unit, units made, class, site, time,
    material), its fixed figures (kg CO2e by key, the :data:`SUMS`; what its upstream lacks,
    the allocation rules and supplier footprints it rests on), what it embodies of each open
    pool (label, class: measure units per unit), and whether a product is made of it."""

    id: str
    unit: str
    output: float
    cls: str
    site: str
    made: datetime
    material: str
    kg: dict[KeyT, float] = field(default_factory=dict)
    sums: list[float] = field(default_factory=lambda: [0.0] * len(SUMS))
    missing: set[str] = field(default_factory=set)
    allocation: set[str] = field(default_factory=set)
    suppliers: set[str] = field(default_factory=set)
    embodied: dict[tuple[str, str], float] = field(default_factory=dict)
    used: bool = False

    def add(self, m: float, kg: Mapping[KeyT, float], sums: Iterable[float]) -> None:
        """``m`` times the figures ``kg`` and ``sums``."""
        for key, value in kg.items():
            self.kg[key] = self.kg.get(key, 0.0) + m * value
        for n, value in enumerate(sums):
            self.sums[n] += m * value

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit": self.unit,
            "output": self.output,
            "cls": self.cls,
            "site": self.site,
            "made": self.made.isoformat(),
            "material": self.material,
            "kg": [[*key, kg] for key, kg in sorted(self.kg.items())],
            "sums": self.sums,
            "missing": sorted(self.missing),
            "allocation": sorted(self.allocation),
            "suppliers": sorted(self.suppliers),
            "embodied": [[*key, units] for key, units in sorted(self.embodied.items())],
            "used": self.used,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Embodied:
        return cls(
            data["id"],
            data["unit"],
            data["output"],
            data["cls"],
            data["site"],
            datetime.fromisoformat(data["made"]),
            data["material"],
            {(f, s, m): kg for f, s, m, kg in data["kg"]},
            list(data["sums"]),
            set(data["missing"]),
            set(data["allocation"]),
            set(data["suppliers"]),
            {(label, c): units for label, c, units in data["embodied"]},
            data["used"],
        )

    def figures(self, pools: Mapping[str, Pool]) -> Figures:
        """One unit of the product: its fixed figures and what it embodies of each open pool."""
        whole = Embodied(self.id, self.unit, self.output, self.cls, self.site, self.made, "")
        whole.add(1.0, self.kg, self.sums)
        missing = set(self.missing)
        for (label, c), units in sorted(self.embodied.items()):
            found = pools[label]
            whole.add(units * found.per[c], found.kg, found.sums)
            missing |= found.missing | found.unweighed
        return Figures(
            self.id,
            self.unit,
            {key: kg for key, kg in whole.kg.items() if kg},
            tuple(whole.sums),
            not missing,
            tuple(sorted(missing)),
            tuple(sorted(self.allocation)),
            tuple(sorted(self.suppliers)),
            self.site,
            self.made,
        )


def pools(system: System, kept: Mapping[str, Pool]) -> dict[str, Pool]:
    """The pool of every allocated group of ``system``, each merged with its kept pool."""
    return {
        group.label: pool(system, g, kept.get(group.label))
        for g, group in enumerate(system.groups)
        if group.allocated
    }


def products(
    system: System,
    found: Mapping[str, Pool],
    kept: Mapping[str, Embodied],
    used: Set[str] = frozenset(),
    as_kept: bool = False,
) -> Iterator[tuple[str, Embodied]]:
    """The rows of the products of ``system`` that are new or changed (a recomputation: all of
    them; a capture's steps: its new products, and the kept products it names (``kept``) that
    a leg made after them or a first use changed), figured in genealogy order from their
    inputs' rows, each given when it is final and held only while a product still to figure
    uses it. ``found``: the pools (:func:`pools`, with the kept ones products embody); a pool
    is marked folded as products fold it. ``used``: products something figured apart is made
    of. ``as_kept``: the kept rows are final (their legs in ``system`` counted in them
    already); only a first use changes one. A product made in a quantity of zero, or a cycle in
    the genealogy, is refused before any row is given."""
    for node in system.nodes:
        if not node.kept and not node.output > 0:
            raise FootprintError(
                f"{node.id}: made in a quantity of zero; it has no footprint per unit"
            )
    measures: dict[int, dict[int, float]] = {}  # group -> product -> its measure
    for g, group in enumerate(system.groups):
        for i, m in group.members:
            of = measures.setdefault(g, {})
            of[i] = of.get(i, 0.0) + m
    return _figured(system, found, kept, measures, _in_order(system), used, as_kept)


def _figured(
    system: System,
    found: Mapping[str, Pool],
    kept: Mapping[str, Embodied],
    measures: Mapping[int, Mapping[int, float]],
    order: list[int],
    used: Set[str],
    as_kept: bool,
) -> Iterator[tuple[str, Embodied]]:
    users = Counter(i for node in system.nodes for i in node.inputs)
    rows: dict[int, Embodied] = {}
    for j in order:
        node = system.nodes[j]
        if node.kept:
            row = kept[node.id]
            first_use = users[j] > 0 and not row.used
            row.used = row.used or users[j] > 0
            changed = first_use
            if not as_kept:
                row.missing.update(node.missing)
                _own(system, j, row, measures, allocated=False)
                changed = first_use or bool(node.own or node.missing)
        else:
            row = _product(system, j, rows, found, measures)
            row.used, changed = users[j] > 0 or node.id in used, True
        if changed:
            yield node.id, row
        if users[j]:
            rows[j] = row
        for i in node.inputs:
            users[i] -= 1
            if not users[i]:
                del rows[i]


def downstream_changed(system: System, kept: Mapping[str, Embodied]) -> str | None:
    """A kept product that something of a capture changes (a leg, a leg not counted) while a
    product is made of it already: what is made of it would change too (then the footprints
    are taken again from before it was made); None when there is none."""
    for node in system.nodes:
        if node.kept and (node.own or node.missing) and kept[node.id].used:
            return node.id
    return None


def _product(
    system: System,
    j: int,
    rows: Mapping[int, Embodied],
    found: Mapping[str, Pool],
    measures: Mapping[int, Mapping[int, float]],
) -> Embodied:
    node = system.nodes[j]
    row = Embodied(
        node.id, node.unit.value, node.output, node.cls, node.site, node.time, node.material
    )
    row.missing.update(node.missing)
    for i, amount in sorted(node.inputs.items(), key=lambda kv: system.nodes[kv[0]].id):
        source = rows[i]
        u = amount / node.output
        row.add(u, source.kg, source.sums)
        for key, units in source.embodied.items():
            row.embodied[key] = row.embodied.get(key, 0.0) + u * units
        row.missing |= source.missing
        row.allocation |= source.allocation
        row.suppliers |= source.suppliers
    _own(system, j, row, measures, allocated=True)
    for key, units in sorted(row.embodied.items()):
        shared = found[key[0]]
        if shared.closed(node.time):
            shared.folded = True
            row.add(units * shared.per[key[1]], shared.kg, shared.sums)
            row.missing |= shared.missing | shared.unweighed
            del row.embodied[key]
    _own(system, j, row, measures, allocated=False)
    if node.id in system.suppliers:
        row.suppliers.add(system.suppliers[node.id])
    if not all(math.isfinite(v) for v in (*row.kg.values(), *row.sums)):
        raise FootprintError(f"{node.id}: a footprint beyond any finite number of kg CO2e")
    return row


def _own(
    system: System,
    j: int,
    row: Embodied,
    measures: Mapping[int, Mapping[int, float]],
    allocated: bool,
) -> None:
    """Product ``j``'s own groups: the pools it shares (``allocated``: its measure per unit, by
    class), or its legs, proxies and supplier footprints (their burdens per unit), in the order
    they were recorded."""
    node = system.nodes[j]
    for g, share in node.own.items():
        group = system.groups[g]
        if group.allocated != allocated:
            continue
        if allocated:
            assert group.allocation is not None
            cls = node.cls if _per_class(group.allocation.rule) else ""
            key = (group.label, cls)
            row.embodied[key] = row.embodied.get(key, 0.0) + measures[g][j] / node.output
            row.allocation.add(f"{system.site_name(node.site)}: {group.rule}")
            continue
        m = share / node.output
        for b in group.burdens:
            add = _burden(system, b)
            row.add(m, {(b.key.factor, b.key.stage.value, b.key.material): add[0]}, add)
        row.missing.update(group.missing)
    if not math.isfinite(sum(row.sums)):
        raise FootprintError(f"{node.id}: a footprint beyond any finite number of kg CO2e")


def _in_order(system: System) -> list[int]:
    """The products, each after its inputs (a cycle is refused, naming a product on it)."""
    order: list[int] = []
    state = [0] * len(system.nodes)  # 0 new, 1 on the path, 2 done
    for start in range(len(system.nodes)):
        if state[start]:
            continue
        stack = [(start, iter(system.nodes[start].inputs))]
        state[start] = 1
        while stack:
            j, inputs = stack[-1]
            for i in inputs:
                if state[i] == 1:
                    raise FootprintError(
                        f"{system.nodes[i].id}: its genealogy has a cycle (a product among its "
                        "own inputs)"
                    )
                if state[i] == 0:
                    state[i] = 1
                    stack.append((i, iter(system.nodes[i].inputs)))
                    break
            else:
                stack.pop()
                state[j] = 2
                order.append(j)
    return order
