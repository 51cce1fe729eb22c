"""Offtake agreements: the DESIGN.md agreement's cobalt and capacity, worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from batterytrace.contracts.agreement import Agreement
from batterytrace.contracts.deliveries import enabled, matching_chemistry
from batterytrace.contracts.intensity import intensities
from batterytrace.errors import ContractError

AGREEMENT: dict[str, Any] = {
    "id": "https://batterytrace.org/agreement/renault-managem-2022",
    "buyer": "urn:epc:id:pgln:3700000.00000",
    "seller": "urn:epc:id:pgln:6111111.00000",
    "product": "urn:epc:idpat:sgtin:6111111.000201.*",
    "formula": "CoSO4·7H2O",
    "annualKg": 5_000_000,
    "startYear": 2025,
    "years": 7,
    "tolerance": 0.05,
    "deliveryTerms": "CIF Dunkirk (Incoterms 2020)",
    "deliverySite": "urn:epc:id:sgln:3012345.00001.0",
    "annualGWh": 15,
}
# CoSO4·7H2O: Co 58.933 / (58.933 + 32.06 + 4 x 15.999 + 7 x 18.015) = 0.2097 (battery.md §3.1)
CO_PER_YEAR_KG = 5_000_000 * 58.933194 / 281.103


def test_the_agreement_carries_1048_t_of_cobalt_a_year() -> None:
    agreement = Agreement.from_json(AGREEMENT)
    assert agreement.element_fraction == pytest.approx(0.2097, abs=1e-4)
    assert agreement.annual_kg * agreement.element_fraction == pytest.approx(
        CO_PER_YEAR_KG, rel=1e-3
    )
    assert agreement.fraction_source == "stoichiometry:CoSO4·7H2O"
    assert list(agreement.term) == list(range(2025, 2032))
    assert agreement.product == "https://id.gs1.org/01/06111111002013"


def test_capacity_per_chemistry_and_the_one_matching_15_gwh() -> None:
    table = intensities()
    gwh = enabled(CO_PER_YEAR_KG, "Co", table)
    assert gwh["NMC811"] == pytest.approx(CO_PER_YEAR_KG / 0.081 / 1e6)  # ≈ 12.9 GWh
    assert gwh["NMC622"] == pytest.approx(CO_PER_YEAR_KG / 0.18 / 1e6)  # ≈ 5.8 GWh
    assert 12.5 < gwh["NMC811"] < 13.5
    assert matching_chemistry(Agreement.from_json(AGREEMENT), table) == "NMC811"
    assert all(i.source for i in table.values())


def test_the_json_round_trips() -> None:
    agreement = Agreement.from_json(AGREEMENT)
    assert Agreement.from_json(agreement.to_json()) == agreement


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"annualKg": 0}, "contract.annualKg: 0 kg is not a volume"),
        ({"annualKg": -5}, "contract.annualKg: -5 is not a number >= 0"),
        ({"tolerance": 1.5}, "contract.tolerance: 1.5 is not a share below 1"),
        ({"years": 2.5}, "contract.years: 2.5 is not a whole number >= 1"),
        ({"product": "cobalt sulfate"}, "contract.product:"),
        ({"deliverySite": "urn:epc:id:sgtin:3700000.010001.1"}, "is not a GS1 /414/ key"),
        ({"formula": "NiSO4·6H2O"}, "contract.formula: NiSO4·6H2O contains no Co"),
        ({"buyer": ""}, "contract.buyer: required"),
        ({"element": "Fe"}, "contract.element: 'Fe' is not one of"),
    ],
)
def test_bad_agreements_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractError, match=message.replace(".", r"\.").replace("(", r"\(")):
        Agreement.from_json(AGREEMENT | change)


def test_the_intensity_table_can_be_overridden(tmp_path: Any) -> None:
    own = tmp_path / "own.csv"
    own.write_text("chemistry,cam_formula,kg_co_per_kwh,source\nNMC811,x,0.09,our cell line\n")
    assert intensities(own)["NMC811"].kg_co_per_kwh == 0.09
    own.write_text("chemistry,cam_formula,kg_co_per_kwh,source\nNMC811,x,-1,ours\n")
    with pytest.raises(ContractError, match=r"line 2: kg_co_per_kwh: -1\.0 is not positive"):
        intensities(own)


@settings(max_examples=200, deadline=None)
@given(start=st.integers(-(10**12), 10**12), years=st.integers(-(10**12), 10**12))
@example(1900, 1)
@example(2200, 50)
@example(1899, 7)
@example(2201, 7)
@example(2025, 0)
@example(2025, 51)
@example(9990, 7)
@example(2025, 10**9)
def test_contract_years_are_bounded_by_the_format(start: int, years: int) -> None:
    """Issue 13, point 1: a contract file is accepted exactly when it starts within 1900..2200
    and lasts 1..50 years; otherwise one ContractError naming the file and the field."""
    from batterytrace.formats import AgreementFormat, checked
    from batterytrace.scenario.generator import contract

    item = contract(1.0) | {"startYear": start, "years": years}
    if 1900 <= start <= 2200 and 1 <= years <= 50:
        assert checked(AgreementFormat, item, "c.json", ContractError) is item
        return
    with pytest.raises(ContractError, match=r"^c\.json: \$\.(startYear|years): must be"):
        checked(AgreementFormat, item, "c.json", ContractError)
