"""Claims carried through the recorded events (ISO 22095), in time order.

- **Origin.** Material a site commissions (ObjectEvent ADD) or makes (TransformationEvent
  output) takes every claim the rules originate there, while the evidence holds on the day
  (otherwise the claim is not attached, and a note says why).
- **Identity preserved, segregated.** The claim stays on the material: a transformation's
  outputs keep it on an element only when every input holding that element carries it in
  full; mixed with unclaimed input, it is removed (a note names the inputs).
- **Mass balance, book and claim.** Claimed material received (a receiving ObjectEvent) or
  used by the site becomes credits on the site's account, kg of each element; when a
  transformation uses it, the element its yield loses is booked as a loss. Output carries a
  claim only through an allocation, which debits the account: an ObjectEvent naming the lot
  with ``bt:claim`` and the kg of element claimed (``bt:claimedCobaltKg`` ...).

Everything is derived from the events and the rules: apply the same events again and the same
accounts, claims and notes come out.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from batterytrace.custody.claims import Claim, Model, parse_claim
from batterytrace.custody.ledger import Account
from batterytrace.custody.rules import CustodyRules, Policy
from batterytrace.epcis.model import (
    Action,
    Event,
    EventType,
    Extension,
    Location,
    QuantityElement,
)
from batterytrace.epcis.timestamps import local_time, offset_of
from batterytrace.errors import BatteryTraceError, CustodyError, Overdraft
from batterytrace.masterdata import BT
from batterytrace.trace.lineage import (
    ELEMENT_NAMES,
    Fact,
    custody_step,
    kg_by_object,
    node_id,
    quantity_flows,
)

ELEMENTS = ("Co", "Ni", "Li")  # the elements claims are accounted in (Art. 8 materials)
_CLAIMED = {f"{BT}claimed{ELEMENT_NAMES[e].capitalize()}Kg": e for e in ELEMENTS}
# The extension fields that make an event an allocation: the only way, besides the rules, a
# transfer or a close, that a claim enters the custody state.
CLAIM_FIELDS = frozenset({f"{BT}claim", *_CLAIMED})
_SHARE = 1 - 1e-9  # "in full", float sums allowed for


class ElementFacts(Protocol):
    """Element figures of objects (a trace lineage provides them)."""

    def fact(self, node: str, element: str) -> Fact | None: ...

    def made_kg(self, node: str) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Note:
    event: str
    claim: Claim | None
    text: str
    lots: tuple[str, ...] = ()  # the lots it is about

    def error(self) -> CustodyError:
        return CustodyError(f"{self.event}: {self.text}")


def allocation_event(
    lot: str, claim: Claim, kg: Mapping[str, float], site: str, when: datetime
) -> Event:
    """The ObjectEvent that claims ``kg`` of elements of a lot from a site's account."""
    names = {e: uri.removeprefix(BT) for uri, e in _CLAIMED.items()}
    unknown = sorted(set(kg) - names.keys())
    if unknown:
        raise CustodyError(f"element: {unknown[0]!r} is not one of {', '.join(ELEMENTS)}")
    return Event(
        type=EventType.OBJECT, eventTime=when, eventTimeZoneOffset=offset_of(when),
        eventID=f"urn:uuid:{uuid.uuid4()}", action=Action.OBSERVE,
        quantityList=(QuantityElement(lot),), bizLocation=Location(site),
        extensions=(Extension(BT, "claim", str(claim)),
                    *(Extension(BT, names[e], float(v)) for e, v in sorted(kg.items()))),
    )  # fmt: skip


def claims_only(event: Event) -> bool:
    """Whether an event is an allocation and nothing else (as :func:`allocation_event` writes
    it): an observation with no business step naming its lots in a quantityList alone, with no
    transaction, source, destination or disposition, whose extensions are all a claim's
    fields. Only custody reads such an event (decision 033)."""
    return (
        event.type is EventType.OBJECT
        and event.action is Action.OBSERVE
        and event.bizStep is None
        and event.persistentDisposition is None
        and not (event.epcList or event.bizTransactionList or event.sourceList)
        and not (event.destinationList or event.ilmd)
        and bool(event.extensions)
        and all(e.namespace + e.name in CLAIM_FIELDS for e in event.extensions)
    )


@dataclass(frozen=True, slots=True)
class Movement:
    """What custody reads of an event: made from the event (``of``), or by the store from its
    columns and the figures capture derived (store.custody.movements), without the content."""

    type: EventType
    action: Action | None
    step: str | None  # custody_step of the bizStep: shipping, receiving or None
    site: str | None  # bizLocation, else readPoint (Digital Link)
    at: datetime  # eventTime
    # eventTime on the event's own clock: the day evidence must cover, the period an entry
    # falls in (decision 014)
    when: datetime
    recorded: datetime | None
    name: str  # eventID
    quantities: dict[str, float]  # kg per object of the quantityList
    inputs: dict[str, float]  # of the inputQuantityList
    outputs: dict[str, float]  # of the outputQuantityList
    named: tuple[str, ...]  # the classes the quantityList names, in order
    extensions: dict[str, object]  # URI -> value of the event's own extension fields

    @classmethod
    def of(cls, event: Event) -> Movement:
        place = event.bizLocation or event.readPoint
        return cls(
            event.type, event.action, custody_step(event.bizStep),
            node_id(place.id) if place else None, event.eventTime,
            local_time(event.eventTime, event.eventTimeZoneOffset), event.recordTime,
            event.eventID or "", kg_by_object(quantity_flows(event.quantityList)),
            kg_by_object(quantity_flows(event.inputQuantityList)),
            kg_by_object(quantity_flows(event.outputQuantityList)),
            tuple(dict.fromkeys(node_id(q.epcClass) for q in event.quantityList)),
            {ext.namespace + ext.name: ext.value for ext in event.extensions},
        )  # fmt: skip

    def objects(self) -> set[str]:
        """Every object it names (to read their element figures in one go)."""
        return {*self.quantities, *self.inputs, *self.outputs, *self.named}


class _Stamp(NamedTuple):
    """When an entry happened, when it was recorded, and what records it."""

    when: datetime
    recorded: datetime | None
    name: str

    @classmethod
    def of(cls, event: Movement) -> _Stamp:
        return cls(event.when, event.recorded, event.name)


@dataclass(frozen=True, slots=True)
class Transfer:
    """Book and claim: credits of a claim moved from one site's account to another's, apart
    from any material (a certificate sold)."""

    when: datetime
    source: str  # site (Digital Link)
    target: str
    claim: Claim
    kg: Mapping[str, float]  # element -> kg
    ref: str  # what records it
    recorded: datetime | None = None


@dataclass(slots=True)
class _Receipt:
    """Claimed material a mass-balance site received and credited, not used yet: kg of the
    lot, and kg of each (claim, element) credited per kg of it."""

    kg: float = 0.0
    per_kg: dict[tuple[Claim, str], float] = field(default_factory=dict)

    def add(self, kg: float, credits: dict[tuple[Claim, str], float]) -> None:
        total = self.kg + kg
        for key in self.per_kg.keys() | credits.keys():
            held = self.per_kg.get(key, 0.0) * self.kg + credits.get(key, 0.0)
            self.per_kg[key] = held / total if total else 0.0
        self.kg = total

    def to_json(self) -> dict[str, Any]:
        return {"kg": self.kg, "perKg": sorted([str(c), e, v] for (c, e), v in self.per_kg.items())}

    @classmethod
    def from_json(cls, held: Mapping[str, Any]) -> _Receipt:
        return cls(held["kg"], {(parse_claim(c), e): v for c, e, v in held["perKg"]})


@dataclass(slots=True)
class Custody:
    """The state the events leave: claims on lots (the share of each element of the lot the
    claim covers: 1 made or kept under a physical model, allocated kg over the lot's content
    under mass balance), what backs them, the accounts, notes and violations."""

    rules: CustodyRules
    facts: ElementFacts
    closed: dict[tuple[str, Claim], dict[str, datetime]] = field(default_factory=dict)
    # (site, claim) -> period -> when the operator closed it: later-recorded entries refused
    lots: dict[str, dict[Claim, dict[str, float | None]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )
    backing: dict[str, dict[Claim, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    originated: dict[Claim, set[str]] = field(default_factory=lambda: defaultdict(set))
    accounts: dict[tuple[str, Claim, str], Account] = field(default_factory=dict)
    received: dict[str, dict[str, _Receipt]] = field(default_factory=dict)  # lot -> site ->
    handled: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    notes: list[Note] = field(default_factory=list)
    violations: list[Note] = field(default_factory=list)
    # how far in time order the state went: the latest event's eventTime, the latest
    # transfer's time and reference (what comes later can go on from here: ``resumes``)
    moved: datetime | None = None
    transferred: tuple[datetime, str] | None = None
    # the sites running a claim under mass balance: those whose handling of a lot matters
    balancing: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.balancing = frozenset(
            site for (site, _), p in self.rules.policies.items() if p.model is Model.MASS_BALANCE
        )

    def resumes(self, moves: Iterable[datetime], transfers: Iterable[tuple[datetime, str]]) -> bool:
        """Whether events at ``moves`` and transfers at ``transfers`` (time, reference) come,
        in the order the state takes them (events by time, a transfer before an event of a
        later time), after everything it took: then taking them now gives the state that
        taking everything from the start would."""
        last = self.transferred
        return all(
            (self.moved is None or at >= self.moved) and (last is None or at > last[0])
            for at in moves
        ) and all(
            (self.moved is None or t[0] >= self.moved) and (last is None or t > last)
            for t in transfers
        )

    def finish(self) -> None:
        """Mark the closed periods on the accounts (after every event is applied)."""
        for (site, claim, _), account in self.accounts.items():
            for label in sorted(self.closed.get((site, claim), {})):
                account.close(label)

    def apply(self, recorded: Event | Movement) -> None:
        """Take one event into the state: an event in memory, or what the store read of it."""
        event = recorded if isinstance(recorded, Movement) else Movement.of(recorded)
        site, name = event.site, event.name
        self.moved = event.at if self.moved is None else max(self.moved, event.at)
        if event.type is EventType.TRANSFORMATION:
            self._transform(event, site, name)
        elif event.type is EventType.OBJECT:
            lots = event.quantities
            if event.action is Action.ADD:
                self._originate(event, site, name, lots)
            elif event.step == "receiving":
                self._receive(site, name, event, lots)
            self._allocations(event, site, name)

    # --- element content ---------------------------------------------------------------------

    def content(self, lot: str, element: str, kg: float | None = None) -> float | None:
        """kg of the element in ``kg`` of a lot (the whole lot as made when None)."""
        fact = self.facts.fact(lot, element)
        mass = self.facts.made_kg(lot) if kg is None else kg
        if fact is None or fact.per_item or mass is None:
            return None
        return mass * fact.value

    def claimed(self, lot: str) -> dict[Claim, dict[str, float | None]]:
        """kg of each element the lot's claims cover (the whole lot as made); None: unknown
        (no element figure for the lot, or a share computed over one)."""
        covered = {
            claim: {
                e: _times(share, self.content(lot, e))
                for e, share in elements.items()
                if share != 0
            }
            for claim, elements in self.lots.get(lot, {}).items()
        }
        return {claim: elements for claim, elements in covered.items() if elements}

    # --- the events --------------------------------------------------------------------------

    def _originate(
        self, event: Movement, site: str | None, name: str, lots: dict[str, float]
    ) -> None:
        self._handled(site, lots)
        for origin in self.rules.origins_at(site):
            if not origin.evidence.covers(event.when):
                self.notes.append(Note(name, origin.claim, (
                    f"not attached to {', '.join(lots)}: evidence {origin.evidence.describe()} "
                    f"does not cover {event.when.date()}"), tuple(lots)))  # fmt: skip
                continue
            made = {lot: self._contents(lot, kg) for lot, kg in lots.items()}
            backing = f"origin at {site}: evidence {origin.evidence.describe()}"
            self._put(event, self.rules.policy(site, origin.claim), name, made, backing)

    def _put(
        self,
        event: Movement,
        policy: Policy,
        name: str,
        made: dict[str, dict[str, float | None]],
        why: str,
    ) -> None:
        """Claimed material made at a site: on the material, or credits under mass balance."""
        self.originated[policy.claim].update(made)
        for lot, contents in made.items():
            self._unknown(name, policy.claim, lot, [e for e, kg in contents.items() if kg is None])
            for element, kg in contents.items():
                if not policy.model.physical:
                    self._book(
                        policy, element, "credit", _Stamp.of(event), kg, f"{name} {lot}", (lot,)
                    )
                    continue
                self.lots[lot][policy.claim][element] = 1.0
            if policy.model.physical:
                self.backing[lot][policy.claim].append(why)

    def _receive(
        self, site: str | None, name: str, event: Movement, lots: dict[str, float]
    ) -> None:
        """Claimed material received at a mass-balance site: its claims become credits."""
        self._handled(site, lots)
        for lot, kg in lots.items():
            credits: dict[tuple[Claim, str], float] = {}
            for claim, elements in self.lots.get(lot, {}).items():
                policy = self.rules.policy(site, claim)
                if policy.model.physical:
                    continue
                unknown = []
                for element in elements:
                    credit = self._covered(lot, kg, claim, element)
                    if credit is None:
                        unknown.append(element)
                    if credit != 0:
                        ref = f"{name} {lot}"
                        if (
                            self._book(
                                policy, element, "credit", _Stamp.of(event), credit, ref, (lot,)
                            )
                            and credit is not None
                        ):
                            credits[claim, element] = credit
                self._unknown(name, claim, lot, unknown, "credit")
            if credits and site is not None:
                self.received.setdefault(lot, {}).setdefault(site, _Receipt()).add(kg, credits)

    def _transform(self, event: Movement, site: str | None, name: str) -> None:
        inputs, outputs = event.inputs, event.outputs
        made = {lot: self._contents(lot, kg) for lot, kg in outputs.items()}
        self._handled(site, outputs)
        total_in = {
            e: _total(self.content(lot, e, kg) for lot, kg in inputs.items()) for e in ELEMENTS
        }
        total_out = {
            e: _total(self.content(lot, e, kg) for lot, kg in outputs.items()) for e in ELEMENTS
        }
        receipts = {lot: r for lot in inputs if (r := self.received.get(lot, {}).get(site or ""))}
        claims = {c for lot in inputs for c in self.lots.get(lot, {})}
        claims |= {c for r in receipts.values() for c, _ in r.per_kg}
        for claim in sorted(claims):
            policy = self.rules.policy(site, claim)
            if policy.model.physical:
                self._segregated(event, name, policy, inputs, made, total_in)
            else:
                self._balanced(event, name, policy, inputs, receipts, total_in, total_out)
                for lot, contents in made.items():  # the claim left the material: credits now
                    for element in contents:
                        self.lots[lot][claim].setdefault(element, 0.0)
        for lot, receipt in receipts.items():  # what this step used of them
            receipt.kg -= min(receipt.kg, inputs[lot])
        for origin in self.rules.origins_at(site):
            if origin.evidence.covers(event.when):
                backing = f"made at {site}: evidence {origin.evidence.describe()}"
                self._put(event, self.rules.policy(site, origin.claim), name, made, backing)
            else:
                self.notes.append(Note(name, origin.claim, (
                    f"not attached to {', '.join(made)}: evidence {origin.evidence.describe()} "
                    f"does not cover {event.when.date()}"), tuple(made)))  # fmt: skip

    def _segregated(
        self,
        event: Movement,
        name: str,
        policy: Policy,
        inputs: dict[str, float],
        made: dict[str, dict[str, float | None]],
        total_in: dict[str, float | None],
    ) -> None:
        """Outputs keep the claim on an element when every input holding that element carries
        it (its share: the claimed part of the element coming in); mixed with an input that
        does not, the outputs lose it (share 0, and a note names the inputs). Identity
        preserved also keeps claimed lots apart: mixing two is noted (the claim then holds as
        segregated)."""
        claim = policy.claim
        for element in ELEMENTS:
            claimed = _total(self._covered(lot, kg, claim, element) for lot, kg in inputs.items())
            if claimed == 0:
                continue
            unclaimed = [
                lot
                for lot, kg in inputs.items()
                if (self.content(lot, element, kg) or 0) > 0
                and self.lots.get(lot, {}).get(claim, {}).get(element, 0.0) == 0
            ]
            whole = total_in[element]
            share = (
                0.0
                if unclaimed
                else None
                if claimed is None or whole is None
                else min(1.0, claimed / whole)
            )
            sources = [
                lot
                for lot in inputs
                if self.lots.get(lot, {}).get(claim, {}).get(element, 0.0) != 0
            ]
            if share and policy.model is Model.IDENTITY_PRESERVED and len(sources) > 1:
                self.notes.append(Note(name, claim, (
                    f"identity of {element} not preserved at {policy.site}: claimed inputs "
                    f"{', '.join(sources)} mixed; the claim holds as segregated"),
                    tuple(made)))  # fmt: skip
            holding = [lot for lot, contents in made.items() if element in contents]
            for lot in holding:
                self.lots[lot][claim][element] = share
                if share != 0:
                    self.backing[lot][claim].append(
                        f"{policy.model.value} at {policy.site}: inputs {', '.join(inputs)}"
                    )
            if share is None and holding:
                unknown = [
                    lot
                    for lot, kg in inputs.items()
                    if self.content(lot, element, kg) is None
                    or self._covered(lot, kg, claim, element) is None
                ]
                self.notes.append(Note(name, claim, (
                    f"share of {element} unknown at {policy.site} ({policy.model.value}): "
                    f"{element} or its claimed share unknown on {', '.join(unknown)} (no element "
                    "figure); not counted as 0 kg"), tuple(unknown)))  # fmt: skip
            elif share == 0:
                self.notes.append(Note(name, claim, (
                    f"removed from {element} at {policy.site} ({policy.model.value}): claimed "
                    f"input mixed with unclaimed {', '.join(unclaimed)}"),
                    tuple(made)))  # fmt: skip

    def _balanced(
        self,
        event: Movement,
        name: str,
        policy: Policy,
        inputs: dict[str, float],
        receipts: dict[str, _Receipt],
        total_in: dict[str, float | None],
        total_out: dict[str, float | None],
    ) -> None:
        """Claimed input used: credited now unless its receipt was; the element the step's
        yield loses of it is booked as a loss."""
        for element in ELEMENTS:
            used = 0.0
            for lot, kg in inputs.items():
                receipt = receipts.get(lot)
                from_receipt = min(kg, receipt.kg) if receipt else 0.0
                if receipt and from_receipt:
                    used += receipt.per_kg.get((policy.claim, element), 0.0) * from_receipt
                claimed = self._covered(lot, kg - from_receipt, policy.claim, element)
                if claimed != 0:
                    ref = f"{name} {lot}"
                    if self._book(
                        policy, element, "credit", _Stamp.of(event), claimed, ref, (lot,)
                    ):
                        used += claimed or 0.0  # unknown: named on the period, not counted
                    if claimed is None:
                        self._unknown(name, policy.claim, lot, [element], "credit")
            whole_in, whole_out = total_in[element], total_out[element]
            if used and whole_in and whole_out is not None and whole_out < whole_in:
                loss = used * (1 - whole_out / whole_in)
                self._book(
                    policy,
                    element,
                    "loss",
                    _Stamp.of(event),
                    loss,
                    f"{name} (yield)",
                    tuple(inputs),
                )

    def _allocations(self, event: Movement, site: str | None, name: str) -> None:
        values = event.extensions
        text = values.get(f"{BT}claim")
        amounts = {e: v for uri, e in _CLAIMED.items() if (v := values.get(uri)) is not None}
        if text is None and not amounts:
            return
        named = event.named
        try:
            claim = parse_claim(str(text))
        except BatteryTraceError as err:
            self.violations.append(Note(name, None, f"allocation: {err}", named))
            return
        policy = self.rules.policy(site, claim)
        if len(named) != 1 or not amounts:
            self.violations.append(Note(name, claim, (
                "allocation: names one lot (quantityList) and the kg claimed "
                f"({', '.join(_CLAIMED)})"), named))  # fmt: skip
            return
        if policy.model.physical:
            self.violations.append(Note(name, claim, (
                f"allocation at {site}, which runs {claim} {policy.model.value}: claims there "
                "travel with the material, not from an account"), named))  # fmt: skip
            return
        (lot,) = named
        if policy.model is Model.MASS_BALANCE and site not in self.handled.get(lot, ()):
            self.violations.append(Note(name, claim, (
                f"allocation of {claim} to {lot} at {site}, which neither made nor received it: "
                "under mass balance a site claims its own material"), named))  # fmt: skip
            return
        for element, kg in amounts.items():
            if isinstance(kg, bool) or not isinstance(kg, int | float) or not kg > 0:
                self.violations.append(
                    Note(name, claim, f"allocation: {element}: {kg!r} kg", named)
                )
                continue
            content = self.content(lot, element)
            already = self.claimed(lot).get(claim, {}).get(element, 0.0)
            if already is None:
                self.violations.append(Note(name, claim, (
                    f"allocation of {kg:.6g} kg {element} to {lot}, whose claimed {element} is "
                    "unknown"), named))  # fmt: skip
                continue
            if not content or already + kg > content * (1 + 1e-9):
                holds = "no known" if not content else f"{content:.6g} kg"
                self.violations.append(Note(name, claim, (
                    f"allocation of {kg:.6g} kg {element} to {lot}, which holds {holds} "
                    f"{element} ({already:.6g} kg claimed already)"), named))  # fmt: skip
                continue
            if self._book(
                policy, element, "debit", _Stamp.of(event), float(kg), f"{name} {lot}", named
            ):
                self.lots[lot][claim][element] = (already + float(kg)) / content
                self.backing[lot][claim].append(f"allocation {name} from the account at {site}")

    def transfer(self, t: Transfer) -> None:
        """Book and claim: move credits between two accounts (each site must run the claim so);
        refused (a violation) when the source's balance cannot cover it."""
        self.transferred = (
            (t.when, t.ref) if self.transferred is None else max(self.transferred, (t.when, t.ref))
        )
        policies = [self.rules.policy(site, t.claim) for site in (t.source, t.target)]
        wrong = [p for p in policies if p.model is not Model.BOOK_AND_CLAIM]
        if wrong:
            self.violations.append(Note(t.ref, t.claim, (
                f"transfer of {t.claim}: {wrong[0].site} runs it {wrong[0].model.value}, "
                "not book-and-claim")))  # fmt: skip
            return
        stamp = _Stamp(t.when, t.recorded, t.ref)
        source, target = policies
        for element, kg in t.kg.items():
            if not kg > 0:
                self.violations.append(Note(t.ref, t.claim, f"transfer: {element}: {kg!r} kg"))
            elif self._book(source, element, "debit", stamp, kg, f"{t.ref} to {t.target}", ()):
                self._book(target, element, "credit", stamp, kg, f"{t.ref} from {t.source}", ())

    # --- one lot's part of the state, kept apart (the events name the lots they move) -------

    def held(self) -> set[str]:
        """The lots the state holds anything about (:meth:`lot_state`)."""
        originated = {lot for lots in self.originated.values() for lot in lots}
        return {*self.lots, *self.backing, *originated, *self.handled, *self.received}

    def lot_state(self, lot: str) -> dict[str, Any] | None:
        """What the state holds about a lot, as JSON (None: nothing): its claims' shares,
        what backs them, the claims it originated, the mass-balance sites that handled it and
        their receipts of it not used yet."""
        held = {
            "claims": {str(c): dict(e) for c, e in self.lots[lot].items()}
            if lot in self.lots else None,
            "backing": {str(c): list(b) for c, b in self.backing.get(lot, {}).items()},
            "originated": sorted(str(c) for c, at in self.originated.items() if lot in at),
            "handled": sorted(self.handled.get(lot, ())),
            "received": {
                site: r.to_json() for site, r in sorted(self.received.get(lot, {}).items())
            },
        }  # fmt: skip
        return held if any(v is not None and v != [] and v != {} for v in held.values()) else None

    def restore_lot(self, lot: str, held: Mapping[str, Any]) -> None:
        """Take back what :meth:`lot_state` gave of a lot."""
        if held["claims"] is not None:
            claims = self.lots[lot]  # a lot whose claims all left is kept as such
            for claim, elements in held["claims"].items():
                claims[parse_claim(claim)].update(elements)
        for claim, backing in held["backing"].items():
            self.backing[lot][parse_claim(claim)] = list(backing)
        for claim in held["originated"]:
            self.originated[parse_claim(claim)].add(lot)
        if held["handled"]:
            self.handled[lot].update(held["handled"])
        for site, receipt in held["received"].items():
            self.received.setdefault(lot, {})[site] = _Receipt.from_json(receipt)

    # --- helpers -------------------------------------------------------------------------------

    def _handled(self, site: str | None, lots: Iterable[str]) -> None:
        """The lots a site made, commissioned or received (what it may claim under mass
        balance: only sites running a claim so are noted)."""
        if site in self.balancing:
            for lot in lots:
                self.handled[lot].add(site)

    def _book(
        self,
        policy: Policy,
        element: str,
        kind: str,
        stamp: _Stamp,
        kg: float | None,
        ref: str,
        lots: tuple[str, ...],
    ) -> bool:
        """An entry on an account (a credit of unknown kg: named on its period); an overdraft,
        or an entry recorded after the operator closed its period, is a violation (nothing is
        booked)."""
        period = policy.rules.period.label(policy.rules.period.number(stamp.when))
        closed_at = self.closed.get((policy.site, policy.claim), {}).get(period)
        if closed_at is not None and stamp.recorded is not None and stamp.recorded > closed_at:
            self.violations.append(Note(stamp.name, policy.claim, (
                f"{kind} of {_kg_text(kg)} {element} for {ref} on {stamp.when.date()} falls in "
                f"period {period}, closed at {policy.site} on {closed_at.isoformat()} before this "
                "was recorded"),
                lots))  # fmt: skip
            return False
        account = self._account(policy, element)
        try:
            if kg is None:
                account.unknown(stamp.when, ref)
            else:
                getattr(account, kind)(stamp.when, kg, ref)
        except Overdraft as err:
            self.violations.append(Note(stamp.name, policy.claim, str(err), lots))
            return False
        return True

    def _account(self, policy: Policy, element: str) -> Account:
        key = (policy.site, policy.claim, element)
        if key not in self.accounts:
            self.accounts[key] = Account(policy.site, policy.claim, element, policy.rules)
        return self.accounts[key]

    def _contents(self, lot: str, kg: float) -> dict[str, float | None]:
        """kg of each element in ``kg`` of a lot: those it has a figure for, or, a lot with no
        element figure at all, every element, kg unknown (None), never 0."""
        known = {e: self.content(lot, e, kg) for e in ELEMENTS}
        if all(c is None for c in known.values()):
            return dict.fromkeys(ELEMENTS)
        return {e: c for e, c in known.items() if c}

    def _covered(self, lot: str, kg: float, claim: Claim, element: str) -> float | None:
        """The claimed kg of element in ``kg`` of a lot: 0 when the claim is not on it, None
        when unknown (no element figure for the lot, or its share unknown)."""
        share = self.lots.get(lot, {}).get(claim, {}).get(element, 0.0)
        return 0.0 if share == 0 else _times(share, self.content(lot, element, kg))

    def _unknown(
        self, name: str, claim: Claim, lot: str, elements: list[str], what: str = "kg"
    ) -> None:
        """A note naming a lot whose claimed element content is unknown (not counted as 0 kg)."""
        if elements:
            self.notes.append(Note(name, claim, (
                f"{claim} {what} of {', '.join(elements)} unknown on {lot}: no element figure "
                "for it; not counted as 0 kg"), (lot,)))  # fmt: skip


def _times(share: float | None, kg: float | None) -> float | None:
    """share x kg, unknown when either is."""
    return None if share is None or kg is None else share * kg


def _kg_text(kg: float | None) -> str:
    return "unknown kg" if kg is None else f"{kg:.6g} kg"


def _total(values: Iterable[float | None]) -> float | None:
    """The sum, unknown when any part is."""
    parts = list(values)
    return None if None in parts else sum(p for p in parts if p is not None)
