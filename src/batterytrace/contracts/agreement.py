"""An offtake agreement: who sells what to whom, how much a year, for how long, within which
tolerance, delivered where; the element its product contains.

JSON (all masses in kg; ``formula`` gives the element content by stoichiometry, or
``elementFraction`` states it)::

    {"id": "https://batterytrace.org/agreement/renault-managem-2022",
     "buyer": "urn:epc:id:pgln:3700000.00000", "seller": "urn:epc:id:pgln:6111111.00000",
     "product": "urn:epc:idpat:sgtin:6111111.000201.*", "formula": "CoSO4·7H2O",
     "element": "Co", "annualKg": 5000000, "startYear": 2025, "years": 7, "tolerance": 0.05,
     "deliveryTerms": "CIF Dunkirk (Incoterms 2020)",
     "deliverySite": "urn:epc:id:sgln:3012345.00001.0", "purchaseOrders": ["PO-1"],
     "annualGWh": 15}

Events belong to the agreement when their bizTransactionList names one of its purchase orders
or despatch advices, any identifier under the agreement's own (``<id>/…``), or when they carry
``bt:agreement`` with its id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batterytrace.errors import BatteryTraceError, ContractError
from batterytrace.identifiers import to_digital_link
from batterytrace.trace.lineage import ELEMENT_NAMES, class_of
from batterytrace.units import mass_fractions


@dataclass(frozen=True, slots=True)
class Agreement:
    id: str
    buyer: str
    seller: str
    product: str  # class-level Digital Link (…/01/<GTIN>) of what is delivered
    annual_kg: float
    start_year: int
    years: int
    tolerance: float  # ± share of the annual volume
    delivery_terms: str
    delivery_site: str  # Digital Link of the place a receipt there delivers
    element: str
    element_fraction: float  # kg of element per kg of product
    fraction_source: str
    purchase_orders: tuple[str, ...] = ()
    annual_gwh: float | None = None  # the battery capacity the parties say it feeds, if stated

    @property
    def term(self) -> range:
        return range(self.start_year, self.start_year + self.years)

    def names(self, reference: str) -> bool:
        """Whether a business transaction identifier (PO, despatch advice) is this agreement's."""
        return reference in self.purchase_orders or reference.startswith(self.id + "/")

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "contract") -> Agreement:
        """Read one agreement, or ContractError naming the field and the rule."""

        def text(name: str) -> str:
            value = data.get(name)
            if not isinstance(value, str) or not value.strip():
                raise ContractError(f"{where}.{name}: required, a non-empty string")
            return value.strip()

        def number(name: str, low: float, whole: bool = False) -> float:
            value = data.get(name)
            kind = int if whole else int | float
            if isinstance(value, bool) or not isinstance(value, kind) or not value >= low:
                rule = "a whole number" if whole else "a number"
                raise ContractError(f"{where}.{name}: {value!r} is not {rule} >= {low:g}")
            return float(value)

        def location(name: str, marker: str) -> str:
            value = text(name)
            try:
                link = to_digital_link(value)
            except BatteryTraceError as err:
                raise ContractError(f"{where}.{name}: {err}") from None
            if marker not in link:
                raise ContractError(f"{where}.{name}: {value!r} is not a GS1 {marker} key")
            return link

        element = data.get("element", "Co")
        if element not in ELEMENT_NAMES:
            raise ContractError(f"{where}.element: {element!r} is not one of Co, Ni, Li, Mn, Cu")
        fraction, source = _content(data, element, where)
        annual = number("annualKg", 0)
        if annual <= 0:
            raise ContractError(f"{where}.annualKg: {annual:g} kg is not a volume")
        tolerance = number("tolerance", 0) if "tolerance" in data else 0.0
        if tolerance >= 1:
            raise ContractError(f"{where}.tolerance: {tolerance} is not a share below 1")
        gwh = number("annualGWh", 0) if data.get("annualGWh") is not None else None
        orders = data.get("purchaseOrders", [])
        if not isinstance(orders, list) or not all(isinstance(o, str) and o for o in orders):
            raise ContractError(f"{where}.purchaseOrders: a list of identifiers")
        return cls(
            id=text("id"),
            buyer=text("buyer"),
            seller=text("seller"),
            product=class_of(location("product", "/01/")),
            annual_kg=annual,
            start_year=int(number("startYear", 1900, whole=True)),
            years=int(number("years", 1, whole=True)),
            tolerance=tolerance,
            delivery_terms=text("deliveryTerms"),
            delivery_site=location("deliverySite", "/414/"),
            element=element,
            element_fraction=fraction,
            fraction_source=source,
            purchase_orders=tuple(orders),
            annual_gwh=gwh,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "buyer": self.buyer, "seller": self.seller, "product": self.product,
            "element": self.element, "elementFraction": self.element_fraction,
            "fractionSource": self.fraction_source, "annualKg": self.annual_kg,
            "startYear": self.start_year, "years": self.years, "tolerance": self.tolerance,
            "deliveryTerms": self.delivery_terms, "deliverySite": self.delivery_site,
            "purchaseOrders": list(self.purchase_orders), "annualGWh": self.annual_gwh,
        }  # fmt: skip


def _content(data: Mapping[str, Any], element: str, where: str) -> tuple[float, str]:
    """kg of element per kg of product: from the formula (stoichiometry), or as stated."""
    formula, stated = data.get("formula"), data.get("elementFraction")
    if formula is not None:
        try:
            fraction = mass_fractions(str(formula)).get(element)
        except BatteryTraceError as err:
            raise ContractError(f"{where}.formula: {err}") from None
        if not fraction:
            raise ContractError(f"{where}.formula: {formula} contains no {element}")
        return fraction, f"stoichiometry:{formula}"
    if isinstance(stated, bool) or not isinstance(stated, int | float) or not 0 < stated <= 1:
        raise ContractError(f"{where}.elementFraction: {stated!r} is not a share in (0, 1]")
    return float(stated), str(data.get("fractionSource") or "stated in the contract")
