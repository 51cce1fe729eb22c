"""Supply-chain due diligence over the genealogy of a lot or pack (EU 2023/1542 Art. 48-50,
the OECD Due Diligence Guidance step 2: identify and assess risks in the supply chain), as far
as recorded data allow (decision 045).

Each red flag names the events and records behind it. A check that could not be made says
so and why: a report never passes what it did not look at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from batterytrace.certificates import Certificate
from batterytrace.trace.balance import BalanceReport

ASSURING = ("assessment", "certificate")  # what vouches for a supplier; ratings and
# memberships are context (decision 044)
SHOWN = 20  # event ids listed per flag; the count says how many there are


@dataclass(frozen=True, slots=True)
class PathEvent:
    """An event on the genealogy: a step (transformation, aggregation...) or, for the lots
    the genealogy starts from, their shipping from where they were made."""

    key: str  # the step's key (eventID or transformationID) or the hop's eventID
    event_id: str
    time: datetime
    site: str | None  # the site (canonical) of its bizLocation, else readPoint
    party: str | None  # the site's party in the master data (canonical)
    owner: str | None  # the organisation that captured it
    cited: tuple[str, ...] = ()  # certificationInfo


@dataclass(frozen=True, slots=True)
class Flag:
    """One red flag: what, where, and the events and records behind it."""

    check: str
    severity: str  # high | medium
    message: str
    events: tuple[str, ...] = ()
    records: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check, "severity": self.severity, "message": self.message,
            "events": list(self.events[:SHOWN]), "eventCount": len(self.events),
            "records": list(self.records),
        }  # fmt: skip


@dataclass(slots=True)
class Diligence:
    """The checks over one object's genealogy: the red flags, the checks made, the checks
    that could not be made and why."""

    object: str
    events: int  # events on the path read
    flags: list[Flag] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    not_checked: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "events": self.events,
            "flags": [f.to_json() for f in self.flags],
            "checked": self.checked,
            "notChecked": self.not_checked,
        }


def assurance(events: Iterable[PathEvent], records: Iterable[Certificate]) -> list[Flag]:
    """A supplier without a valid assurance at the event's date: an event at a site whose
    party holds no assessment or certificate that covers the site and is valid that day.
    One flag per site, naming every such event."""
    held: dict[str, list[Certificate]] = defaultdict(list)
    for record in records:
        if record.kind in ASSURING:
            held[record.holder].append(record)
    uncovered: dict[tuple[str, str], list[PathEvent]] = defaultdict(list)
    for event in events:
        if event.site is None or event.party is None:
            continue
        day = event.time.date()
        if not any(r.covers(event.site) and r.valid_on(day) for r in held[event.party]):
            uncovered[event.site, event.party].append(event)
    flags = []
    for (site, party), found in sorted(uncovered.items()):
        found.sort(key=lambda e: e.time)
        nearest = [r.id for r in held[party] if r.covers(site)]
        message = (
            f"site {site} of {party}: no assessment or certificate valid on the date of "
            f"{len(found)} event(s), {found[0].time.date()} to {found[-1].time.date()}"
            + (f" (records held: {', '.join(nearest)}, not valid then)" if nearest else "")
        )
        flags.append(Flag("assurance", "high", message, tuple(e.event_id for e in found),
                          tuple(nearest)))  # fmt: skip
    return flags


def citations(events: Iterable[PathEvent], records: Mapping[str, Certificate]) -> list[Flag]:
    """A certificate an event cites that does not back it: no record of it, a record of
    another party than the event's site's, or one not valid on the event's date."""
    wrong: dict[tuple[str, str], list[str]] = defaultdict(list)
    for event in events:
        for cited in event.cited:
            record = records.get(cited)
            if record is None:
                reason = "no record of it (certificate import)"
            elif event.party is not None and record.holder != event.party:
                reason = f"held by {record.holder}, not by the site's party {event.party}"
            elif not record.valid_on(event.time.date()):
                reason = f"not valid on the event's date ({record.status}, {_validity(record)})"
            else:
                continue
            wrong[cited, reason].append(event.event_id)
    return [
        Flag(
            "citations",
            "medium",
            f"certificate {cited} cited by {len(ids)} event(s): {reason}",
            tuple(ids),
            (cited,),
        )
        for (cited, reason), ids in sorted(wrong.items())
    ]


def balances(report: BalanceReport) -> list[Flag]:
    """Element mass out of a transformation beyond what went in (``check`` on the path)."""
    return [
        Flag("element mass", "high", f"step {v.step}: {v.message}", (v.step,))
        for v in report.violations
    ]


def unshared(owners: Mapping[str | None, int]) -> list[Flag]:
    """Steps of the path the reader may not read, by the organisation that holds them:
    nothing beyond them was checked for it."""
    return [
        Flag(
            "shared",
            "medium",
            f"{count} step(s) of {owner or 'the store operator'} are not "
            "shared with you: the checks did not read them",
        )
        for owner, count in sorted(owners.items(), key=lambda kv: str(kv[0]))
    ]


def _validity(record: Certificate) -> str:
    until = record.valid_until.isoformat() if record.valid_until else "open"
    return f"valid {record.valid_from} to {until}"
