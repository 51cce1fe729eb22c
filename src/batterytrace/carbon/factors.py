"""Emission factors: kg CO2e (GWP100) per unit of an activity, in named, versioned sets.

A set is a CSV table, one factor a row (columns in :data:`_COLUMNS`): an id, what the factor is
(its :class:`FactorKind`, and the transport :class:`~batterytrace.carbon.activity.Mode` of a
freight factor: the code recognises factors by these, never by their id), the activity unit the
factor is per (:data:`batterytrace.units.ACTIVITY_UNITS`), the value, its geography and reference
year, its uncertainty, the biogenic share, and where it comes from. The package ships one set,
``data/batterytrace-2026.1.csv`` (:func:`shipped`); a user's set may hold only the factors it
overrides, put over the shipped one with :meth:`FactorSet.over`.

Sources policy: every value comes from a public source, cited in its row (``source`` names the
publisher, dataset or table, year and GWP basis; ``reference`` is a URL or DOI). A value derived
from public figures (a range's centre, a unit conversion, a stoichiometric sum) says so and how.
Uncertainty is lognormal: a geometric standard deviation (``gsd``) or a 95 % range (``low``,
``high``). Where a source gives none, the GSD follows the ecoinvent pedigree approach
(Frischknecht et al. 2007, ecoinvent report No. 1, §7.5): GSD = exp(½·√Σ ln²Uᵢ) over the basic
uncertainty factor and the five pedigree scores' factors (reliability, completeness, temporal,
geographical and further technological correlation), and the row names the scores.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import TypeVar

from batterytrace.carbon.activity import Mode
from batterytrace.errors import FactorError, UnitError
from batterytrace.units import convert, dimension

SHIPPED_VERSION = "2026.1"

_COLUMNS = (
    "id", "name", "kind", "mode", "unit", "kgco2e_per_unit", "geography", "year", "gsd", "low",
    "high", "biogenic_share", "gwp", "source", "reference",
)  # fmt: skip
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_GEOGRAPHY = re.compile(r"[A-Z]{2}|GLO|EU|RER")  # ISO 3166-1 alpha-2, or a region
_Z95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal
_E = TypeVar("_E", bound=StrEnum)


class FactorKind(StrEnum):
    """What a factor is a factor of (the ``kind`` column)."""

    GRID = "grid"  # electricity from a grid (its consumption mix)
    WIND = "wind"  # electricity from wind
    SOLAR = "solar"  # electricity from the sun
    ELECTRICITY = "electricity"  # electricity from another source (hydro, nuclear...)
    FUEL = "fuel"
    REAGENT = "reagent"
    MATERIAL = "material"  # a purchased material or component, cradle to gate
    PROCESS = "process"  # a process per unit of output (cell manufacturing per kWh)
    FREIGHT = "freight"  # transport per t·km, by one ``mode``


@dataclass(frozen=True, slots=True)
class Factor:
    id: str
    name: str
    unit: str
    value: float  # kg CO2e per unit
    geography: str
    year: int
    gsd: float | None
    low: float | None
    high: float | None
    biogenic_share: float
    gwp: str  # the IPCC report whose GWP100 the value uses: AR4, AR5, AR6
    source: str
    reference: str
    kind: FactorKind
    mode: Mode | None = None  # of a freight factor, and only of one

    @property
    def sigma(self) -> float:
        """ln of the geometric standard deviation of the lognormal; from ``gsd``, else from the
        95 % range: max(ln(high/value), ln(value/low)) / 1.96."""
        if self.gsd is not None:
            return math.log(self.gsd)
        if self.low is None or self.high is None:
            raise FactorError(f"factor {self.id}: no uncertainty (gsd, or low and high)")
        return max(math.log(self.high / self.value), math.log(self.value / self.low)) / _Z95

    def amount(self, amount: float, unit: str) -> float:
        """``amount`` in ``unit`` expressed in the factor's unit (what its value multiplies)."""
        try:
            return convert(amount, unit, self.unit)
        except UnitError as err:
            raise FactorError(f"factor {self.id} is per {self.unit}: {err}") from None


@dataclass(frozen=True, slots=True)
class FactorSet:
    name: str
    version: str
    factors: Mapping[str, Factor]

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def get(self, id: str) -> Factor:
        found = self.factors.get(id)
        if found is None:
            raise FactorError(f"factor {id!r} is not in {self.label}")
        return found

    def __contains__(self, id: object) -> bool:
        return id in self.factors

    def over(self, base: FactorSet) -> FactorSet:
        """This set's factors over ``base``'s: a set that overrides a few keeps the rest of
        ``base``; the label stays this set's."""
        return FactorSet(
            self.name, self.version, MappingProxyType({**base.factors, **self.factors})
        )


def read_csv(text: str, name: str, version: str) -> FactorSet:
    """The set in ``text``; every problem is a :class:`FactorError` naming the line, the column
    and the rule."""
    from batterytrace.formats import csv_table

    reader = csv_table(text, FactorError)
    header = reader.fieldnames or []
    for column in _COLUMNS:
        if column not in header:
            raise FactorError(f"line 1: {column}: missing column")
    for column in header:
        if column not in _COLUMNS:
            raise FactorError(f"line 1: {column}: unknown column")
    factors: dict[str, Factor] = {}
    lines: dict[str, int] = {}
    for row in reader:
        n = reader.line_num
        if None in row:
            raise FactorError(f"line {n}: {_COLUMNS[-1]}: more fields than columns")
        factor = _factor(row, n)
        if factor.id in factors:
            raise FactorError(f"line {n}: id: {factor.id!r} is already on line {lines[factor.id]}")
        factors[factor.id] = factor
        lines[factor.id] = n
    return FactorSet(name, version, MappingProxyType(factors))


def _factor(row: dict[str, str], n: int) -> Factor:
    text = {column: (row[column] or "").strip() for column in _COLUMNS}

    def number(column: str) -> float | None:
        if not text[column]:
            return None
        try:
            x = float(text[column])
        except ValueError:
            raise FactorError(f"line {n}: {column}: {text[column]!r} is not a number") from None
        if not math.isfinite(x):
            raise FactorError(f"line {n}: {column}: {text[column]!r} is not a finite number")
        return x

    def required(column: str) -> str:
        if not text[column]:
            raise FactorError(f"line {n}: {column}: required")
        return text[column]

    if not _ID.fullmatch(required("id")):
        raise FactorError(f"line {n}: id: {text['id']!r} is not a lowercase kebab-case id")
    kind = _choice(FactorKind, required("kind"), n, "kind")
    mode = _choice(Mode, text["mode"], n, "mode") if text["mode"] else None
    if (kind is FactorKind.FREIGHT) != (mode is not None):
        raise FactorError(f"line {n}: mode: required for kind freight, and only for it")
    try:
        dimension(required("unit"))
    except UnitError as err:
        raise FactorError(f"line {n}: unit: {err}") from None
    value = number("kgco2e_per_unit")
    if value is None or not value > 0:
        raise FactorError(f"line {n}: kgco2e_per_unit: a positive number is required")
    if not _GEOGRAPHY.fullmatch(required("geography")):
        raise FactorError(
            f"line {n}: geography: {text['geography']!r} is not an ISO 3166-1 alpha-2 code, "
            "GLO, EU or RER"
        )
    if not re.fullmatch(r"\d{4}", required("year")):
        raise FactorError(f"line {n}: year: {text['year']!r} is not a year")
    gsd, low, high = number("gsd"), number("low"), number("high")
    if gsd is not None and not gsd > 1:
        raise FactorError(f"line {n}: gsd: {gsd:g} is not greater than 1")
    if (low is None) != (high is None):
        raise FactorError(
            f"line {n}: {'high' if high is None else 'low'}: low and high go together"
        )
    if low is not None and high is not None and not 0 < low <= value <= high:
        raise FactorError(
            f"line {n}: low: the range {low:g}..{high:g} does not contain the value {value:g}"
        )
    if gsd is None and low is None:
        raise FactorError(f"line {n}: gsd: an uncertainty is required (gsd, or low and high)")
    share = number("biogenic_share")
    if share is None or not 0 <= share <= 1:
        raise FactorError(f"line {n}: biogenic_share: a share from 0 to 1 is required")
    if not re.fullmatch(r"AR[1-9]", required("gwp")):
        raise FactorError(f"line {n}: gwp: {text['gwp']!r} is not an IPCC report (AR5, AR6...)")
    return Factor(
        text["id"], required("name"), text["unit"], value, text["geography"], int(text["year"]),
        gsd, low, high, share, text["gwp"], required("source"), required("reference"), kind, mode,
    )  # fmt: skip


def _choice(enum: type[_E], value: str, n: int, column: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        raise FactorError(
            f"line {n}: {column}: {value!r} is not one of {', '.join(e.value for e in enum)}"
        ) from None


def write_csv(factors: FactorSet) -> str:
    """The set as CSV text, columns in :data:`_COLUMNS` order; :func:`read_csv` reads it back."""

    def number(x: float | None) -> str:
        return "" if x is None else repr(x).removesuffix(".0")

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for f in factors.factors.values():
        writer.writerow((
            f.id, f.name, f.kind.value, f.mode.value if f.mode else "", f.unit, number(f.value),
            f.geography, f.year, number(f.gsd), number(f.low), number(f.high),
            number(f.biogenic_share), f.gwp, f.source, f.reference,
        ))  # fmt: skip
    return out.getvalue()


@cache
def shipped() -> FactorSet:
    """The factor set shipped with the package (``data/batterytrace-2026.1.csv``)."""
    path = f"data/batterytrace-{SHIPPED_VERSION}.csv"
    text = resources.files("batterytrace.carbon").joinpath(path).read_text("utf-8")
    return read_csv(text, "batterytrace", SHIPPED_VERSION)
