"""The PACT host's listing rules (decision 042): the v3.0 filters (OR within a parameter, AND
across, case-insensitive identifiers, the validity period and its fallback), the v2.3
``$filter`` subset, the ids of publications."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batterytrace.carbon.publications import Filter, footprint_id, odata_filter, validity
from batterytrace.errors import PactError

IDS = st.sampled_from(["urn:a:1", "urn:a:2", "urn:B:3", "urn:c:4"])
MOMENTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    end = draw(MOMENTS)
    document: dict[str, Any] = {
        "productIds": draw(st.lists(IDS, min_size=1, max_size=2, unique=True)),
        "companyIds": draw(st.lists(IDS, min_size=1, max_size=2, unique=True)),
        "status": draw(st.sampled_from(["Active", "Deprecated"])),
        "pcf": {"referencePeriodEnd": end.isoformat(), "geographyCountry": "FR"},
    }
    if draw(st.booleans()):
        start = draw(MOMENTS)
        document["validityPeriodStart"] = start.isoformat()
        document["validityPeriodEnd"] = max(start, draw(MOMENTS)).isoformat()
    return document


def _keeps(query: dict[str, list[str]], document: dict[str, Any]) -> bool:
    return Filter.of(query)(document)


@given(documents(), st.lists(IDS, min_size=1, max_size=3), st.lists(IDS, min_size=1, max_size=3))
def test_values_of_one_parameter_are_alternatives_and_parameters_all_apply(
    document: dict[str, Any], products: list[str], companies: list[str]
) -> None:
    alone = [_keeps({"productId": [p]}, document) for p in products]
    assert _keeps({"productId": products}, document) == any(alone)
    both = {"productId": products, "companyId": companies}
    assert _keeps(both, document) == (
        _keeps({"productId": products}, document) and _keeps({"companyId": companies}, document)
    )
    upper = [p.upper() for p in products]
    assert _keeps({"productId": upper}, document) == _keeps({"productId": products}, document)
    assert _keeps({}, document) and _keeps({"geography": [""]}, document)


@given(documents(), MOMENTS)
def test_valid_on_after_and_before_follow_the_validity_period(
    document: dict[str, Any], at: datetime
) -> None:
    start, end = validity(document)
    text = at.isoformat().replace("+00:00", "Z")
    assert _keeps({"validOn": [text]}, document) == (start <= at <= end)
    assert _keeps({"validAfter": [text]}, document) == (start > at)
    assert _keeps({"validBefore": [text]}, document) == (end < at)


def test_without_a_validity_period_a_footprint_is_valid_three_years_from_its_reference_end() -> (
    None
):
    document = {"pcf": {"referencePeriodEnd": "2024-02-29T00:00:00Z"}}
    assert validity(document) == (
        datetime(2024, 2, 29, tzinfo=UTC),
        datetime(2027, 2, 28, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"validOn": ["yesterday"]}, "validOn"),
        ({"validAfter": ["2025-01-01T00:00:00"]}, "no time zone"),
        ({"validBefore": ["2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]}, "once"),
    ],
)
def test_a_moment_that_is_not_one_is_refused_naming_the_parameter(
    query: dict[str, list[str]], words: str
) -> None:
    with pytest.raises(PactError, match=words):
        Filter.of(query)


def test_the_odata_subset_compares_and_joins() -> None:
    document = {
        "created": "2026-01-02T00:00:00Z",
        "status": "Active",
        "productIds": ["urn:a:1", "urn:a:2"],
        "pcf": {"geographyCountry": "FR"},
    }
    holds = {
        "created ge '2026-01-01T00:00:00Z'": True,
        "created lt '2026-01-01T00:00:00Z'": False,
        "status eq 'Active' and pcf/geographyCountry eq 'FR'": True,
        "productIds/any(p:(p eq 'urn:a:2'))": True,
        "productIds/any(p:(p eq 'urn:a:3')) and status eq 'Active'": False,
        "updated ge '2026-01-01T00:00:00Z'": False,  # no updated: never published again
    }
    for text, expected in holds.items():
        assert odata_filter(text)(document) is expected, text


@given(st.text(max_size=80))
def test_any_filter_text_is_read_or_refused_naming_it(text: str) -> None:
    try:
        odata_filter(text)({"created": "2026-01-01T00:00:00Z"})
    except PactError as exc:
        assert str(exc).startswith("$filter: ")


def test_publication_ids_are_uuids_of_the_product_and_number() -> None:
    first = footprint_id("https://id.gs1.org/01/03700000300014/21/P1", 1)
    assert first == footprint_id("https://id.gs1.org/01/03700000300014/21/P1", 1)
    assert len({first, footprint_id("https://id.gs1.org/01/03700000300014/21/P1", 2),
                footprint_id("https://id.gs1.org/01/03700000300014/21/P2", 1)}) == 3  # fmt: skip
