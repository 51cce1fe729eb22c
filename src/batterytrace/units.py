"""Units of measure and element content.

UN/CEFACT Recommendation 20 codes, as EPCIS quantities and sensor reports use them; conversion of
mass quantities to kilograms; and element mass fractions of compounds computed from their
formula and standard atomic weights (kg Co in kg CoSO4·7H2O), never typed in.

The table holds the Rec. 20 common codes this field meets (mass, volume, energy, power, length,
area, time, temperature, counts, concentrations, electrical and sensor units), each with its
name. Source: UNECE Recommendation No. 20, Codes for Units of Measure Used in International
Trade, Revision 17 (2021), Annexes II/III. A code outside the table is rejected as unknown;
extend the table (with the Rec. 20 name) when a partner needs another one.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from batterytrace.errors import InvalidFormula, UnitError

REC20: dict[str, str] = {
    # mass
    "KGM": "kilogram", "GRM": "gram", "MGM": "milligram", "MC": "microgram", "TNE": "tonne",
    "KTN": "kilotonne", "DTN": "decitonne", "LBR": "pound", "ONZ": "ounce",
    "STN": "ton (US) or short ton", "LTN": "ton (UK) or long ton",
    # volume
    "LTR": "litre", "MLT": "millilitre", "CLT": "centilitre", "DLT": "decilitre",
    "HLT": "hectolitre", "MTQ": "cubic metre", "DMQ": "cubic decimetre",
    "CMQ": "cubic centimetre", "MMQ": "cubic millimetre", "GLL": "gallon (US)",
    "GLI": "gallon (UK)", "BLL": "barrel (US)",
    # length, area, speed
    "MTR": "metre", "KMT": "kilometre", "CMT": "centimetre", "MMT": "millimetre",
    "DMT": "decimetre", "4H": "micrometre", "INH": "inch", "FOT": "foot", "YRD": "yard",
    "SMI": "mile (statute mile)", "NMI": "nautical mile", "MTK": "square metre",
    "KMK": "square kilometre", "CMK": "square centimetre", "HAR": "hectare",
    "MTS": "metre per second", "KMH": "kilometre per hour", "KNT": "knot",
    # energy and power
    "JOU": "joule", "KJO": "kilojoule", "3B": "megajoule", "GV": "gigajoule",
    "WHR": "watt hour", "KWH": "kilowatt hour", "MWH": "megawatt hour (1000 kW.h)",
    "GWH": "gigawatt hour", "WTT": "watt", "KWT": "kilowatt", "MAW": "megawatt",
    "A90": "gigawatt", "D32": "terawatt hour", "BTU": "British thermal unit (international table)",
    # electrical
    "AMP": "ampere", "4K": "milliampere", "AMH": "ampere hour", "E09": "milliampere hour",
    "VLT": "volt", "KVT": "kilovolt", "2Z": "millivolt", "OHM": "ohm", "FAR": "farad",
    "COU": "coulomb", "SIE": "siemens", "D10": "siemens per metre",
    # time
    "SEC": "second [unit of time]", "MIN": "minute [unit of time]", "HUR": "hour",
    "DAY": "day", "WEE": "week", "MON": "month", "ANN": "year", "C26": "millisecond",
    # temperature
    "CEL": "degree Celsius", "FAH": "degree Fahrenheit", "KEL": "kelvin",
    # counts and ratios
    "C62": "one", "H87": "piece", "EA": "each", "PR": "pair", "SET": "set",
    "NAR": "number of articles",
    "P1": "percent", "59": "part per million", "61": "part per billion",
    "NX": "part per thousand", "E40": "part per hundred thousand",
    # mass / volume concentrations and densities
    "KMQ": "kilogram per cubic metre", "23": "gram per cubic centimetre",
    "GL": "gram per litre", "M1": "milligram per litre", "A93": "gram per cubic metre",
    "GP": "milligram per cubic metre", "H29": "microgram per litre",
    "C35": "mole per cubic metre", "C38": "mole per litre", "C18": "millimole",
    "C34": "mole", "NA": "milligram per kilogram", "GJ": "gram per millilitre",
    # pressure, force, angle, light, sound, radiation
    "PAL": "pascal", "KPA": "kilopascal", "A97": "hectopascal", "MPA": "megapascal",
    "BAR": "bar [unit of pressure]", "MBR": "millibar", "NEW": "newton",
    "DD": "degree [unit of angle]",
    "C81": "radian", "LUX": "lux", "CDL": "candela", "LUM": "lumen", "2N": "decibel",
    "P71": "nanosievert per hour", "D13": "sievert", "P70": "nanosievert", "CUR": "curie",
    "BQL": "becquerel", "HTZ": "hertz", "KHZ": "kilohertz", "RPM": "revolutions per minute",
    # transport work and emissions
    "TKM": "tonne kilometre", "KWN": "kilogram of named substance",
}  # fmt: skip


def is_rec20(code: str) -> bool:
    """True when ``code`` is a UN/CEFACT Rec. 20 code known to the table."""
    return code in REC20


# Mass units to kilograms (Rec. 20 codes above).
KG_PER: dict[str, float] = {
    "KGM": 1.0, "GRM": 1e-3, "MGM": 1e-6, "MC": 1e-9, "TNE": 1e3, "KTN": 1e6, "DTN": 100.0,
    "LBR": 0.45359237, "ONZ": 0.028349523125, "STN": 907.18474, "LTN": 1016.0469088,
}  # fmt: skip


# Volume units to litres, and the count units (a quantity without a unit is a count too, EPCIS
# 2.0 §7.3.3.3): a volume or a count becomes kg only by the master data (a density, a mass per
# item).
LITRES_PER: dict[str, float] = {
    "LTR": 1.0, "MLT": 1e-3, "CLT": 1e-2, "DLT": 0.1, "HLT": 100.0, "MTQ": 1000.0, "DMQ": 1.0,
    "CMQ": 1e-3, "MMQ": 1e-6, "GLL": 3.785411784, "GLI": 4.54609, "BLL": 158.987294928,
}  # fmt: skip
COUNT_UNITS = frozenset({"C62", "H87", "EA", "NAR"})


def to_kg(quantity: float, uom: str) -> float:
    """A mass in kilograms; a quantity in any other unit (pieces, litres...) is refused."""
    factor = KG_PER.get(uom)
    if factor is None:
        raise UnitError(
            f"uom {uom!r} is not a unit of mass (kg conversion known for {sorted(KG_PER)})"
        )
    return _finite(quantity * factor, quantity, uom, "kg")


# IUPAC standard atomic weights, abridged to five significant figures (CIAAW 2021, "Standard
# atomic weights of the elements 2021", Pure Appl. Chem. 94 (2022) 573); elements of battery
# materials, their reagents and impurities.
ATOMIC_WEIGHT: dict[str, float] = {
    "H": 1.008, "Li": 6.94, "B": 10.81, "C": 12.011, "N": 14.007, "O": 15.999, "F": 18.998,
    "Na": 22.990, "Mg": 24.305, "Al": 26.982, "Si": 28.085, "P": 30.974, "S": 32.06,
    "Cl": 35.45, "K": 39.098, "Ca": 40.078, "Ti": 47.867, "V": 50.942, "Cr": 51.996,
    "Mn": 54.938, "Fe": 55.845, "Co": 58.933, "Ni": 58.693, "Cu": 63.546, "Zn": 65.38,
    "As": 74.922, "Se": 78.971, "Zr": 91.224, "Nb": 92.906, "Mo": 95.95, "Ag": 107.87,
    "Cd": 112.41, "Sn": 118.71, "Sb": 121.76, "W": 183.84, "Pb": 207.2, "Hg": 200.59,
}  # fmt: skip

_TOKEN = re.compile(r"\s*(?:([A-Z][a-z]?)|(\()|(\))|([·.*•])|(\d+(?:\.\d+)?(?:/\d+)?))")


def _number(text: str) -> float:
    if "/" in text:  # LiNi1/3Mn1/3Co1/3O2
        numerator, denominator = text.split("/")
        return int(numerator) / int(denominator)
    return float(text)


@lru_cache(maxsize=1024)
def composition(formula: str) -> dict[str, float]:
    """Atoms of each element in one formula unit: ``CoSO4·7H2O`` → Co 1, S 1, O 11, H 14.

    Accepts decimal and fractional counts (``LiNi0.8Mn0.1Co0.1O2``, ``LiNi1/3Mn1/3Co1/3O2``),
    parentheses (``Ni(OH)2``) and hydrate parts after ``·``, ``*`` or ``•`` with a leading
    count (``·7H2O``). An ASCII ``.`` is a decimal point, except before water (``.7H2O``).
    """
    parts = re.split(r"[·*•]|\.(?=\d*H2O)", formula.strip())
    total: dict[str, float] = {}
    for part in parts:
        part = part.strip()
        lead = re.match(r"(\d+(?:\.\d+)?)\s*", part)
        factor = float(lead.group(1)) if lead else 1.0
        for element, count in _group(formula, part[lead.end() if lead else 0 :]).items():
            total[element] = total.get(element, 0.0) + factor * count
    if not total:
        raise InvalidFormula(f"{formula!r}: no element in the formula")
    return total


def _group(formula: str, text: str) -> dict[str, float]:
    stack: list[dict[str, float]] = [{}]
    last: dict[str, float] | None = None  # what a following count multiplies
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise InvalidFormula(f"{formula!r}: cannot read {text[pos:]!r}")
        pos = m.end()
        element, opening, closing, dot, count = m.groups()
        if element is not None:
            if element not in ATOMIC_WEIGHT:
                raise InvalidFormula(f"{formula!r}: {element!r} is not a known element")
            last = {element: 1.0}
            _add(stack[-1], last)
        elif opening is not None:
            stack.append({})
            last = None
        elif closing is not None:
            if len(stack) == 1:
                raise InvalidFormula(f"{formula!r}: ')' without '('")
            last = stack.pop()
            if not last:
                raise InvalidFormula(f"{formula!r}: empty parentheses")
            _add(stack[-1], last)
        elif count is not None:
            if last is None:
                raise InvalidFormula(f"{formula!r}: the count {count} follows no element or group")
            _add(stack[-1], {e: n * (_number(count) - 1) for e, n in last.items()})
            last = None
        elif dot is not None:
            raise InvalidFormula(f"{formula!r}: a hydrate dot inside parentheses")
    if len(stack) != 1:
        raise InvalidFormula(f"{formula!r}: '(' without ')'")
    return stack[0]


def _add(into: dict[str, float], atoms: dict[str, float]) -> None:
    for element, n in atoms.items():
        into[element] = into.get(element, 0.0) + n


def molar_mass(formula: str) -> float:
    """g/mol of one formula unit."""
    return sum(ATOMIC_WEIGHT[e] * n for e, n in composition(formula).items())


def mass_fractions(formula: str) -> dict[str, float]:
    """kg of each element per kg of the compound (they sum to 1)."""
    total = molar_mass(formula)
    return {e: ATOMIC_WEIGHT[e] * n / total for e, n in composition(formula).items()}


def element_mass_kg(formula: str, compound_kg: float, element: str) -> float:
    """kg of ``element`` in ``compound_kg`` kg of the compound (0 when it holds none)."""
    return compound_kg * mass_fractions(formula).get(element, 0.0)


# Activity units of the carbon footprint, by dimension: each unit's size in the dimension's base
# unit (kWh, kg, L, tkm, kWh_capacity, kgCO2e, item) as an exact ratio numerator/denominator, so
# that 1 kWh is exactly 3.6 MJ. Energy and battery capacity are different dimensions on purpose:
# a kWh of electricity used is never a kWh of battery capacity made.
ACTIVITY_UNITS: dict[str, tuple[str, int, int]] = {
    "Wh": ("energy", 1, 1000), "kWh": ("energy", 1, 1), "MWh": ("energy", 1000, 1),
    "GWh": ("energy", 10**6, 1), "kJ": ("energy", 1, 3600), "MJ": ("energy", 5, 18),
    "GJ": ("energy", 2500, 9), "TJ": ("energy", 2_500_000, 9),
    "g": ("mass", 1, 1000), "kg": ("mass", 1, 1), "t": ("mass", 1000, 1),
    "L": ("volume", 1, 1), "m3": ("volume", 1000, 1),
    "tkm": ("freight", 1, 1), "kgkm": ("freight", 1, 1000),
    "kWh_capacity": ("capacity", 1, 1), "MWh_capacity": ("capacity", 1000, 1),
    "gCO2e": ("emissions", 1, 1000), "kgCO2e": ("emissions", 1, 1), "tCO2e": ("emissions", 1000, 1),
    "item": ("count", 1, 1),
}  # fmt: skip

# The Rec. 20 codes (table above) accepted for the same activity units.
ACTIVITY_REC20: dict[str, str] = {
    "WHR": "Wh", "KWH": "kWh", "MWH": "MWh", "GWH": "GWh", "KJO": "kJ", "3B": "MJ", "GV": "GJ",
    "GRM": "g", "KGM": "kg", "TNE": "t", "LTR": "L", "MTQ": "m3", "TKM": "tkm",
}  # fmt: skip


def _activity_unit(unit: str) -> tuple[str, int, int]:
    found = ACTIVITY_UNITS.get(ACTIVITY_REC20.get(unit, unit))
    if found is None:
        raise UnitError(f"unknown unit {unit!r}; known: {', '.join(ACTIVITY_UNITS)}")
    return found


def dimension(unit: str) -> str:
    """The dimension of an activity unit: energy, mass, volume, freight, capacity, emissions or
    count; an unknown unit is a :class:`UnitError`."""
    return _activity_unit(unit)[0]


def convert(amount: float, unit: str, to: str) -> float:
    """``amount`` in ``unit`` expressed in ``to``, both activity units of one dimension."""
    dim, num, den = _activity_unit(unit)
    dim_to, num_to, den_to = _activity_unit(to)
    if dim != dim_to:
        raise UnitError(f"cannot convert {unit} ({dim}) to {to} ({dim_to})")
    return _finite(amount * (num * den_to) / (den * num_to), amount, unit, to)


def _finite(result: float, amount: float, unit: str, to: str) -> float:
    """``result`` of converting ``amount``, refused when it overflowed past any float."""
    if math.isfinite(result):
        return result
    raise UnitError(f"{amount:g} {unit} is more than any finite number of {to}")
