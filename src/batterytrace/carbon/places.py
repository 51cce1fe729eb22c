"""Where burden happens: the site a location belongs to, and where a shipment left from and went
to (docs/carbon-data.md, "Sites, sub-locations and the ends of a leg").

A *site* is a location the master data or the carbon model name (a master-data site, or one
with activity data, an allocation rule or a lane). Events are often recorded at a part of a
site: a read point or business location such as ``…00200.CS-PLANT``, an SGLN whose GLN
extension names a place inside the GLN's location. Such a location counts as the site it
belongs to: its parent as the master data declare it (an EPCIS BusinessLocation's
``children``), else the GLN without extension, walked up until a site is reached.

A shipping event need not state ``bizLocation``: CBV 2.0 puts the origin in the source list
(§7.4, source type ``location``). A leg starts at the first of these that the event or the
record gives, in this order:

1. the ``location`` in the event's source list;
2. its ``bizLocation``;
3. its ``readPoint`` (a dispatch door: the site it belongs to);
4. the one site the master data give a party of the source list (``possessing_party``, then
   ``owning_party``), when that party has exactly one site;
5. the last place the goods were received before the shipment, else where they were made.

It ends at the ``location`` of the destination list, else at the one site of a destination
party (same rule as 4).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from batterytrace.errors import InvalidIdentifier
from batterytrace.identifiers import parent_location
from batterytrace.masterdata import Site
from batterytrace.trace.lineage import node_id

PARTIES = ("possessing_party", "owning_party")  # source/destination types naming a party


@dataclass(frozen=True, slots=True)
class Stated:
    """What a shipping event states about its ends besides ``bizLocation`` and the destination
    location (canonical Digital Links; ``sources`` and ``destinations`` as (CBV source or
    destination type, identifier))."""

    read_point: str | None = None
    sources: tuple[tuple[str, str], ...] = ()
    destinations: tuple[tuple[str, str], ...] = ()
    received: str | None = None  # where the goods were last received before the shipment


@dataclass(slots=True)
class Places:
    """Resolves locations to sites (see the module docstring)."""

    sites: Mapping[str, Site]  # by Digital Link
    parents: Mapping[str, str]  # child -> parent, as the master data declare them
    named: frozenset[str]  # the locations the carbon model names
    _cache: dict[str, str] = field(default_factory=dict)
    _party_sites: dict[str, list[str]] | None = None

    def _sites_of(self, party: str) -> list[str]:
        if self._party_sites is None:
            self._party_sites = defaultdict(list)
            for sid, s in self.sites.items():
                try:
                    self._party_sites[node_id(s.party)].append(sid)
                except InvalidIdentifier:  # a party named by another URI: as it is written
                    self._party_sites[s.party].append(sid)
        return self._party_sites.get(party, [])

    def site(self, location: str) -> str:
        """The site ``location`` belongs to: itself when it is one, else the first site up its
        parents; with no site above it, the top of its way up."""
        found = self._cache.get(location)
        if found is None:
            path = [location]
            while path[-1] not in self.sites and path[-1] not in self.named:
                up = self.parents.get(path[-1]) or parent_location(path[-1])
                if up is None:
                    break
                if up in path:  # a declared loop: its least location stands for its top
                    path.append(min(path[path.index(up) :]))
                    break
                path.append(up)
            found = self._cache[location] = path[-1]
        return found

    def of_parties(self, listed: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
        """(site, basis) of the first listed party with exactly one site."""
        listed = tuple(listed)
        for kind in PARTIES:
            for t, party in listed:
                sites = self._sites_of(party) if t == kind else []
                if len(sites) == 1:
                    return sites[0], f"the one site of {kind} {party}"
        return None

    def origin(
        self, biz_location: str | None, stated: Stated, made: str | None
    ) -> tuple[str, str] | None:
        """(site, basis) where a leg starts, by the order of the module docstring; ``made``:
        the site that made the goods."""
        location = dict(stated.sources).get("location")
        for value, basis in (
            (location, "sourceList location"),
            (biz_location, "bizLocation"),
            (stated.read_point, "readPoint"),
        ):
            if value is not None:
                return self.site(value), basis
        party = self.of_parties(stated.sources)
        if party is not None:
            return party
        for value, basis in ((stated.received, "last receipt"), (made, "where it was made")):
            if value is not None:
                return self.site(value), basis
        return None

    def destination(self, location: str | None, stated: Stated) -> str | None:
        """The site where a leg ends: its destination location's, else a destination party's
        one site."""
        if location is not None:
            return self.site(location)
        party = self.of_parties(stated.destinations)
        return None if party is None else party[0]
