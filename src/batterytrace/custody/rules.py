"""Where claims originate and which chain-of-custody model each site runs per claim.

The custody rules are data, exchanged as JSON::

    {"origins": [{"claim": "origin:MA", "site": "urn:epc:id:sgln:6111111.00100.0",
                  "evidence": {"reference": "RMAP-2024-0042", "issuer": "RMI",
                               "validFrom": "2024-01-01", "validUntil": "2026-12-31"}}],
     "policies": [{"site": "urn:epc:id:sgln:3012345.00100.0", "claim": "low-carbon",
                   "model": "mass-balance", "period": "quarter", "carryOver": 0.1,
                   "expiry": 4}]}

An origin attaches its claim to the material a site commissions or makes while the evidence
is valid. A site with no policy for a claim runs it segregated (decision 008): the claim
survives there only on material never mixed with unclaimed material.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from batterytrace.custody.claims import Claim, Model, parse_claim
from batterytrace.custody.ledger import Rules
from batterytrace.errors import BatteryTraceError, CustodyError, InvalidIdentifier
from batterytrace.identifiers import to_digital_link
from batterytrace.periods import Period

DEFAULT_MODEL = Model.SEGREGATED


@dataclass(frozen=True, slots=True)
class Evidence:
    """What backs a claim: a certificate, an audit, a registry entry, and when it holds."""

    reference: str
    issuer: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None

    def covers(self, when: datetime) -> bool:
        day = when.date()
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )

    def describe(self) -> str:
        span = f"{self.valid_from or '…'} to {self.valid_until or '…'}"
        return f"{self.reference}" + (f" ({self.issuer})" if self.issuer else "") + f", {span}"


@dataclass(frozen=True, slots=True)
class Origin:
    claim: Claim
    site: str  # GS1 Digital Link of the site (SGLN)
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class Policy:
    site: str
    claim: Claim
    model: Model
    rules: Rules = field(default_factory=Rules)


@dataclass(slots=True)
class CustodyRules:
    origins: list[Origin] = field(default_factory=list)
    policies: dict[tuple[str, Claim], Policy] = field(default_factory=dict)

    def policy(self, site: str | None, claim: Claim) -> Policy:
        found = self.policies.get((site or "", claim))
        return found or Policy(site or "", claim, DEFAULT_MODEL)

    def origins_at(self, site: str | None) -> list[Origin]:
        return [o for o in self.origins if o.site == site]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CustodyRules:
        """Read the rules, or CustodyError naming the entry, the field and the rule."""
        rules = cls()
        for i, item in enumerate(_list(data, "origins")):
            where = f"$.origins[{i}]"
            evidence = _mapping(item, "evidence", where)
            reference = _text(evidence, "reference", f"{where}.evidence")
            span = tuple(
                _date(evidence, name, f"{where}.evidence") for name in ("validFrom", "validUntil")
            )
            if span[0] and span[1] and span[1] < span[0]:
                raise CustodyError(f"{where}.evidence.validUntil: {span[1]} is before validFrom")
            issuer = evidence.get("issuer")
            rules.origins.append(
                Origin(
                    _claim(item, where),
                    _site(item, where),
                    Evidence(reference, str(issuer) if issuer else None, *span),
                )
            )
        for i, item in enumerate(_list(data, "policies")):
            where = f"$.policies[{i}]"
            policy = Policy(
                _site(item, where), _claim(item, where), _model(item, where), _rules(item, where)
            )
            key = (policy.site, policy.claim)
            if key in rules.policies:
                raise CustodyError(f"{where}: a second policy for {policy.claim} at {policy.site}")
            rules.policies[key] = policy
        return rules

    def to_json(self) -> dict[str, Any]:
        return {
            "origins": [
                {
                    "claim": str(o.claim),
                    "site": o.site,
                    "evidence": {
                        "reference": o.evidence.reference,
                        "issuer": o.evidence.issuer,
                        "validFrom": _iso(o.evidence.valid_from),
                        "validUntil": _iso(o.evidence.valid_until),
                    },
                }
                for o in self.origins
            ],
            "policies": [
                {
                    "site": p.site,
                    "claim": str(p.claim),
                    "model": p.model.value,
                    "period": p.rules.period.value,
                    "carryOver": p.rules.carry_over,
                    "expiry": p.rules.expiry,
                }
                for p in self.policies.values()
            ],
        }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _list(data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise CustodyError(f"{name}: must be a list of objects")
    return value


def _mapping(item: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = item.get(name)
    if not isinstance(value, Mapping):
        raise CustodyError(f"{where}.{name}: required, an object")
    return value


def _text(item: Mapping[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise CustodyError(f"{where}.{name}: required, a non-empty string")
    return value.strip()


def _claim(item: Mapping[str, Any], where: str) -> Claim:
    try:
        return parse_claim(_text(item, "claim", where))
    except BatteryTraceError as err:
        raise CustodyError(f"{where}.{err}") from None


def _site(item: Mapping[str, Any], where: str) -> str:
    text = _text(item, "site", where)
    try:
        site = to_digital_link(text)
    except InvalidIdentifier as err:
        raise CustodyError(f"{where}.site: {err}") from None
    if "/414/" not in site:
        raise CustodyError(f"{where}.site: {text!r} is not a GS1 location (SGLN, GLN)")
    return site


def _model(item: Mapping[str, Any], where: str) -> Model:
    value = _text(item, "model", where)
    try:
        return Model(value)
    except ValueError:
        models = ", ".join(m.value for m in Model)
        raise CustodyError(f"{where}.model: {value!r} is not one of {models}") from None


def _rules(item: Mapping[str, Any], where: str) -> Rules:
    period = item.get("period", Period.QUARTER.value)
    if period not in {p.value for p in Period}:
        raise CustodyError(f"{where}.period: {period!r} is not month, quarter or year")
    carry, expiry = item.get("carryOver"), item.get("expiry")
    if carry is not None and (
        isinstance(carry, bool) or not isinstance(carry, int | float) or not carry >= 0
    ):
        raise CustodyError(f"{where}.carryOver: {carry!r} is not a share >= 0")
    if expiry is not None and (
        isinstance(expiry, bool) or not isinstance(expiry, int) or expiry < 1
    ):
        raise CustodyError(f"{where}.expiry: {expiry!r} is not a whole number of periods >= 1")
    return Rules(Period(period), None if carry is None else float(carry), expiry)


def _date(item: Mapping[str, Any], name: str, where: str) -> date | None:
    value = item.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CustodyError(f"{where}.{name}: {value!r} is not a date (YYYY-MM-DD)") from None
