"""Reduction targets and what-if levers on the battery footprint per kWh.

The agreement aims at -20 % by 2025 and -35 % by 2030 against 2020 (DESIGN.md). The *2020
baseline* is the recorded chain re-run as it was before the agreement: all cobalt bought as
conventional sulfate (the purchased route, DRC hydroxide refined in China) and the sulfate
plant on grid power; or a value the user gives. *Progress* is the average footprint per kWh of
the packs assembled each year (total kg CO2e over total kWh).

Levers change the calculation, never the recorded data:

- ``wind=S``: the share S of wind in the sulfate plant's electricity (the refining-stage keys of
  the factors its mix uses);
- ``recycled=S``: the share S of the precursor maker's cobalt from recycled lots (the other
  routes scaled to the rest), drawing on the recycled lots recorded;
- ``transport=MODE``: every leg by MODE (same tonne-kilometres);
- ``cell-grid=FACTOR``: the cell plant's electricity from another factor (``FI`` for
  ``electricity-grid-fi``, or any factor id);
- ``chemistry=NAME``: another cathode (contracts' intensity table): element-bound burdens scale
  with the element's kg per kWh, cathode processing with the cathode's kg per kWh.

Every lever but ``recycled`` (and the baseline's cobalt route) acts on the rolled-up amounts per
burden key; those two re-weigh the precursor steps' cobalt inputs and roll the system up again.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from batterytrace.carbon.activity import Mode
from batterytrace.carbon.factors import FactorKind
from batterytrace.carbon.footprint import Rollup, rollup
from batterytrace.carbon.system import Stage, System
from batterytrace.contracts.intensity import intensities
from batterytrace.errors import BatteryTraceError, FootprintError
from batterytrace.masterdata import SiteRole
from batterytrace.units import convert, mass_fractions

BASE_YEAR = 2020
TARGETS = ((2025, 0.20), (2030, 0.35))  # DESIGN.md: -20 % by 2025, -35 % by 2030 against 2020
ROUTES = ("traced", "recycled", "purchased")
LEVERS = ("wind", "recycled", "transport", "cell-grid", "chemistry")
DEFAULT_LEVERS = (
    "wind=1.0",
    "recycled=0.16",
    "transport=rail",
    "cell-grid=electricity-wind-onshore",
    "chemistry=NMC955",
)


@dataclass(frozen=True, slots=True)
class Lever:
    name: str
    value: str

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


def lever(text: str) -> Lever:
    name, eq, value = text.partition("=")
    if not eq or name not in LEVERS or not value:
        raise FootprintError(
            f"what-if: {text!r} is not LEVER=VALUE with LEVER one of {', '.join(LEVERS)}"
        )
    if name in ("wind", "recycled"):
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not 0 <= share <= 1:
            raise FootprintError(f"what-if: {name}: {value!r} is not a share within [0, 1]")
    if name == "transport" and value not in {m.value for m in Mode}:
        raise FootprintError(
            f"what-if: transport: {value!r} is not one of {', '.join(m.value for m in Mode)}"
        )
    return Lever(name, value)


# --- cobalt routes at the precursor step ------------------------------------------------------


def route(system: System, i: int) -> str:
    node = system.nodes[i]
    if system.role(node.site) is SiteRole.RECYCLER:
        return "recycled"
    return "purchased" if node.origin in ("proxy", "supplier") else "traced"


def cobalt_mix(system: System, shares: Mapping[str, float]) -> System:
    """The system with each precursor step's cobalt inputs re-weighed: the routes in ``shares``
    take their share of its cobalt (kg Co), the others share the rest as they did; each route's
    share is spread over the route's lots as the whole chain used them."""
    co = {
        i: n.elements.get("Co", 0.0) / n.output
        for i, n in enumerate(system.nodes)
        if n.material == "Co"
    }
    steps = [j for j, n in enumerate(system.nodes) if system.role(n.site) is SiteRole.PRECURSOR]
    pools: dict[str, dict[int, float]] = defaultdict(dict)
    for j in steps:
        for i, amount in system.nodes[j].inputs.items():
            if co.get(i):
                pool = pools[route(system, i)]
                pool[i] = pool.get(i, 0.0) + amount * co[i]
    for name, share in shares.items():
        if share > 0 and not pools.get(name):
            raise FootprintError(
                f"what-if: no {name} cobalt lots recorded at a precursor step to draw on"
            )
    nodes = list(system.nodes)
    for j in steps:
        node = nodes[j]
        kept = {i: a for i, a in node.inputs.items() if not co.get(i)}
        by_route: dict[str, float] = defaultdict(float)
        for i, amount in node.inputs.items():
            if co.get(i):
                by_route[route(system, i)] += amount * co[i]
        total = sum(by_route.values())
        if not total:
            continue
        rest = 1 - sum(shares.values())
        # the routes not set share the rest as this step used them, or as the chain did when
        # this step used none of them
        weights = {r: v for r, v in by_route.items() if r not in shares}
        if not any(weights.values()):
            weights = {r: sum(pools[r].values()) for r in ROUTES if r not in shares and r in pools}
        others = sum(weights.values())
        if rest > 1e-12 and not others:
            raise FootprintError("what-if: no other cobalt route recorded to take the rest")
        for name in ROUTES:
            share = shares[name] if name in shares else rest * weights.get(name, 0.0) / others
            pool = pools.get(name, {})
            weight = sum(pool.values())
            for i, used in pool.items():
                kept[i] = kept.get(i, 0.0) + share * total * used / weight / co[i]
        nodes[j] = replace(node, inputs=kept)
    return replace(system, nodes=nodes)


# --- levers on the rolled-up amounts ----------------------------------------------------------


def _lever_values(
    system: System,
    values: np.ndarray,
    levers: Sequence[Lever],
    current: str,
) -> np.ndarray:
    """kg CO2e per unit of each key's amount once the levers apply."""
    out = values.copy()
    keys = list(system.keys)

    def value_of(factor: str, col: int) -> float:
        """A factor's kg CO2e per unit of the key's amount (in its own factor's unit)."""
        new, old = system.factors.get(factor), system.factors.get(keys[col].factor)
        return new.value * convert(1.0, old.unit, new.unit)

    for lv in levers:
        if lv.name == "transport":
            for col, key in enumerate(keys):
                if key.kind == "transport":
                    out[col] = value_of(Mode(lv.value).factor, col)
        elif lv.name == "cell-grid":
            factor = (
                lv.value if lv.value in system.factors else f"electricity-grid-{lv.value.lower()}"
            )
            system.factors.get(factor)  # a FactorError when the set has no such factor
            for col, key in enumerate(keys):
                if key.stage is Stage.CELL and key.kind == "electricity":
                    out[col] = value_of(factor, col)
        elif lv.name == "wind":
            mixed = system.wind_mix()
            winds = sorted(f for f in mixed if system.kind(f) is FactorKind.WIND)
            grids = sorted(f for f in mixed if system.kind(f) is not FactorKind.WIND)
            if not winds:
                raise FootprintError(
                    "what-if: wind: no electricity mix with wind recorded at a refinery"
                )
            share = float(lv.value)
            for col, key in enumerate(keys):
                if (
                    key.stage is Stage.REFINING
                    and key.kind == "electricity"
                    and key.factor in mixed
                ):
                    grid = np.mean([value_of(f, col) for f in grids]) if grids else 0.0
                    out[col] = share * value_of(winds[0], col) + (1 - share) * grid
        elif lv.name == "chemistry" and lv.value != current:
            ratio = _chemistry_ratios(current, lv.value)
            for col, key in enumerate(keys):
                if key.material in ratio:
                    out[col] *= ratio[key.material]
                elif key.stage is Stage.CATHODE:
                    out[col] *= ratio["cathode"]
    return out


def _chemistry_ratios(current: str, other: str) -> dict[str, float]:
    """New over current kg per kWh of cathode and of each of its elements."""
    table = intensities()
    for name in (current, other):
        if name not in table:
            raise FootprintError(f"what-if: chemistry: {name!r} is not one of {', '.join(table)}")

    def per_kwh(name: str) -> dict[str, float]:
        row = table[name]
        try:
            fractions = mass_fractions(row.cam_formula)
        except BatteryTraceError as err:
            raise FootprintError(f"what-if: chemistry {name}: {err}") from None
        cam = row.kg_co_per_kwh / fractions["Co"]
        return {"cathode": cam} | {e: cam * fractions.get(e, 0.0) for e in ("Co", "Ni", "Mn", "Li")}

    now, then = per_kwh(current), per_kwh(other)
    return {k: then[k] / now[k] if now[k] else 1.0 for k in now}


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Average footprint per kWh of the packs, by year of assembly, under some levers."""

    label: str
    by_year: dict[int, float]
    kwh_by_year: dict[int, float]

    @property
    def latest(self) -> float:
        return self.by_year[max(self.by_year)]


@dataclass(slots=True)
class Targets:
    baseline: float  # kg CO2e/kWh, 2020
    baseline_source: str
    recorded: Evaluation
    levers: list[tuple[Lever | None, Evaluation]] = field(
        default_factory=list
    )  # None: all together

    def target(self, year: int) -> float | None:
        """The footprint per kWh allowed in a year (the latest target in force), None before."""
        cuts = [cut for start, cut in TARGETS if start <= year]
        return self.baseline * (1 - cuts[-1]) if cuts else None

    def reaches(self, ev: Evaluation) -> dict[int, bool]:
        return {year: ev.latest <= self.baseline * (1 - cut) for year, cut in TARGETS}

    def to_json(self) -> dict[str, object]:
        def show(ev: Evaluation) -> dict[str, object]:
            return {
                "label": ev.label,
                "kgCO2ePerKWhByYear": {str(y): v for y, v in ev.by_year.items()},
                "latest": ev.latest,
                "changeVsRecorded": ev.latest / self.recorded.latest - 1,
                "reaches": {str(y): ok for y, ok in self.reaches(ev).items()},
            }

        return {
            "baseline": {
                "year": BASE_YEAR,
                "kgCO2ePerKWh": self.baseline,
                "source": self.baseline_source,
            },
            "targets": [
                {"year": y, "cut": c, "kgCO2ePerKWh": self.baseline * (1 - c)} for y, c in TARGETS
            ],
            "progress": [
                {
                    "year": y,
                    "kgCO2ePerKWh": v,
                    "vsBaseline": v / self.baseline - 1,
                    "target": self.target(y),
                    "met": None if self.target(y) is None else v <= (self.target(y) or 0),
                    "kWh": self.recorded.kwh_by_year[y],
                }
                for y, v in sorted(self.recorded.by_year.items())
            ],
            "levers": [
                show(ev) | {"lever": str(lv) if lv else "all together"} for lv, ev in self.levers
            ],
        }


def evaluate(
    result: Rollup, packs: Mapping[int, float], label: str, values: np.ndarray | None = None
) -> Evaluation:
    """Σ kg CO2e / Σ kWh of the packs (node -> kWh) by year of assembly."""
    system = result.system
    k = len(result.values)
    rows = np.fromiter(packs, dtype=np.int64, count=len(packs))
    kwh = np.fromiter(packs.values(), dtype=float, count=len(packs))
    kg = result.per_unit[rows, :k] @ (result.values if values is None else values)
    years = np.fromiter((system.nodes[i].time.year for i in rows), dtype=np.int64, count=len(rows))
    by_year, kwh_by_year = {}, {}
    for year in np.unique(years):
        mask = years == year
        by_year[int(year)] = float(kg[mask].sum() / kwh[mask].sum())
        kwh_by_year[int(year)] = float(kwh[mask].sum())
    return Evaluation(label, by_year, kwh_by_year)


def targets(
    system: System,
    pack_classes: Mapping[str, tuple[float, str]],
    what_if: Sequence[str] = (),
    baseline: float | None = None,
) -> Targets:
    """The baseline, the targets, the yearly progress and each lever's effect (decision 010);
    ``pack_classes``: kWh and cathode chemistry of each pack class (master data)."""
    if baseline is not None and not (math.isfinite(baseline) and baseline > 0):
        raise FootprintError(f"baseline: {baseline} is not a positive finite number of kg CO2e/kWh")
    chosen = [lever(text) for text in (what_if or DEFAULT_LEVERS)]
    recorded = rollup(system)
    assembled = [
        (i, n.cls) for i, n in enumerate(system.nodes) if n.cls in pack_classes and n.inputs
    ]
    if not assembled:
        raise FootprintError("targets: no pack with a capacity in the master data was recorded")
    packs = {i: pack_classes[cls][0] for i, cls in assembled}
    chemistries = sorted({pack_classes[cls][1] for _, cls in assembled})
    if len(chemistries) != 1:
        raise FootprintError(
            f"targets: packs of one cathode chemistry expected, found {chemistries}"
        )
    chemistry = chemistries[0]
    now = evaluate(recorded, packs, "recorded")

    def under(
        levers: Sequence[Lever], label: str, shares: dict[str, float] | None = None
    ) -> Evaluation:
        rolled = rollup(cobalt_mix(system, shares)) if shares else recorded
        return evaluate(
            rolled, packs, label, _lever_values(rolled.system, rolled.values, levers, chemistry)
        )

    if baseline is None:
        base = under([Lever("wind", "0")], "2020", {"purchased": 1.0})
        baseline, source = (
            base.latest,
            (
                "the recorded chain with all cobalt bought as conventional sulfate and the "
                f"sulfate plant on grid power ({system.factors.label})"
            ),
        )
    else:
        source = "given by the user"
    report = Targets(baseline, source, now)
    for lv in chosen:
        shares = {"recycled": float(lv.value)} if lv.name == "recycled" else None
        report.levers.append((lv, under([lv], str(lv), shares)))
    if len(chosen) > 1:
        recycled = next((float(lv.value) for lv in chosen if lv.name == "recycled"), None)
        report.levers.append(
            (None, under(chosen, "all", None if recycled is None else {"recycled": recycled}))
        )
    return report
