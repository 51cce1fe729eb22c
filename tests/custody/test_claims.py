"""Claims: the names the chain-of-custody models know, refused with the rule otherwise."""

from __future__ import annotations

import pytest

from batterytrace.custody.claims import Claim, Model, parse_claim
from batterytrace.errors import InvalidClaim


@pytest.mark.parametrize(
    ("text", "claim"),
    [
        ("low-carbon", Claim("low-carbon")),
        ("recycled", Claim("recycled")),
        ("certified:RMI-RMAP", Claim("certified", "RMI-RMAP")),
        ("origin:MA", Claim("origin", "MA")),
        ("agreement:RM-2022-CO", Claim("agreement", "RM-2022-CO")),
    ],
)
def test_claims_read_and_print_the_same(text: str, claim: Claim) -> None:
    assert parse_claim(text) == claim and str(claim) == text


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("green", "kind 'green' is not one of low-carbon, recycled, certified, origin, agreement"),
        ("origin:Morocco", "origin needs a value, an ISO 3166-1 alpha-2 country code"),
        ("origin:", "origin needs a value"),
        ("low-carbon:yes", "low-carbon takes no value"),
        ("certified: RMAP", "certified needs a value, an identifier"),
    ],
)
def test_bad_claims_name_the_rule(text: str, rule: str) -> None:
    with pytest.raises(InvalidClaim, match=rule):
        parse_claim(text)


def test_which_models_keep_claims_on_the_material() -> None:
    assert {m for m in Model if m.physical} == {Model.IDENTITY_PRESERVED, Model.SEGREGATED}
    assert Model("mass-balance") is Model.MASS_BALANCE
