"""The JSON formats the project imports, as strict pydantic models, and their errors as one line.

Every import file (master data, custody rules, contracts, the carbon model) is checked against
its model before it is read: an unknown field (a misspelling such as ``perod``) is refused and
named, a list given as a string or a number as text is refused, identifiers must be visible
ASCII absolute URIs (:func:`batterytrace.identifiers.check_identifier`), contract years are
bounded. The domain readers (``from_json``) then apply the rules that need more than one field.
A failure is ``file: JSON path: rule`` (decision 021).
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from batterytrace.errors import (
    BatteryTraceError,
    ContractError,
    CustodyError,
    FactorError,
    InvalidIdentifier,
)
from batterytrace.identifiers import check_identifier

M = TypeVar("M", bound=BaseModel)

# Contract years (decision 021): an agreement starts in a year a calendar of events can hold and
# lasts at most half a century (long-term offtake agreements run 5 to 15 years).
FIRST_YEAR, LAST_YEAR, MAX_YEARS = 1900, 2200, 50


def describe(
    exc: ValidationError, root: str = "$", at: str = "", model: type[BaseModel] | None = None
) -> str:
    """The first error as one line: ``$.parties[0].name: must be a valid string (got 3)``, a
    JSONPath (RFC 9535) from the document's root ``$`` (PACT's reader names its root instead);
    ``at`` is the path of the object checked (``[2]``)."""
    errors = exc.errors(include_url=False)
    # A misspelled field is both missing and unknown: name the one the file has.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    path = at + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    path = root + path if root == "$" else path.lstrip(".") or root
    kind = error["type"]
    if kind == "missing":
        return f"{path}: required field is missing"
    if kind == "extra_forbidden":
        return f"{path}: unknown field" + _known(model, error["loc"])
    if kind in ("too_short", "string_too_short"):  # every minLength/minItems is 1
        return f"{path}: must not be empty"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{path}: must be a JSON object (got {show(error['input'])})"
    if kind == "value_error":
        return f"{path}: {error['ctx']['error']}"
    message = error["msg"]
    if message.startswith("Input should be "):
        message = "must be " + message.removeprefix("Input should be ")
    return f"{path}: {message[:1].lower()}{message[1:]} (got {show(error['input'])})"


def _known(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> str:
    """``; did you mean period?`` and the fields the object at ``loc`` may have."""
    for part in loc[:-1]:
        if model is None:
            return ""
        if isinstance(part, str):
            model = _submodel(model.model_fields[part].annotation)
    if model is None:
        return ""
    names = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    return (f"; did you mean {close[0]}?" if close else "") + f" (fields: {', '.join(names)})"


def _submodel(annotation: object) -> type[BaseModel] | None:
    """The model a field holds, directly or in a list, a dict's values or an optional."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def show(value: object) -> str:
    """A value quoted in a message, short."""
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def checked(
    model: type[M], data: object, source: str, error: type[BatteryTraceError], at: str = ""
) -> Any:
    """``data`` itself once it fits ``model``; else ``error`` as ``source: path: rule``."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{source}: {describe(exc, at=at, model=model)}") from None
    return data


def csv_table(text: str, error: type[BatteryTraceError], where: str = "") -> csv.DictReader[str]:
    """A reader of the rows of ``text`` (CSV, RFC 4180), once the csv module can read all of it;
    else ``error`` as ``where: line N: rule`` (a stray carriage return, a field over the csv
    module's size limit)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for _ in reader:
            pass
    except csv.Error as exc:
        raise error(
            f"{where}{': ' if where else ''}line {reader.line_num}: not CSV ({exc})"
        ) from None
    return csv.DictReader(io.StringIO(text, newline=""))


@contextmanager
def named(source: Path) -> Iterator[None]:
    """The rules a reader applies beyond the format name the file too: ``file: path: rule``."""
    try:
        yield
    except (ContractError, CustodyError, FactorError) as exc:
        raise type(exc)(f"{source}: {exc}") from None


def _identifier(value: str) -> str:
    try:
        check_identifier(value)
    except InvalidIdentifier as exc:
        raise ValueError(str(exc)) from None
    return value


Uri = Annotated[str, AfterValidator(_identifier)]
Text = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    """Unknown fields are refused; JSON types are not coerced (``"7"`` is not a number)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# ---- master data (masterdata.py) ---------------------------------------------------------------


class PartyFormat(Strict):
    id: Uri
    name: Text
    country: str
    roles: list[str] = []
    identifiers: dict[str, str] = {}


class SiteFormat(Strict):
    id: Uri
    name: Text
    party: Uri
    role: str
    country: str
    latitude: float | None = None
    longitude: float | None = None


class MaterialFormat(Strict):
    id: Uri
    name: Text
    kind: str
    formula: str | None = None
    fractions: dict[str, float] = {}
    source: str | None = None
    chemistry: str | None = None
    energy_kwh: float | None = None
    mass_kg: float | None = None
    density_kg_per_l: float | None = None


class MasterDataFormat(Strict):
    parties: list[PartyFormat] = []
    sites: list[SiteFormat] = []
    materials: list[MaterialFormat] = []


# ---- custody rules (custody/rules.py) ----------------------------------------------------------


class EvidenceFormat(Strict):
    reference: Text
    issuer: str | None = None
    validFrom: str | None = None
    validUntil: str | None = None


class OriginFormat(Strict):
    claim: Text
    site: Uri
    evidence: EvidenceFormat


class PolicyFormat(Strict):
    site: Uri
    claim: Text
    model: Text
    period: str = "quarter"
    carryOver: float | None = None
    expiry: int | None = None


class CustodyRulesFormat(Strict):
    origins: list[OriginFormat] = []
    policies: list[PolicyFormat] = []


# ---- offtake agreements (contracts/agreement.py) -----------------------------------------------


class AgreementFormat(Strict):
    id: Uri
    buyer: Uri
    seller: Uri
    product: Uri
    formula: str | None = None
    element: str = "Co"
    elementFraction: float | None = None
    fractionSource: str | None = None
    annualKg: float
    startYear: Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]
    years: Annotated[int, Field(ge=1, le=MAX_YEARS)]
    tolerance: float = 0.0
    deliveryTerms: Text
    deliverySite: Uri
    purchaseOrders: list[Text] = []
    annualGWh: float | None = None


# ---- the carbon model (carbon/activity.py) -----------------------------------------------------


class ActivityFormat(Strict):
    site: Uri
    period: Text
    kind: Text
    factor: str | None = None
    amount: float
    unit: Text
    mix: dict[str, float] | None = None
    quality: str | None = None
    note: str | None = None


class LaneFormat(Strict):
    from_: Annotated[Uri, Field(alias="from")]
    to: Uri
    mode: Text
    distanceKm: float | None = None


class AllocationFormat(Strict):
    site: Uri
    rule: str = "mass"
    element: str | None = None
    values: dict[str, float] | None = None


class ProxyFormat(Strict):
    product: Uri
    factor: str | None = None


class CarbonModelFormat(Strict):
    activities: list[ActivityFormat] = []
    lanes: list[LaneFormat] = []
    allocation: list[AllocationFormat] = []
    proxies: list[ProxyFormat] = []


# ---- certificates, assessments, ratings, memberships (certificates.py) -------------------------


class CertificateFormat(Strict):
    id: Uri
    scheme: Text
    issuer: Text
    holder: Uri
    status: Text
    validFrom: Text
    validUntil: str | None = None
    sites: list[Uri] = []
    materials: list[Text] = []
    schemeVersion: str | None = None
    assessor: str | None = None
    level: str | None = None
    evidence: Uri | None = None
    evidenceSha256: str | None = None


class CertificatesFormat(Strict):
    certificates: list[CertificateFormat] = Field(min_length=1)
