"""Sharing agreements (issue 16.2, decision 041): what an organisation lets another read of
the events it owns and of the figures made of them.

A share names its owner and grantee, a scope (event types, business steps, sites, products as
EPC patterns, an eventTime window; an empty part of the scope is no restriction) and field
rules: the event fields withheld, and how much of the footprints (none, the total and class,
or the breakdown with its factors) and of custody (none, the claims lots carry, or account
balances too) the grantee sees. Several shares of one owner to one grantee add up: an event
in the scope of any of them is readable, with the fields all of them withhold removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from batterytrace.epcis import vocab
from batterytrace.epcis.model import Event, EventType, QuantityElement
from batterytrace.epcis.timestamps import format_timestamp, parse_timestamp
from batterytrace.errors import FieldError, InvalidIdentifier, ShareError
from batterytrace.identifiers import check_identifier, to_digital_link
from batterytrace.organisations import located_site, organisation_id, site_id

# The event fields an owner may withhold (EPCIS 2.0 §7.4): "quantities" are the amounts of
# every quantity list (the classes stay), "extensions" the fields of user vocabularies.
WITHHELD = (
    "quantities",
    "ilmd",
    "sensorElementList",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "certificationInfo",
    "extensions",
)
Footprint = Literal["none", "total", "breakdown"]
Custody = Literal["none", "claims", "balances"]
FOOTPRINT: tuple[Footprint, ...] = ("none", "total", "breakdown")
CUSTODY: tuple[Custody, ...] = ("none", "claims", "balances")


@dataclass(frozen=True, slots=True)
class Scope:
    event_types: frozenset[str] = frozenset()
    biz_steps: frozenset[str] = frozenset()  # bare CBV terms or URIs, as the model holds them
    sites: frozenset[str] = frozenset()  # canonical location GLN links
    products: tuple[str, ...] = ()  # canonical Digital Links, matched as key prefixes
    since: datetime | None = None  # eventTime >= since
    until: datetime | None = None  # eventTime < until

    def covers(self, event: Event) -> bool:
        if self.event_types and event.type.value not in self.event_types:
            return False
        if self.biz_steps and event.bizStep not in self.biz_steps:
            return False
        if self.since is not None and event.eventTime < self.since:
            return False
        if self.until is not None and event.eventTime >= self.until:
            return False
        if self.sites and not self.sites & _sites(event):
            return False
        return not self.products or any(_matches(k, self.products) for k in _products(event))


@dataclass(frozen=True, slots=True)
class Share:
    id: int  # the ledger record that granted it
    owner: str
    grantee: str
    scope: Scope
    withheld: frozenset[str] = frozenset()
    footprint: Footprint = "none"
    custody: Custody = "none"

    def to_json(self) -> dict[str, Any]:
        s = self.scope
        return {
            "id": self.id,
            "owner": self.owner,
            "grantee": self.grantee,
            "scope": {
                "eventTypes": sorted(s.event_types),
                "bizSteps": sorted(s.biz_steps),
                "sites": sorted(s.sites),
                "products": list(s.products),
                "from": None if s.since is None else format_timestamp(s.since),
                "until": None if s.until is None else format_timestamp(s.until),
            },
            "withheld": sorted(self.withheld),
            "footprint": self.footprint,
            "custody": self.custody,
        }


def share_of_json(obj: Mapping[str, Any], id_: int) -> Share:
    """A share as its grant's content says it (the record's seq its id), checked: each list
    of the scope names real types, terms, sites and EPC patterns; ShareError names the field
    and the rule."""
    _known(obj, ("id", "owner", "grantee", "scope", "withheld", "footprint", "custody"), "")
    scope = _mapping(obj.get("scope", {}), "scope")
    _known(scope, ("eventTypes", "bizSteps", "sites", "products", "from", "until"), "scope.")
    since, until = _time(scope.get("from"), "scope.from"), _time(scope.get("until"), "scope.until")
    if since is not None and until is not None and until <= since:
        raise ShareError("scope.until: must be later than scope.from")
    owner, grantee = _party(obj.get("owner"), "owner"), _party(obj.get("grantee"), "grantee")
    if owner == grantee:
        raise ShareError("grantee: an organisation reads its own events without a share")
    return Share(
        id=id_,
        owner=owner,
        grantee=grantee,
        scope=Scope(
            event_types=frozenset(_each(scope, "eventTypes", _event_type)),
            biz_steps=frozenset(_each(scope, "bizSteps", _biz_step)),
            sites=frozenset(_each(scope, "sites", site_id)),
            products=tuple(dict.fromkeys(_each(scope, "products", _product))),
            since=since,
            until=until,
        ),
        withheld=frozenset(_each(obj, "withheld", _withheld)),
        footprint=_choice(obj.get("footprint", "none"), "footprint", FOOTPRINT),
        custody=_choice(obj.get("custody", "none"), "custody", CUSTODY),
    )


def _known(obj: Mapping[str, Any], names: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(obj) - set(names))
    if unknown:
        raise ShareError(f"{where}{unknown[0]}: unknown field (one of {', '.join(names)})")


@dataclass(frozen=True, slots=True)
class Grants:
    """The shares one reader holds, by owner: what it may read of others' events."""

    reader: str
    by_owner: Mapping[str, Sequence[Share]]

    @classmethod
    def of(cls, reader: str, shares: Iterable[Share]) -> Grants:
        by_owner: dict[str, list[Share]] = {}
        for share in shares:
            if share.grantee == reader:
                by_owner.setdefault(share.owner, []).append(share)
        return cls(reader, by_owner)

    def withheld(self, owner: str | None, event: Event) -> frozenset[str] | None:
        """The fields of ``event`` (owned by ``owner``) the reader may not see; None when it
        may not read the event at all. Its own events: nothing withheld."""
        if owner == self.reader:
            return frozenset()
        covering = [s for s in self.by_owner.get(owner or "", ()) if s.scope.covers(event)]
        if not covering:
            return None
        return frozenset.intersection(*(s.withheld for s in covering))


def figures_level(grants: Grants, makers: Iterable[tuple[str | None, Event]], kind: str) -> str:
    """How much of the figures (``kind``: ``footprint`` or ``custody``) made of an object
    the reader may see, from the events that made it (owner, event): the most when it made
    it, else the most a share covering one of those events gives; ``none`` without."""
    levels: tuple[str, ...] = FOOTPRINT if kind == "footprint" else CUSTODY
    best = 0
    for owner, event in makers:
        if owner == grants.reader:
            return levels[-1]
        for share in grants.by_owner.get(owner or "", ()):
            if share.scope.covers(event):
                best = max(best, levels.index(getattr(share, kind)))
    return levels[best]


def project(event: Event, withheld: frozenset[str]) -> Event:
    """``event`` without the fields ``withheld`` (names of :data:`WITHHELD`)."""
    if not withheld:
        return event
    changes: dict[str, Any] = {
        name: () for name in withheld if name not in ("quantities", "extensions")
    }
    if "extensions" in withheld:
        changes["extensions"] = ()
    if "quantities" in withheld:
        for name in ("quantityList", "childQuantityList", "inputQuantityList",
                     "outputQuantityList"):  # fmt: skip
            changes[name] = tuple(QuantityElement(q.epcClass) for q in getattr(event, name))
    return replace(event, **changes)


# --- reading a share's content -------------------------------------------------------------


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ShareError(f"{where}: must be an object")
    return value


def _each(obj: Mapping[str, Any], name: str, read: Any) -> list[Any]:
    values = obj.get(name, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ShareError(f"{name}: must be a list of strings")
    found = []
    for i, value in enumerate(values):
        try:
            found.append(read(value))
        except (InvalidIdentifier, ValueError) as exc:
            raise ShareError(f"{name}[{i}]: {exc}") from None
    return found


def _party(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ShareError(f"{where}: must be an organisation's party GLN")
    try:
        return organisation_id(value)
    except InvalidIdentifier as exc:
        raise ShareError(f"{where}: {exc}") from None


def _event_type(value: str) -> str:
    if value not in EventType._value2member_map_:
        raise ValueError(f"{value!r} is not an EPCIS 2.0 event type")
    return value


def _biz_step(value: str) -> str:
    return vocab.BIZ_STEP.normalise(value)


def _product(value: str) -> str:
    """An EPC, class or pattern (``urn:epc:idpat:sgtin:…​.*``) as the Digital Link every EPC it
    covers starts with."""
    check_identifier(value)
    link = to_digital_link(value)
    if link == value and not value.startswith("https://id.gs1.org/"):
        raise ValueError(f"{value!r} is not a GS1 key, class or EPC pattern")
    return link


def _withheld(value: str) -> str:
    if value not in WITHHELD:
        raise ValueError(f"{value!r} is not one of {', '.join(WITHHELD)}")
    return value


def _choice(value: object, where: str, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise ShareError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _time(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ShareError(f"{where}: must be a date-time (RFC 3339)")
    try:
        return parse_timestamp(value, where)
    except FieldError as exc:
        raise ShareError(str(exc)) from None


# --- what an event names ---------------------------------------------------------------------


def _sites(event: Event) -> set[str]:
    where = (event.readPoint, event.bizLocation)
    return {s for loc in where if loc is not None and (s := located_site(loc.id)) is not None}


def _products(event: Event) -> Iterable[str]:
    for epc in (event.parentID, *event.epcList, *event.childEPCs, *event.inputEPCList,
                *event.outputEPCList):  # fmt: skip
        if epc is not None:
            yield _link(epc)
    for q in (*event.quantityList, *event.childQuantityList, *event.inputQuantityList,
              *event.outputQuantityList):  # fmt: skip
        yield _link(q.epcClass)


def _link(identifier: str) -> str:
    try:
        return to_digital_link(identifier)
    except InvalidIdentifier:
        return identifier


def _matches(link: str, products: Sequence[str]) -> bool:
    return any(link == p or link.startswith(p + "/") for p in products)
