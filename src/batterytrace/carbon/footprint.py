"""Cradle-to-gate product carbon footprints: the roll-up of a product system, and what one
product's figure is made of.

The roll-up follows the genealogy from the sources to the packs, ISO 14044 fashion: a product's
footprint per unit is its own burdens (its allocated share of activity data, proxies, supplier
footprints, transport legs) divided by the units it came out as, plus what each unit used of
its inputs times their footprint per unit. Products are processed level by level (a level: the
products whose inputs are all in lower levels), each level in one sparse product, so every lot,
batch and pack of a store is rolled up at once.

Each product's figure is kept as amounts per burden key (factor x life-cycle stage x material,
in the factor's unit) plus five running sums in kg CO2e: total, primary, and the three PACT data
quality ratings weighted by emissions, so breakdowns, primary-data share, data quality, Monte
Carlo draws and what-if factor changes all read the same numbers.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from batterytrace.carbon import pact
from batterytrace.carbon.factors import FactorSet
from batterytrace.carbon.system import MATERIALS, Stage, System, Unused
from batterytrace.errors import FootprintError

SUMS = ("kgCO2e", "primary", "technological", "temporal", "geographical")
DQR = SUMS[2:]
if TYPE_CHECKING:
    from scipy import sparse

_MAX_LEVELS = 1000  # deeper than this is a cycle, not a supply chain


@dataclass(slots=True)
class Rollup:
    """Every product's footprint per unit: ``per_unit[node]`` holds the key amounts, then
    :data:`SUMS`; ``incomplete[node]`` when something it depends on is missing."""

    system: System
    values: np.ndarray  # kg CO2e per unit of each key's factor
    per_unit: np.ndarray
    incomplete: np.ndarray
    levels: np.ndarray

    def total(self, node: int) -> float:
        return float(self.per_unit[node, len(self.values)])


def matrices(system: System) -> tuple[sparse.csr_array, np.ndarray, np.ndarray]:
    """The system as matrices: ``uses`` (n x n, row j: amount of each input per unit of j),
    ``own`` (n x keys+sums, per unit of j) and the key values."""
    for group in system.groups:
        for b in group.burdens:
            system.key(b.key)
    n, k = len(system.nodes), len(system.keys)
    values = [system.value(key.factor) for key in system.keys]
    grouped = np.zeros((len(system.groups), k + len(SUMS)))
    for g, group in enumerate(system.groups):
        for b in group.burdens:
            col = system.keys[b.key]
            kg = b.amount * values[col]  # Python floats: an overflow is inf, never a warning
            if not math.isfinite(kg):
                raise FootprintError(
                    f"{b.source}: {b.amount:g} x {values[col]:g} kg CO2e per unit of "
                    f"{b.key.factor} is more than any finite number of kg CO2e"
                )
            with np.errstate(over="ignore"):  # sums past any float are refused just below
                grouped[g, col] += b.amount
                grouped[g, k:] += (kg, kg * b.primary, *(kg * r for r in b.ratings))
    finite(grouped, lambda g: system.groups[g].label)
    output = np.array([node.output for node in system.nodes])
    if (output <= 0).any():
        bad = system.nodes[int(np.argmax(output <= 0))].id
        raise FootprintError(f"{bad}: made in a quantity of zero; it has no footprint per unit")
    shares = _per_output([node.own for node in system.nodes], output, len(system.groups))
    uses = _per_output([node.inputs for node in system.nodes], output, n)
    with np.errstate(over="ignore", invalid="ignore"):
        own = np.asarray(shares @ grouped)
    return uses, own, np.array(values, dtype=float)


def finite(figures: np.ndarray, what: Callable[[int], str]) -> None:
    """Refuse figures that overflowed (inf) or lost their meaning (nan): ``what(row)`` names
    the row of the first one."""
    bad = ~np.isfinite(figures)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise FootprintError(f"{what(row)}: a footprint beyond any finite number of kg CO2e")


def _per_output(rows: list[dict[int, float]], output: np.ndarray, width: int) -> sparse.csr_array:
    """Row j: each entry of ``rows[j]`` divided by what product j made."""
    from scipy import sparse  # imported here: a tenth of a second the other commands save

    counts = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    cols = np.fromiter((c for r in rows for c in r), dtype=np.int64, count=int(counts.sum()))
    data = np.fromiter((v for r in rows for v in r.values()), dtype=float, count=len(cols))
    indptr = np.concatenate(([0], np.cumsum(counts)))
    with np.errstate(over="ignore"):
        data /= np.repeat(output, counts)
    matrix = sparse.csr_array((data, cols, indptr), shape=(len(rows), width))
    matrix.sum_duplicates()
    return matrix


def _levels(uses: sparse.csr_array, system: System) -> np.ndarray:
    """Each product's level: 0 without inputs, else one more than its deepest input."""
    n = uses.shape[0]
    level = np.zeros(n, dtype=np.int64)
    starts, ends = uses.indptr[:-1], uses.indptr[1:]
    has = ends > starts
    for _ in range(_MAX_LEVELS):
        deeper = np.zeros(n, dtype=np.int64)
        if uses.nnz:
            deeper[has] = np.maximum.reduceat(level[uses.indices] + 1, starts[has])
        if np.array_equal(deeper, level):
            return level
        level = deeper
    stuck = system.nodes[int(np.argmax(level))].id
    raise FootprintError(f"{stuck}: its genealogy has a cycle (a product among its own inputs)")


def rollup(system: System) -> Rollup:
    """Every product's footprint per unit (see the module docstring)."""
    uses, per_unit, values = matrices(system)
    levels = _levels(uses, system)
    missing = np.array([bool(system.missing(j)) for j in range(len(system.nodes))])
    incomplete = missing.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # overflows are refused just below
        for level in range(1, int(levels.max(initial=0)) + 1):
            rows = np.flatnonzero(levels == level)
            part = uses[rows]
            per_unit[rows] += part @ per_unit
            incomplete[rows] += part @ incomplete
    finite(per_unit, lambda i: system.nodes[i].id)
    return Rollup(system, values, per_unit, incomplete > 0, levels)


# --- one product ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PerformanceClass:
    label: str
    at_most: float | None  # kg CO2e per kWh; None: above the last bound
    status: str
    source: str


def performance_classes() -> list[PerformanceClass]:
    """The carbon-footprint performance classes (Art. 7(2)), from the table shipped as data."""
    text = (
        resources.files("batterytrace.carbon").joinpath("data/performance-classes.csv").read_text()
    )
    return [
        PerformanceClass(
            r["class"],
            float(r["max_kgco2e_per_kwh"]) if r["max_kgco2e_per_kwh"] else None,
            r["status"],
            r["source"],
        )
        for r in csv.DictReader(io.StringIO(text))
    ]


def performance_class(per_kwh: float) -> PerformanceClass:
    classes = performance_classes()
    for c in classes:
        if c.at_most is None or per_kwh <= c.at_most:
            return c
    return classes[-1]


@dataclass(frozen=True, slots=True)
class Footprint:
    """The cradle-to-gate footprint of one unit of a product (a kg of a lot, one item, a pack),
    with what it is made of and where its numbers come from."""

    id: str
    unit: str
    kg_co2e: float
    fossil: float
    biogenic: float
    capacity_kwh: float | None
    stages: dict[str, float]
    materials: dict[str, float]
    factors: dict[str, float]  # kg CO2e by factor id
    primary_share: float  # 0..1 of kg CO2e from primary data
    dqr: dict[str, float]  # emission-weighted PACT ratings, 1 (good) .. 3 (poor)
    complete: bool
    missing: tuple[str, ...]
    factor_set: str
    sources: tuple[tuple[str, str, str], ...]  # (factor id, source, reference) used
    allocation: tuple[str, ...]  # the rules used upstream, by site
    performance: PerformanceClass | None = None
    supplier_documents: tuple[str, ...] = ()
    gwp: tuple[str, ...] = ()  # the IPCC reports (GWP100) of the factors used
    not_counted: tuple[Unused, ...] = ()  # what no product of the system takes

    @property
    def per_kwh(self) -> float | None:
        return self.kg_co2e / self.capacity_kwh if self.capacity_kwh else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "declaredUnit": self.unit,
            "kgCO2e": self.kg_co2e,
            "kgCO2ePerKWh": self.per_kwh,
            "capacityKWh": self.capacity_kwh,
            "fossilKgCO2e": self.fossil,
            "biogenicKgCO2e": self.biogenic,
            "byStage": self.stages,
            "byMaterial": self.materials,
            "byFactor": self.factors,
            "primaryDataShare": self.primary_share,
            "dataQualityRatings": self.dqr,
            "complete": self.complete,
            "missing": list(self.missing),
            "notCounted": [u.to_json() for u in self.not_counted],
            "performanceClass": None
            if self.performance is None
            else {
                "class": self.performance.label,
                "status": self.performance.status,
                "source": self.performance.source,
            },
            "provenance": {
                "factorSet": self.factor_set,
                "factors": [{"id": i, "source": s, "reference": r} for i, s, r in self.sources],
                "allocation": list(self.allocation),
                "supplierFootprints": list(self.supplier_documents),
                "gwp100": list(self.gwp),
                "boundary": "cradle to gate; use phase and end of life excluded",
            },
        }


def _parts(
    result: Rollup, node_id: str, held: Sequence[tuple[str, int]]
) -> list[tuple[int, float]]:
    """The products (and units of each) one unit of ``node_id`` is: itself when the system has
    it, else the items a container holds (per batch node), as the holdings count them."""
    system = result.system
    j = system.node(node_id)
    if j is not None:
        return [(j, 1.0)]
    parts = [(system.index[batch], float(n)) for batch, n in held if batch in system.index]
    if not parts or len(parts) < len(held):
        raise FootprintError(f"{node_id}: no lot, item batch or pack of that id in the system")
    return parts


@dataclass(frozen=True, slots=True)
class Figures:
    """One unit of a product as the roll-up figures it, named rather than indexed, so it reads
    without the product system (a kept footprint row, decision 032): kg CO2e per burden key
    (factor, stage, material; keys it has none of left out), the :data:`SUMS`, and what its
    upstream lacks and rests on."""

    id: str
    unit: str
    kg: dict[tuple[str, str, str], float]
    sums: tuple[float, ...]
    complete: bool
    missing: tuple[str, ...]
    allocation: tuple[str, ...]  # the allocation rules used upstream, by site
    suppliers: tuple[str, ...]  # the supplier footprints used upstream
    site: str | None = None  # where it was made, when (none for what a container holds)
    made: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit": self.unit,
            "kg": [[*key, kg] for key, kg in self.kg.items()],
            "sums": list(self.sums),
            "complete": self.complete,
            "missing": list(self.missing),
            "allocation": list(self.allocation),
            "suppliers": list(self.suppliers),
            "site": self.site,
            "made": None if self.made is None else self.made.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Figures:
        return cls(
            data["id"],
            data["unit"],
            {(factor, stage, material): kg for factor, stage, material, kg in data["kg"]},
            tuple(data["sums"]),
            data["complete"],
            tuple(data["missing"]),
            tuple(data["allocation"]),
            tuple(data["suppliers"]),
            data["site"],
            None if data["made"] is None else datetime.fromisoformat(data["made"]),
        )

    @classmethod
    def combined(cls, id: str, parts: Sequence[tuple[Figures, float]]) -> Figures:
        """One unit of what holds ``units`` of each part (a module and the items it holds); one
        unit of a product alone is that product."""
        if len(parts) == 1 and parts[0][1] == 1 and parts[0][0].id == id:
            return parts[0][0]
        kg: dict[tuple[str, str, str], float] = defaultdict(float)
        sums = [0.0] * len(SUMS)
        for part, units in parts:
            for key, value in part.kg.items():
                kg[key] += value * units
            for n, value in enumerate(part.sums):
                sums[n] += value * units
        missing, allocation, suppliers = (
            tuple(sorted({x for p, _ in parts for x in getattr(p, name)}))
            for name in ("missing", "allocation", "suppliers")
        )
        complete = all(p.complete for p, _ in parts)
        return cls(id, "item", dict(kg), tuple(sums), complete, missing, allocation, suppliers)


Upstream = tuple[frozenset[str], frozenset[str], frozenset[str]]  # missing, allocation, suppliers


def upstream(result: Rollup, starts: Sequence[int]) -> dict[int, Upstream]:
    """What the upstream of each of the products ``starts`` and of theirs (itself and every
    input, to the sources) lacks and rests on: missing data, allocation rules by site,
    supplier footprints; a level at a time, so each product unites its inputs' sets (a
    product whose sets are an input's shares them)."""
    system = result.system
    nodes = _upstream(system, list(starts))
    found: dict[int, Upstream] = {}
    for j in sorted(nodes, key=lambda j: result.levels[j]):
        node = system.nodes[j]
        own = (
            frozenset(system.missing(j)),
            frozenset(f"{system.site_name(node.site)}: {system.groups[g].rule}"
                      for g in node.own if system.groups[g].allocated),
            frozenset((system.suppliers[node.id],) if node.id in system.suppliers else ()),
        )  # fmt: skip
        sets = [own, *(found[i] for i in node.inputs)]
        found[j] = tuple(_union([s[n] for s in sets]) for n in range(3))  # type: ignore[assignment]
    return found


def _union(sets: list[frozenset[str]]) -> frozenset[str]:
    """The union, as one of the sets when that one holds all the others (shared, not copied)."""
    widest = max(sets, key=len)
    if all(s <= widest for s in sets):
        return widest
    return frozenset().union(*sets)


def figures(result: Rollup, node_id: str, held: Sequence[tuple[str, int]] = ()) -> Figures:
    """One unit of a product; ``held``: for a container the system does not count as a
    product (a module), the items it holds per batch node (its footprint is theirs)."""
    parts = _parts(result, node_id, held)
    found = upstream(result, [i for i, _ in parts])
    return Figures.combined(node_id, [(_figures(result, i, found[i]), units) for i, units in parts])


def _figures(result: Rollup, j: int, up: Upstream) -> Figures:
    system = result.system
    row = result.per_unit[j]
    k = len(result.values)
    kg = row[:k] * result.values
    missing, allocation, suppliers = up
    node = system.nodes[j]
    return Figures(
        node.id,
        node.unit.value,
        {(key.factor, key.stage.value, key.material): float(kg[col])
         for key, col in system.keys.items() if kg[col]},
        tuple(float(v) for v in row[k:]),
        not result.incomplete[j],
        tuple(sorted(missing)),
        tuple(sorted(allocation)),
        tuple(sorted(suppliers)),
        node.site,
        node.time,
    )  # fmt: skip


def footprint(
    result: Rollup,
    node_id: str,
    capacity_kwh: float | None = None,
    held: Sequence[tuple[str, int]] = (),
) -> Footprint:
    """One unit of a product (see :func:`figures`), stated with the system's factor set."""
    return stated(
        figures(result, node_id, held), result.system.factors, capacity_kwh, result.system.unused
    )


def stated(
    f: Figures,
    factor_set: FactorSet,
    capacity_kwh: float | None = None,
    not_counted: Sequence[Unused] = (),
) -> Footprint:
    """The footprint ``f`` figures, broken down by stage, material and factor, with the
    sources of the factors of ``factor_set`` it used; ``not_counted``: what no product of the
    system takes."""
    stages: dict[str, float] = {s.value: 0.0 for s in Stage if s is not Stage.OTHER}
    materials: dict[str, float] = dict.fromkeys(MATERIALS, 0.0)
    factors: dict[str, float] = defaultdict(float)
    biogenic = 0.0
    for (factor, stage, material), kg in f.kg.items():
        stages[stage] = stages.get(stage, 0.0) + kg
        materials[material] += kg
        factors[factor] += kg
        if factor in factor_set:
            biogenic += kg * factor_set.get(factor).biogenic_share
    total, primary, *ratings = f.sums
    used = sorted(name for name, v in factors.items() if v and name in factor_set)
    per_kwh = total / capacity_kwh if capacity_kwh else None
    return Footprint(
        f.id,
        f.unit,
        total,
        total - biogenic,
        biogenic,
        capacity_kwh,
        stages,
        materials,
        {name: v for name, v in factors.items() if v},
        primary / total if total else 0.0,
        {name: rating / total if total else 0.0 for name, rating in zip(DQR, ratings, strict=True)},
        f.complete,
        f.missing,
        factor_set.label,
        tuple((name, factor_set.get(name).source, factor_set.get(name).reference) for name in used),
        f.allocation,
        None if per_kwh is None else performance_class(per_kwh),
        f.suppliers,
        tuple(sorted({factor_set.get(name).gwp for name in used})),
        tuple(not_counted),
    )


def _upstream(system: System, starts: list[int]) -> Iterator[int]:
    seen = set(starts)
    todo = list(starts)
    while todo:
        j = todo.pop()
        yield j
        for i in system.nodes[j].inputs:
            if i not in seen:
                seen.add(i)
                todo.append(i)


# --- explaining it ----------------------------------------------------------------------------


@dataclass(slots=True)
class Contribution:
    """One branch of a footprint's explanation: ``kg_co2e`` of the root from ``label``."""

    label: str
    kg_co2e: float
    detail: str = ""
    children: list[Contribution] = field(default_factory=list)


def explain(
    result: Rollup, node_id: str, floor: float = 0.001, held: Sequence[tuple[str, int]] = ()
) -> Contribution:
    """The tree of contributions to one unit of a product, down to each activity datum and
    factor; branches under ``floor`` of the total are summed into one line per level."""
    parts = _parts(result, node_id, held)
    if len(parts) == 1 and parts[0][1] == 1:
        j = parts[0][0]
        return _explain(result, j, 1.0, max(result.total(j), 1e-300) * floor, set())
    total = sum(result.total(i) * units for i, units in parts)
    children = [_explain(result, i, units, max(total, 1e-300) * floor, set()) for i, units in parts]
    return Contribution(node_id, total, "the items it holds", children)


def _explain(result: Rollup, j: int, units: float, floor: float, path: set[int]) -> Contribution:
    system = result.system
    node = system.nodes[j]
    here = Contribution(
        f"{node.id}",
        units * result.total(j),
        f"{units:.6g} {node.unit.value} made at {node.site} ({node.time:%Y-%m-%d})"
        + (f"; inputs shared by {node.inputs_rule}" if node.inputs_rule else ""),
    )
    small = 0.0
    for g, share in node.own.items():
        group = system.groups[g]
        scale = units * share / node.output
        kids = []
        for b in group.burdens:
            col = system.keys[b.key]
            kg = b.amount * scale * result.values[col]
            value = system.value(b.key.factor)
            unit = (
                system.factors.get(b.key.factor).unit
                if b.key.factor in system.factors
                else "kg CO2e"
            )
            kids.append(
                Contribution(
                    b.source,
                    kg,
                    f"{b.amount * scale:.6g} {unit} x {value:g} kg CO2e/{unit} "
                    f"({b.key.factor}, {b.key.stage.value}, {b.key.material})",
                )
            )
        branch = Contribution(
            f"{group.label} [{group.rule}]",
            sum(c.kg_co2e for c in kids),
            f"share {share:.6g} of the group",
            kids,
        )
        if branch.kg_co2e < floor:
            small += branch.kg_co2e
        else:
            here.children.append(branch)
    for i, amount in sorted(node.inputs.items(), key=lambda kv: -kv[1] * result.total(kv[0])):
        used = units * amount / node.output
        if used * result.total(i) < floor or i in path:
            small += used * result.total(i)
            continue
        here.children.append(_explain(result, i, used, floor, path | {j}))
    if small:
        here.children.append(Contribution("(smaller contributions)", small))
    return here


@dataclass(frozen=True, slots=True)
class Product:
    """What a PACT footprint says of the product besides its figures (from the master data)."""

    ids: tuple[str, ...]  # URNs
    name: str
    company: str
    company_ids: tuple[str, ...]
    country: str
    mass_kg: float | None  # of one item; None for a lot (declared per kg)
    made: datetime


def declared(fp: Footprint, product: Product, created: datetime | None = None) -> pact.Declared:
    """A footprint as a PACT ProductFootprint states it: a lot per kilogram, a battery per kWh
    of capacity (or per piece without one); reference period: the calendar year it was made."""
    if fp.unit == "kg":
        unit, amount, mass = "kilogram", 1.0, None
    elif fp.capacity_kwh:
        unit, amount = "kilowatt hour", fp.capacity_kwh
        mass = None if product.mass_kg is None else product.mass_kg / fp.capacity_kwh
    else:
        unit, amount, mass = "piece", 1.0, product.mass_kg
    year = product.made.year
    name, _, version = fp.factor_set.partition("@")
    return pact.Declared(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{fp.id}#{fp.factor_set}")),
        product_ids=product.ids,
        product_name=product.name,
        product_description=f"{product.name}, {fp.id}; cradle-to-gate carbon footprint",
        company_name=product.company,
        company_ids=product.company_ids,
        declared_unit=unit,
        unitary_amount=amount,
        fossil_kg_per_unit=fp.fossil / amount,
        biogenic_kg_per_unit=fp.biogenic / amount,
        period_start=datetime(year, 1, 1, tzinfo=UTC),
        period_end=datetime(year + 1, 1, 1, tzinfo=UTC),
        geography_country=product.country,
        primary_data_share=100 * fp.primary_share,
        # completeness 1 when nothing is missing upstream, else 3; reliability from the
        # primary-data share (1: all primary, 2: all secondary) (decision 010)
        dqr={
            "coverage": 100.0,
            **fp.dqr,
            "completeness": 1.0 if fp.complete else 3.0,
            "reliability": 2.0 - fp.primary_share,
        },
        factor_sources=((name, version),),
        ipcc_reports=fp.gwp or ("AR6",),
        allocation="; ".join(fp.allocation) or "none needed (single-output steps)",
        boundary="cradle to gate: extraction, refining, precursor and cathode, cell and pack "
        "making, transport between sites; use phase and end of life excluded",
        created=created or datetime.now(UTC),
        mass_kg_per_unit=mass,
        cpc="46420" if fp.unit != "kg" else "342",  # battery; basic inorganic chemicals (group)
    )
