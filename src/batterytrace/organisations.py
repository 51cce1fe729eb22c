"""Organisations of the chain and the sites they own (decision 040): who may capture an event
at a site. An organisation is a GS1 party GLN, a site the GLN of a location; both are kept as
their canonical GS1 Digital Link, so that every spelling of one key is one key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from batterytrace.errors import Forbidden, InvalidIdentifier
from batterytrace.identifiers import CANONICAL_DL_DOMAIN, parent_location, to_digital_link

_PARTY = f"{CANONICAL_DL_DOMAIN}/417/"  # AI 417: party GLN
_LOCATION = f"{CANONICAL_DL_DOMAIN}/414/"  # AI 414: GLN of a physical location


def organisation_id(text: str) -> str:
    """The canonical key of an organisation given as a PGLN (``urn:epc:id:pgln:…``), a party
    GLN Digital Link or its 13 digits; InvalidIdentifier otherwise."""
    return _gs1_key(text, _PARTY, "party GLN")


def site_id(text: str) -> str:
    """The canonical key of a site given as an SGLN, a location GLN Digital Link or its 13
    digits; an SGLN with an extension names the site of its GLN (GenSpecs §3.9.11, AI 254)."""
    key = _gs1_key(text, _LOCATION, "location GLN")
    return parent_location(key) or key


def _gs1_key(text: str, prefix: str, what: str) -> str:
    link = f"{prefix}{text}" if text.isdigit() and len(text) == 13 else text
    key = to_digital_link(link)
    if not key.startswith(prefix):
        raise InvalidIdentifier(f"{text} : not a {what} (urn:epc:id:… or {prefix}…)")
    return key


def located_site(location: str) -> str | None:
    """The site an event's readPoint or bizLocation lies in; None for a location that is no
    GLN (which no organisation can own)."""
    try:
        return site_id(location)
    except InvalidIdentifier:
        return None


@dataclass(frozen=True, slots=True)
class Organisations:
    """The registry: each organisation's name, each site's owner, and the capture rights
    owners delegated (site, organisation)."""

    names: Mapping[str, str] = field(default_factory=dict)
    owners: Mapping[str, str] = field(default_factory=dict)
    delegated: frozenset[tuple[str, str]] = frozenset()

    def known(self, organisation: str) -> str:
        """``organisation`` as its key, refused unless it is registered."""
        key = organisation_id(organisation)
        if key not in self.names:
            raise InvalidIdentifier(f"{organisation} : no such organisation (org create)")
        return key

    def admit(self, capturer: str | None, event_id: str, locations: Mapping[str, str]) -> None:
        """Forbidden when ``capturer`` (None: the store's operator, who may capture anywhere)
        may not capture an event at ``locations`` (field name -> location): a site another
        organisation owns and did not delegate to it."""
        if capturer is None:
            return
        for name, location in locations.items():
            site = located_site(location)
            owner = self.owners.get(site) if site else None
            if owner is None or owner == capturer or (site, capturer) in self.delegated:
                continue
            raise Forbidden(
                f"event {event_id}: {name} {location} is a site of {owner} "
                f"({self.names.get(owner, '?')}), which has not delegated capture there to "
                f"{capturer}; nothing of the document was stored"
            )
