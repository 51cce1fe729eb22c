"""Units: Rec. 20 codes, mass conversion, element content computed from formulas."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batterytrace.errors import InvalidFormula, UnitError
from batterytrace.units import (
    ATOMIC_WEIGHT,
    composition,
    element_mass_kg,
    is_rec20,
    mass_fractions,
    molar_mass,
    to_kg,
)

# Molar mass (g/mol) and metal mass fraction, from ../shared/reference/battery.md §3.1-3.2
# (computed there by hand with the same atomic weights).
REFERENCE = [
    ("CoSO4·7H2O", 281.09, "Co", 0.2097),
    ("CoSO4·H2O", 173.00, "Co", 0.3406),
    ("NiSO4·6H2O", 262.85, "Ni", 0.2233),
    ("MnSO4·H2O", 169.0, "Mn", 0.3251),
    ("CuSO4·5H2O", 249.7, "Cu", 0.2545),
    ("LiNi0.8Mn0.1Co0.1O2", 97.28, "Co", 0.0606),
    ("LiNi1/3Mn1/3Co1/3O2", 96.46, "Co", 0.204),
    ("LiNi0.5Mn0.3Co0.2O2", 96.55, "Co", 0.122),
    ("LiNi0.80Co0.15Al0.05O2", 96.08, "Co", 0.092),
]


@pytest.mark.parametrize(("formula", "molar", "element", "fraction"), REFERENCE)
def test_reference_compounds(formula: str, molar: float, element: str, fraction: float) -> None:
    assert molar_mass(formula) == pytest.approx(molar, abs=0.06)
    assert mass_fractions(formula)[element] == pytest.approx(fraction, abs=0.0006)


def test_agreement_cobalt_content() -> None:
    """5,000 t of CoSO4·7H2O hold about 1,050 t Co (DESIGN.md, battery.md §3.3)."""
    tonnes_co = element_mass_kg("CoSO4·7H2O", 5_000_000, "Co") / 1000
    assert tonnes_co == pytest.approx(1048, abs=1)
    assert element_mass_kg("CoSO4·7H2O", 1000, "Ni") == 0.0


def test_hydrate_and_group_notations_agree() -> None:
    assert composition("CoSO4.7H2O") == composition("CoSO4·7H2O") == composition("CoSO4*7H2O")
    assert composition("Co(OH)2") == {"Co": 1, "O": 2, "H": 2}
    assert composition("Ca3(PO4)2") == {"Ca": 3, "P": 2, "O": 8}
    assert composition("LiNi0.8Mn0.1Co0.1O2")["Ni"] == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("CoXx4", "'Xx' is not a known element"),
        ("Co(OH2", "'(' without ')'"),
        ("CoOH)2", "')' without '('"),
        ("Co2 3", "follows no element"),
        ("Co()2", "empty parentheses"),
        ("", "no element"),
        ("Co-SO4", "cannot read"),
    ],
)
def test_bad_formulas_are_named(formula: str, message: str) -> None:
    with pytest.raises(InvalidFormula, match=re.escape(message)):
        composition(formula)


elements = st.sampled_from(sorted(ATOMIC_WEIGHT))
counts = st.integers(1, 12)
formulas = st.lists(st.tuples(elements, counts), min_size=1, max_size=5).map(
    lambda parts: "".join(f"{e}{n if n > 1 else ''}" for e, n in parts)
)


@given(formulas)
def test_fractions_sum_to_one(formula: str) -> None:
    assert math.fsum(mass_fractions(formula).values()) == pytest.approx(1.0, rel=1e-12)


@given(formulas, formulas, st.integers(1, 10))
def test_adduct_adds_masses(base: str, adduct: str, n: int) -> None:
    assert molar_mass(f"{base}·{n}{adduct}") == pytest.approx(
        molar_mass(base) + n * molar_mass(adduct), rel=1e-12
    )


@given(formulas, st.integers(2, 6))
def test_group_count_multiplies(group: str, n: int) -> None:
    assert molar_mass(f"({group}){n}") == pytest.approx(n * molar_mass(group), rel=1e-12)


def test_mass_units() -> None:
    assert to_kg(5, "TNE") == 5000
    assert to_kg(250, "GRM") == 0.25
    assert to_kg(1, "LBR") == pytest.approx(0.45359237)
    with pytest.raises(UnitError, match="'KWH' is not a unit of mass"):
        to_kg(1, "KWH")
    assert is_rec20("KGM") and not is_rec20("KILO")
