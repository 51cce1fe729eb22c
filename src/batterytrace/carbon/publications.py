"""Footprints a company publishes to its PACT partners (decision 042), and how a PACT host
lists them: the ListFootprints filters of the Technical Specifications v3.0 (query
parameters) and v2.3 (``$filter``, an OData subset).

A publication is immutable, as PACT wants a footprint to be: publishing a product again
makes a new footprint that names the old one in ``precedingPfIds``; the old one is then
``Deprecated``. Its id is derived from the product and the publication's number, so every
backend and every replay of the ledger give the same one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from batterytrace.errors import PactError

Document = Mapping[str, Any]
VERSIONS = ("2", "3")  # the routes /2/ (PACT v2.3) and /3/ (PACT v3.0)
STATUSES = ("Active", "Deprecated")


def footprint_id(product: str, number: int) -> str:
    """The ProductFootprint id of ``product``'s ``number``-th publication."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{product}#pact-publication-{number}"))


def moment(at: datetime) -> str:
    """A PACT date-time as published here: UTC, to the second, with ``Z`` (one format, so
    that the v2 ``$filter`` comparisons of text and of time agree)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Publication:
    """One published footprint: its documents in both versions, its status now."""

    id: str
    product: str  # the lot, item or pack (canonical Digital Link)
    number: int
    created: str  # moment()
    status: str  # Active | Deprecated
    updated: str | None  # when it was deprecated
    documents: Mapping[str, Document]  # "2" / "3" -> the ProductFootprint as published

    def document(self, version: str) -> dict[str, Any]:
        """The ProductFootprint in ``version`` with its status now (v2.3 also says when it
        changed: ``updated``, which v3.0 dropped)."""
        document = dict(self.documents[version]) | {"status": self.status}
        if version == "2" and self.updated is not None:
            document["updated"] = self.updated
        return document


# What a new publication changes in a document besides its figures
_OF_THE_PUBLICATION = ("id", "created", "precedingPfIds", "version", "status", "updated")


def same_figures(a: Document, b: Document) -> bool:
    """Whether two documents of one product state the same footprint (publishing it again
    would say nothing new)."""

    def figures(d: Document) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k not in _OF_THE_PUBLICATION}

    return figures(a) == figures(b)


# ---- v3.0 ListFootprints filters (TS v3.0 §6.6: "Filtering") ----------------------------------

_LISTS = {  # query parameter -> the document's list it matches an element of
    "productId": ("productIds",),
    "companyId": ("companyIds",),
    "classification": ("productClassifications",),
    "geography": (
        "pcf.geographyCountry",
        "pcf.geographyRegionOrSubregion",
        "pcf.geographyCountrySubdivision",
    ),
    "status": ("status",),
}
_MOMENTS = ("validOn", "validAfter", "validBefore")
PARAMETERS = (*_LISTS, *_MOMENTS)


@dataclass(frozen=True, slots=True)
class Filter:
    """The v3.0 filters of one request: the values of one parameter are alternatives (OR),
    the parameters all apply (AND); identifiers match without regard to case (TS v3.0)."""

    values: Mapping[str, frozenset[str]]  # parameter -> accepted values, lower case
    valid_on: datetime | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None

    @classmethod
    def of(cls, query: Mapping[str, list[str]]) -> Filter:
        """From a request's query parameters (each with its repeated values); an empty value
        filters nothing. PactError naming the parameter for a date-time that is not one."""
        values = {}
        for name in _LISTS:
            given = frozenset(v.strip().lower() for v in query.get(name, ()) if v.strip())
            if given:
                values[name] = given
        moments: dict[str, datetime | None] = {}
        for name in _MOMENTS:
            given_moments = [v for v in query.get(name, ()) if v.strip()]
            if len(given_moments) > 1:
                raise PactError(f"{name}: given {len(given_moments)} times; give it once")
            moments[name] = _date_time(name, given_moments[0]) if given_moments else None
        return cls(values, moments["validOn"], moments["validAfter"], moments["validBefore"])

    def __call__(self, document: Document) -> bool:
        for name, accepted in self.values.items():
            found = {str(v).lower() for path in _LISTS[name] for v in _values(document, path)}
            if not found & accepted:
                return False
        if self.valid_on or self.valid_after or self.valid_before:
            start, end = validity(document)
            if self.valid_on and not start <= self.valid_on <= end:
                return False
            if self.valid_after and not start > self.valid_after:
                return False
            if self.valid_before and not end < self.valid_before:
                return False
        return True


def validity(document: Document) -> tuple[datetime, datetime]:
    """A footprint's validity period: ``validityPeriodStart`` to ``validityPeriodEnd`` when
    both are given, else from the end of its reference period for 3 years (TS v3.0,
    ``validityPeriodStart``: "If not specified, ... referencePeriodEnd ... + 3 years")."""
    start, end = document.get("validityPeriodStart"), document.get("validityPeriodEnd")
    if start and end:
        return _date_time("validityPeriodStart", start), _date_time("validityPeriodEnd", end)
    begins = _date_time("pcf.referencePeriodEnd", document["pcf"]["referencePeriodEnd"])
    try:
        return begins, begins.replace(year=begins.year + 3)
    except ValueError:  # 29 February
        return begins, begins.replace(year=begins.year + 3, day=28)


def _values(document: Document, path: str) -> list[Any]:
    here: Any = document
    for key in path.split("."):
        if not isinstance(here, Mapping) or key not in here:
            return []
        here = here[key]
    return list(here) if isinstance(here, list) else [here]


def _date_time(name: str, text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip().replace(" ", "+"))  # "+" decoded as a space
    except ValueError:
        raise PactError(f"{name}: {text!r} is not an ISO 8601 date-time") from None
    if at.tzinfo is None:
        raise PactError(f"{name}: {text!r} has no time zone (write Z or an offset)")
    return at


# ---- v2.3 ListFootprints $filter (TS v2.3 §6.6.1, OData v4 subset) -----------------------------

# created, updated: compared as PACT writes them (text of one format, so text order is time
# order); productCategoryCpc, pcf/geographyCountry, status: equality; productIds, companyIds:
# "any" of their elements equal.
_COMPARE = re.compile(
    r"(created|updated|productCategoryCpc|status|pcf/geographyCountry)\s+(eq|ne|lt|le|gt|ge)"
    r"\s+'([^']*)'"
)
_ANY = re.compile(r"(productIds|companyIds)/any\((\w+):\(?\s*\2\s+eq\s+'([^']*)'\s*\)?\)")
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "eq": str.__eq__,
    "ne": str.__ne__,
    "lt": str.__lt__,
    "le": str.__le__,
    "gt": str.__gt__,
    "ge": str.__ge__,
}


def odata_filter(text: str) -> Callable[[Document], bool]:
    """The predicate of a v2.3 ``$filter``: conditions joined by ``and``; PactError naming
    the part not understood."""
    conditions: list[Callable[[Document], bool]] = []
    for part in re.split(r"\s+and\s+", text.strip()):
        if match := _COMPARE.fullmatch(part.strip()):
            field, op, value = match.groups()
            conditions.append(_comparison(field.replace("/", "."), _OPERATORS[op], value))
        elif match := _ANY.fullmatch(part.strip()):
            field, _, value = match.groups()
            conditions.append(_any(field, value))
        else:
            raise PactError(
                f"$filter: {part.strip()!r} is not a condition this host takes (created, "
                "updated, productCategoryCpc, status or pcf/geographyCountry compared with "
                "eq/ne/lt/le/gt/ge to a quoted value; productIds/any(p:(p eq '...')), "
                "companyIds/any(...); joined by and)"
            )
    return lambda d: all(c(d) for c in conditions)


def _any(path: str, value: str) -> Callable[[Document], bool]:
    return lambda document: value in _values(document, path)


def _comparison(
    path: str, op: Callable[[str, str], bool], value: str
) -> Callable[[Document], bool]:
    def holds(document: Document) -> bool:
        found = _values(document, path)
        return bool(found) and op(str(found[0]), value)

    return holds
