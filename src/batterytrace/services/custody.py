"""Chain of custody (ISO 22095) as a service: the rules, the accounts and claims recomputed
from the stored events, and the acts that change them (allocate, transfer, close), each in
one unit of work: a write checks against exactly the state it writes on (decision 028)."""

from __future__ import annotations

import bisect
import heapq
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, PositiveFloat, field_validator
from sqlalchemy import Connection

from batterytrace.custody import flows, ledger
from batterytrace.custody.claims import Claim, parse_claim
from batterytrace.custody.empty import why_empty
from batterytrace.custody.flows import Custody, Movement, Note, allocation_event
from batterytrace.custody.recycled import MINIMUMS, Share, share
from batterytrace.custody.recycled import SOURCE as MINIMUM_SOURCE
from batterytrace.custody.rules import CustodyRules, Origin, Policy
from batterytrace.epcis.documents import EventStream
from batterytrace.epcis.hash import event_hash
from batterytrace.epcis.model import Document, DocumentKind, Event
from batterytrace.errors import CustodyError, Forbidden, PeriodClosed
from batterytrace.organisations import organisation_id
from batterytrace.periods import Period, parse_period, span
from batterytrace.references import custody_names, require
from batterytrace.services.trace import Untraced, trace
from batterytrace.services.unit_of_work import Unit, UnitOfWork, version
from batterytrace.sharing import CUSTODY, Grants, figures_level
from batterytrace.store import custody as custody_store
from batterytrace.store import derived, organisations, readers
from batterytrace.store import events as events_store
from batterytrace.store import masterdata as masterdata_store
from batterytrace.store.imported import Imported
from batterytrace.store.lineage import Decoded, StoreLineage
from batterytrace.trace.genealogy import Trace
from batterytrace.trace.lineage import node_id


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # the ledger version the caller read: the write is refused if the ledger moved since
    expected: int | None = None


class _Entry(_Command):
    """An entry in the accounts: kg of elements of a claim, at a date."""

    claim: str
    kg: dict[str, PositiveFloat]  # per element: Co, Ni, Li
    at: AwareDatetime | None = None  # default: now

    @field_validator("kg")
    @classmethod
    def _elements(cls, kg: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(kg) - set(flows.ELEMENTS))
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not one of {', '.join(flows.ELEMENTS)}")
        if not kg:
            raise ValueError("give the kg of at least one element")
        return kg


class Allocate(_Entry):
    """Claim kg of elements of a lot from a site's mass-balance account, at a date."""

    lot: str
    site: str


class Transfer(_Entry):
    """Book and claim: move credits of a claim from one site's account to another's."""

    source: str
    target: str


class Close(_Command):
    """Close a period of a site's accounts for a claim, once it has ended."""

    site: str
    claim: str
    period: str


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int  # the ledger version the answer reflects


class Allocated(_Result):
    event_id: str
    recorded: bool  # False: the same allocation (lot, claim, kg, site, time) is stored already
    lot: str
    site: str
    claim: str
    at: datetime


class Transferred(_Result):
    ref: str
    source: str
    target: str
    claim: str
    at: datetime


class Closed(_Result):
    site: str
    claim: str
    period: str


class Notice(BaseModel):
    """A note or violation of the recomputation: the event it is about, the claim, what."""

    event: str
    claim: str | None
    text: str

    @classmethod
    def of(cls, note: Note) -> Notice:
        return cls(event=note.event, claim=str(note.claim) if note.claim else None, text=note.text)


class AccountStatement(BaseModel):
    """One period of an account, kg of the element (custody.ledger.Statement)."""

    period: str
    opening: float
    credits: float
    debits: float
    losses: float
    expired: float
    closing: float
    carried: float | None  # None while the period is open
    forfeited: float | None
    closed: bool
    unknown_credits: list[str]  # credits of unknown kg: the figures are floors


class AccountBalance(BaseModel):
    site: str
    name: str
    claim: str
    element: str
    period: str  # the account's period rule (month, quarter, year)
    balance: float
    statements: list[AccountStatement]


class Balances(_Result):
    unit: Literal["kg"] = "kg"
    accounts: list[AccountBalance]
    violations: list[Notice]
    why_empty: str | None  # when nothing matched: why (another period length, a name...)


class ElementShare(BaseModel):
    kg: float | None  # None: unknown
    share: float | None


class ClaimCarried(BaseModel):
    claim: str
    elements: dict[str, ElementShare]
    backing: list[str]


class LotReport(_Result):
    lot: str
    unit: Literal["kg"] = "kg"
    claims: list[ClaimCarried]
    notes: list[Notice]


def recompute(
    conn: Connection,
    decoded: Decoded | None = None,
    pending: Event | flows.Transfer | None = None,
    finish: bool = True,
) -> Custody:
    """Claims on lots and the mass-balance accounts, recomputed from every stored event and
    the rules (decision 008); with ``pending``, an entry not stored yet, in its time order
    (after what is stored at the same time). ``finish``: the closed periods marked (the state
    can then take no more events)."""
    lineage = StoreLineage(conn, decoded)
    state = _empty(conn, lineage)
    transfers = custody_store.transfers(conn)
    moves = _with(custody_store.movements(conn), transfers, pending)
    _take(state, lineage, moves, transfers)
    if finish:
        state.finish()
    return state


def _empty(conn: Connection, lineage: StoreLineage) -> Custody:
    """The state before any event, under the stored rules and closes."""
    return Custody(custody_store.load(conn), lineage, custody_store.closes(conn))


def _with(
    moves: Iterator[Movement],
    transfers: list[flows.Transfer],
    pending: Event | flows.Transfer | None,
) -> Iterator[Movement]:
    """The events, and the transfers (in place), with an entry not stored yet in its time
    order."""
    if isinstance(pending, flows.Transfer):
        bisect.insort(transfers, pending, key=lambda t: t.when)
    elif pending is not None:
        return heapq.merge(moves, [Movement.of(pending)], key=lambda m: m.at)
    return moves


def _take(
    state: Custody,
    lineage: StoreLineage,
    moves: Iterator[Movement],
    transfers: list[flows.Transfer],
    restore: Callable[[set[str]], None] | None = None,
    months: _Months | None = None,
) -> None:
    """Take events (in time order) and transfers (in time order) into the state, a transfer
    before the events of a later time; ``restore`` is given the lots each chunk of events
    names before the chunk is taken; ``months`` is told of each entry before it is taken."""
    waiting = deque(transfers)

    def transfer(t: flows.Transfer) -> None:
        if months is not None:
            months.reach(t.when)
        state.transfer(t)

    while chunk := list(islice(moves, 2000)):
        named = {node for move in chunk for node in move.objects()}
        lineage.prefetch(named)
        if restore is not None:
            restore(named)
        for move in chunk:
            while waiting and waiting[0].when < move.at:
                transfer(waiting.popleft())
            if months is not None:
                months.reach(move.at, move.objects())
            state.apply(move)
    for t in waiting:
        transfer(t)
    if months is not None:
        months.end()


def state(uow: UnitOfWork) -> Custody:
    """The whole recomputed custody state (claims on lots, accounts, notes, violations)."""
    with uow.reading() as conn:
        return recompute(conn, uow.decoded)


def _admit(conn: Connection, decoded: Decoded, pending: Event | flows.Transfer) -> None:
    """Check an allocation or transfer, at its date, against everything stored: the
    CustodyError of the first violation it makes (its own, or a later entry it overdraws:
    decision 022), if any. The state it is checked on goes on from the kept state (decision
    033), from the month it falls in when it is dated inside what that state took (decision
    035), else is recomputed; what it adds is what that state finds beyond the violations of
    the entries stored (kept, when the kept state is current; else found the same way)."""
    kept = derived.inputs(conn, AREA)
    if kept is not None and kept.layout != UNIT.layout:
        kept = None  # rows of an older version: nothing to go on from
    after = None if kept is None else _resumed(conn, decoded, kept, pending)
    if after is not None and derived.current(conn, AREA, UNIT.layout, version(conn)):
        found = after.state.violations
        seen = {Notice.model_validate_json(c).event for c in derived.contents(conn, _VIOLATIONS)}
    else:  # the same way without it (the kept state behind the ledger: a refresh undone)
        before = None if kept is None or after is None else _resumed(
            conn, decoded, kept, None, after.since)  # fmt: skip
        if after is None or before is None:
            before, after = _Months(recompute(conn, decoded)), _Months(
                recompute(conn, decoded, pending))  # fmt: skip
        found = after.state.violations
        seen = {note.event for note in before.state.violations}
    for note in found:
        if note.event not in seen:
            raise note.error()


def import_rules(
    uow: UnitOfWork,
    rules: CustodyRules,
    source: str | None = None,
    owner: str | None = None,
    where: str | None = None,
) -> Imported:
    """Replace the rules (origins, site policies), unless they are the stored ones (nothing
    written); every site and party they name must be in the master data (checked in the same
    transaction; the error names ``where``, a file's path, else ``source``)."""
    with uow.writing("custody import") as w:
        names = custody_names(rules)
        require(masterdata_store.load(w.conn), names, where or source or "custody rules")
        _keeps_closed_periods(rules, custody_store.closes(w.conn), where or source)
        return w.record("custody", "import", rules.to_json(), source, owner)[0]["rules"]


def _keeps_closed_periods(
    rules: CustodyRules, closes: dict[tuple[str, Claim], dict[str, datetime]], where: str | None
) -> None:
    """A closed period stays what it was closed as: rules that would give its account periods
    of another length are refused (CustodyError naming the site, claim and periods)."""
    for (site, claim), closed in sorted(closes.items(), key=lambda item: str(item[0])):
        policy = rules.policy(site, claim)
        if policy.model.physical:
            continue  # no account: nothing to mark closed
        length = policy.rules.period
        other = sorted(label for label in closed if not length.names(label))
        if other:
            raise CustodyError(
                f"{where or 'custody rules'}: {site} {claim}: periods {', '.join(other)} were "
                f"closed; a {length.value} period rule cannot keep them (close periods of the "
                "new length only after the rules change)"
            )


def rules(uow: UnitOfWork) -> CustodyRules:
    with uow.reading() as conn:
        return custody_store.load(conn)


def allocate(uow: UnitOfWork, command: Allocate, reader: str | None = None) -> Allocated:
    """Checked against everything stored at its date (an Overdraft with the shortfall, a
    closed period...), then captured as an allocation event, in one transaction. The same
    allocation again (a retry: same lot, claim, kg, site and time, so the same event hash ID)
    is not counted twice: the answer names the stored event, ``recorded`` False."""
    now = datetime.now(UTC)
    claim = parse_claim(command.claim)
    lot, site, when = node_id(command.lot), node_id(command.site), command.at or now
    event = allocation_event(lot, claim, dict(command.kg), site, when)
    with uow.writing("custody allocate", command.expected) as w:
        admit_act(w.conn, site, reader, "custody allocate")
        stored = events_store.stored_id(w.conn, event_hash(event))
        if stored is None:
            _admit(w.conn, uow.decoded, replace(event, recordTime=now))  # the store stamps its own
            document = Document(kind=DocumentKind.CAPTURE, creationDate=now, events=[event])
            w.capture(EventStream.of(document))
        done = version(w.conn)
    return Allocated(version=done, event_id=stored or event.eventID or "", recorded=stored is None,
                     lot=lot, site=site, claim=str(claim), at=when)  # fmt: skip


def transfer(uow: UnitOfWork, command: Transfer, reader: str | None = None) -> Transferred:
    """Checked against everything stored at its date (the source's balance must cover it),
    then kept, in one transaction; ``reader`` (an organisation) must own the source site."""
    now = datetime.now(UTC)
    claim = parse_claim(command.claim)
    when = command.at or now
    move = flows.Transfer(when, node_id(command.source), node_id(command.target), claim,
                    dict(command.kg), f"urn:uuid:{uuid.uuid4()}", now)  # fmt: skip
    content = {"ref": move.ref, "at": int(when.timestamp() * 1000), "source": move.source,
               "target": move.target, "claim": str(claim), "kg": dict(command.kg)}  # fmt: skip
    with uow.writing("custody transfer", command.expected) as w:
        admit_act(w.conn, move.source, reader, "custody transfer")
        _admit(w.conn, uow.decoded, move)
        w.record("custody", "transfer", content)
        done = version(w.conn)
    return Transferred(version=done, ref=move.ref, source=move.source, target=move.target,
                       claim=str(claim), at=when)  # fmt: skip


def close(uow: UnitOfWork, command: Close) -> Closed:
    """Close a period (once, after it ended): entries recorded later in it are refused."""
    site, claim, period = node_id(command.site), parse_claim(command.claim), command.period
    now = datetime.now(UTC)
    with uow.writing("custody close", command.expected) as w:
        policy = custody_store.load(w.conn).policy(site, claim)
        if policy.model.physical:
            raise CustodyError(
                f"{site} runs {claim} {policy.model.value}: it keeps no account to close"
            )
        _, number = ledger.checked_period(period, length=policy.rules.period)
        if policy.rules.period.number(now) <= number:
            raise CustodyError(f"period {period} has not ended")
        if period in custody_store.closes(w.conn).get((site, claim), {}):
            raise PeriodClosed(f"{site} {claim}: period {period} is closed already")
        content = {"site": site, "claim": str(claim), "period": period,
                   "closedAt": int(now.timestamp() * 1000)}  # fmt: skip
        w.record("custody", "close", content)
        done = version(w.conn)
    return Closed(version=done, site=site, claim=str(claim), period=period)


def balances(
    uow: UnitOfWork,
    site: str | None = None,
    period: str | None = None,
    named: str = "--period",
    reader: str | None = None,
) -> Balances:
    """Accounts per site, claim and element, period by period; ``site`` and ``period`` (one
    period: 2025-03, 2025-Q1, 2025) narrow what is shown, and say why when nothing is. Read
    from the kept state (decision 029). ``named``: the period's name in an error (an option,
    a query parameter). ``reader`` (an organisation) sees the accounts of its own sites and
    of sites whose owner shares custody ``balances`` with it, and the notices about events
    it may read (decision 041)."""
    if period is not None:
        ledger.checked_period(period, named)
    wanted = None if site is None else node_id(site)
    _fresh(uow)
    with uow.reading() as conn:
        at = derived.watermark(conn, AREA) or 0
        kept = derived.contents(conn, _ACCOUNTS, wanted)
        every = [AccountBalance.model_validate_json(content) for content in kept]
        violations = [Notice.model_validate_json(c) for c in derived.contents(conn, _VIOLATIONS)]
        sites = masterdata_store.load(conn).sites
        grants = organisations.grants(conn, reader)
        if grants is not None:
            owners = organisations.load(conn).owners
            every = [a for a in every if _balances_shown(grants, owners.get(a.site), a.site)]
            ok = readers.readable_keys(conn, grants, [v.event for v in violations])
            violations = [v for v in violations if v.event in ok]
    accounts = [
        a.model_copy(update={"statements": [s for s in a.statements if s.period == period]})
        if period is not None else a
        for a in every
    ]  # fmt: skip
    shown_any = any(a.statements for a in accounts)
    labels = [(a.site, Period(a.period), [s.period for s in a.statements]) for a in every]
    return Balances(
        version=at,
        accounts=accounts,
        violations=violations,
        why_empty=None if shown_any else why_empty(labels, site, period, sites),
    )


def _statement(s: ledger.Statement) -> AccountStatement:
    return AccountStatement(
        period=s.period, opening=s.opening, credits=s.credits, debits=s.debits,
        losses=s.losses, expired=s.expired, closing=s.closing, carried=s.carried,
        forfeited=s.forfeited, closed=s.closed, unknown_credits=list(s.unknown),
    )  # fmt: skip


def report(uow: UnitOfWork, lot: str, reader: str | None = None) -> LotReport:
    """The claims a lot carries, kg and share of each element, backed by what; notes about
    claims it lost. Read from the kept state (decision 029). ``reader`` (an organisation)
    sees them when it made the lot or its maker shares custody claims with it; else the lot
    answers as one that carries nothing (decision 041)."""
    node = node_id(lot)
    _fresh(uow)
    with uow.reading() as conn:
        at = derived.watermark(conn, AREA) or 0
        kept = next(derived.contents(conn, _LOTS, node), None)
        if custody_level(conn, node, reader) == "none":
            kept = None
    carried = _LotClaims() if kept is None else _LotClaims.model_validate_json(kept)
    notes = carried.notes + carried.violations
    return LotReport(version=at, lot=node, claims=carried.claims, notes=notes)


# The custody state kept for readers (decision 029) and to go on from (decision 033): each
# account with all its statements and what it holds (by site), each lot's claims, notes and
# part of the state (by lot), the violations in the order they were found, and how far in
# time the state went; and what it was at the end of each month it changed in (decision 035):
# the rows of the lots and accounts it changed that month, how far it went and the violations
# found by then, keyed "<month> <lot or account>", to go on from when an entry comes late.
AREA = "custody"
_ACCOUNTS, _LOTS = "custody.account", "custody.lot"
_VIOLATIONS, _FRONTIER = "custody.violation", "custody.frontier"
_LOT_MONTHS, _ACCOUNT_MONTHS = "custody.lot@month", "custody.account@month"
_FRONTIER_MONTHS = "custody.frontier@month"
_MONTHS = (_LOT_MONTHS, _ACCOUNT_MONTHS, _FRONTIER_MONTHS)


class _KeptAccount(AccountBalance):
    held: dict[str, Any]  # ledger.Account.to_json: before the closed periods are marked


class _LotClaims(BaseModel):
    claims: list[ClaimCarried] = []
    notes: list[Notice] = []
    violations: list[Notice] = []
    state: dict[str, Any] | None = None  # flows.Custody.lot_state


class _HeldAccount(BaseModel):
    """An account as it was at the end of a month (ledger.Account.to_json)."""

    site: str
    claim: str
    element: str
    held: dict[str, Any]


class _Frontier(BaseModel):
    """How far in time the state went (``Custody.moved``, ``Custody.transferred``) and, at the
    end of a month, the violations found by then."""

    moved: datetime | None
    transferred: tuple[datetime, str] | None
    violations: int | None = None


@dataclass(slots=True)
class _Months:
    """A replay that writes, as it goes, what the state was at the end of each month it went
    through (decision 035); going on from kept rows, what was kept of the lots it restored
    (``prior``), the violations found before it and the first month it took again (``since``,
    None when it goes on from the end)."""

    state: Custody
    prior: dict[str, _LotClaims] | None = None  # None: replayed from the first entry
    violations: int = 0
    since: str | None = None
    held: dict[tuple[str, Claim, str], str] = field(default_factory=dict)  # as last written
    month: int | None = None
    touched: set[str] = field(default_factory=set)
    written: set[str] = field(default_factory=set)  # lots with a month row written
    notes: dict[str, list[Notice]] = field(default_factory=dict)  # found in this replay
    refused: dict[str, list[Notice]] = field(default_factory=dict)
    mapped: tuple[int, int] = (0, 0)  # notes and violations of the state mapped to lots
    rows: dict[str, list[tuple[str, str, str | None]]] = field(
        default_factory=lambda: {area: [] for area in _MONTHS}
    )

    def reach(self, at: datetime, named: Iterable[str] = ()) -> None:
        """An entry at ``at``, naming these lots, is about to be taken."""
        month = Period.MONTH.number(at.astimezone(UTC))
        if self.month is not None and month != self.month:
            self.end()
        self.month = month
        self.touched.update(named)

    def end(self) -> None:
        """The rows of the month the replay is in, as the state is now."""
        if self.month is None:
            return
        label = Period.MONTH.label(self.month)
        self._map()
        for lot in sorted(filter(self._holds, self.touched)):
            row = self.lot(lot).model_dump_json()
            self.rows[_LOT_MONTHS].append((f"{label} {lot}", lot, row))
            self.written.add(lot)
        self.touched = set()
        for (site, claim, element), account in self.state.accounts.items():
            held = orjson.dumps(account.to_json()).decode()
            if self.held.get((site, claim, element)) != held:
                self.held[site, claim, element] = held
                key = f"{site} {claim} {element}"
                content = _HeldAccount(site=site, claim=str(claim), element=element,
                                       held=orjson.loads(held))  # fmt: skip
                self.rows[_ACCOUNT_MONTHS].append((f"{label} {key}", key,
                                                   content.model_dump_json()))  # fmt: skip
        found = self.violations + len(self.state.violations)
        self.rows[_FRONTIER_MONTHS].append((label, "", self.frontier(found).model_dump_json()))

    def frontier(self, violations: int | None = None) -> _Frontier:
        return _Frontier(moved=self.state.moved, transferred=self.state.transferred,
                         violations=violations)  # fmt: skip

    def _map(self) -> None:
        """The notes and violations found since last mapped, to the lots they are about."""
        notes, violations = self.mapped
        for found, by_lot in ((self.state.notes[notes:], self.notes),
                              (self.state.violations[violations:], self.refused)):  # fmt: skip
            for note in found:
                for lot in note.lots:
                    by_lot.setdefault(lot, []).append(Notice.of(note))
                    self.touched.add(lot)
        self.mapped = (len(self.state.notes), len(self.state.violations))

    def _holds(self, lot: str) -> bool:
        """Whether anything is, or was, kept of a lot (most lots a replay meets carry no
        claim: they get no row)."""
        state = self.state
        return (
            lot in state.lots or lot in state.backing or lot in state.handled
            or lot in state.received or lot in self.notes or lot in self.refused
            or any(lot in lots for lots in state.originated.values())
            or lot in self.written or self._was(lot) != _LotClaims()
        )  # fmt: skip

    def _was(self, lot: str) -> _LotClaims:
        return (self.prior or {}).get(lot) or _LotClaims()

    def lot(self, lot: str) -> _LotClaims:
        """What is kept of a lot: its claims, notes and violations, and its part of the state."""
        state = self.state
        claims = [
            ClaimCarried(
                claim=str(claim),
                elements={
                    e: ElementShare(kg=kg, share=state.lots[lot][claim][e])
                    for e, kg in elements.items()
                },
                backing=state.backing.get(lot, {}).get(claim, []),
            )
            for claim, elements in sorted(state.claimed(lot).items())
        ]
        was = self._was(lot)
        return _LotClaims(
            claims=claims,
            notes=was.notes + self.notes.get(lot, []),
            violations=was.violations + self.refused.get(lot, []),
            state=state.lot_state(lot),
        )


def kept(months: _Months) -> dict[str, derived.Rows]:
    """The kept rows of a replay (its state is finished on the way): every lot's, or, going on
    from kept rows, those of the lots it restored; with the rows of the months it went
    through."""
    state = months.state
    months._map()
    held = {key: account.to_json() for key, account in state.accounts.items()}
    state.finish()
    accounts = [
        (f"{site} {claim} {element}", site, _KeptAccount(
            site=site, name=account.name, claim=str(claim), element=element,
            period=account.rules.period.value, balance=account.balance,
            statements=[_statement(s) for s in account.statements()],
            held=held[site, claim, element],
        ).model_dump_json())
        for (site, claim, element), account in state.accounts.items()
    ]  # fmt: skip
    every = state.held() | months.notes.keys() | months.refused.keys()
    lots = []
    for lot in sorted(every if months.prior is None else months.prior):
        carried = months.lot(lot)
        lots.append((lot, lot, None if carried == _LotClaims() else carried.model_dump_json()))
    found = [
        (f"{i:09d}", "", Notice.of(note).model_dump_json())
        for i, note in enumerate(state.violations, start=months.violations)
    ]
    frontier = months.frontier().model_dump_json(exclude={"violations"})
    return {_ACCOUNTS: accounts, _LOTS: lots, _VIOLATIONS: found,
            _FRONTIER: [("frontier", "", frontier)], **months.rows}  # fmt: skip


def kept_rows(conn: Connection, decoded: Decoded) -> dict[str, derived.Rows]:
    """The kept custody rows a recomputation from the store gives; none, without reading a
    single event, when nothing can put a claim into the state (a store of plain EPCIS
    traffic: its captures are not followed by a walk of every lot)."""
    if not custody_store.has_inputs(conn):
        return {area: [] for area in (_ACCOUNTS, _LOTS, _VIOLATIONS, _FRONTIER, *_MONTHS)}
    return replayed(conn, decoded)


def replayed(conn: Connection, decoded: Decoded) -> dict[str, derived.Rows]:
    """The kept custody rows of a replay of every stored entry."""
    lineage = StoreLineage(conn, decoded)
    months = _Months(_empty(conn, lineage))
    _take(months.state, lineage, custody_store.movements(conn), custody_store.transfers(conn),
          months=months)  # fmt: skip
    return kept(months)


def _resumed(
    conn: Connection,
    decoded: Decoded,
    kept: derived.Inputs,
    pending: Event | flows.Transfer | None = None,
    since: str | None = None,
) -> _Months | None:
    """The state the kept rows (reflecting ``kept``) hold, with the events and transfers
    stored since (and ``pending``) taken, when nothing else it reads changed (rules, closes,
    master data). When they all come after what it took, they are taken from the kept rows
    (decision 033); else the state is taken up as it was when the month of the earliest of
    them began (or month ``since``, when earlier) and every entry from then on is taken
    again (decision 035). Either gives what a recomputation from the start would. None when
    there is nothing to go on from."""
    records = derived.records_since(conn, kept.record, UNIT.kinds)
    stored = custody_store.transfers(conn)
    changed = _changed_from(conn, kept.record, records, stored)
    if changed is None:
        return None
    frontier = next(derived.contents(conn, _FRONTIER), None)
    if frontier is None:
        return None  # no state was kept to go on from
    lineage = StoreLineage(conn, decoded)
    new = {orjson.loads(content)["ref"] for kind, action, content in records
           if (kind, action) == ("custody", "transfer")}  # fmt: skip
    transfers = [t for t in stored if t.ref in new]
    moves = _with(custody_store.movements(conn, kept.event), transfers, pending)
    first = next(moves, None)
    went = _Frontier.model_validate_json(frontier)
    state = _empty(conn, lineage)
    state.moved, state.transferred = went.moved, went.transferred
    restated = custody_store.first_naming_made(conn, kept.event)  # element figures taken then
    times = [t for t in (None if first is None else first.at, restated) if t is not None]
    if (
        since is None
        and restated is None
        and not changed
        and state.resumes([] if first is None else [first.at], [(t.when, t.ref) for t in transfers])
    ):
        return _going_on(conn, lineage, state, chain([] if first is None else [first], moves),
                         transfers)  # fmt: skip
    months = [
        Period.MONTH.number(t.astimezone(UTC))
        for t in (*times, *(t.when for t in transfers), *changed)
    ]
    if since is not None:
        months.append(Period.MONTH.parse(since))
    return _taken_again(conn, lineage, min(months), pending) if months else None


def _changed_from(
    conn: Connection,
    record: int,
    records: list[tuple[str, str, str]],
    transfers: list[flows.Transfer],
) -> list[datetime] | None:
    """The instants from which the rules imported and the periods closed since ledger number
    ``record`` (``records``) change what the state takes (decision 037): a close, from its
    period's start; rules, for each origin or policy added, removed or changed, from the first
    entry at its site; each a day earlier, for the entries' own clocks. None (from the start)
    after master data or vocabulary. ``transfers``: every one stored."""
    found: list[datetime] = []
    ruled = False
    for kind, action, content in records:
        if (kind, action) == ("custody", "close"):
            found.append(span(*parse_period(orjson.loads(content)["period"]))[0])
        elif (kind, action) == ("custody", "import"):
            ruled = True
        elif (kind, action) != ("custody", "transfer"):
            return None
    if ruled:
        stood = derived.content_at(conn, record, "custody", "import")
        was = CustodyRules.from_json(orjson.loads(stood)) if stood else CustodyRules()
        found.extend(_first_ruled(conn, was, custody_store.load(conn), transfers))
    return [at - timedelta(days=1) for at in found]


def _first_ruled(
    conn: Connection, was: CustodyRules, now: CustodyRules, transfers: list[flows.Transfer]
) -> Iterator[datetime]:
    """For each origin or policy in one of the rules but not the other, the first entry it
    rules: the first event or transfer at its site, whatever its evidence's dates (outside
    them, a note says why the claim is not attached); none at its site: it rules nothing."""
    stood: set[Origin | Policy] = {*was.origins, *was.policies.values()}
    ruling: set[Origin | Policy] = {*now.origins, *now.policies.values()}
    for site in {entry.site for entry in stood ^ ruling}:
        first = [t.when for t in transfers if site in (t.source, t.target)]
        if (at := custody_store.first_at(conn, site)) is not None:
            first.append(at)
        if first:
            yield min(first)


def _going_on(
    conn: Connection,
    lineage: StoreLineage,
    state: Custody,
    moves: Iterator[Movement],
    transfers: list[flows.Transfer],
) -> _Months:
    """The kept state with what comes after it taken (decision 033)."""
    prior: dict[str, _LotClaims] = {}
    months = _Months(state, prior, violations=derived.count(conn, _VIOLATIONS))
    _take_up(months, (_KeptAccount.model_validate_json(c)
                      for c in derived.contents(conn, _ACCOUNTS)))  # fmt: skip

    def restore(named: set[str]) -> None:
        wanted = named - prior.keys()
        _restore(state, prior, wanted, {
            lot: found[0] for lot, found in derived.by_scope(conn, _LOTS, wanted).items()
        })  # fmt: skip

    _take(state, lineage, moves, transfers, restore, months)
    return months


def _taken_again(
    conn: Connection, lineage: StoreLineage, month: int, pending: Event | flows.Transfer | None
) -> _Months | None:
    """The state as it was when ``month`` began, with every entry from then on taken again
    (decision 035); None when nothing was kept of the months before it."""
    label = Period.MONTH.label(month)
    then = derived.as_of(conn, _FRONTIER_MONTHS, label).get("")
    if then is None:
        return None  # nothing before that month: recomputed from the start
    went = _Frontier.model_validate_json(then)
    state = _empty(conn, lineage)
    state.moved, state.transferred = went.moved, went.transferred
    prior: dict[str, _LotClaims] = {}
    months = _Months(state, prior, violations=went.violations or 0, since=label)
    _take_up(months, (_HeldAccount.model_validate_json(c)
                      for c in derived.as_of(conn, _ACCOUNT_MONTHS, label).values()))  # fmt: skip

    def restore(named: set[str]) -> None:
        wanted = named - prior.keys()
        _restore(state, prior, wanted, derived.as_of(conn, _LOT_MONTHS, label, wanted))

    start, _ = span(Period.MONTH, month)
    transfers = [t for t in custody_store.transfers(conn) if t.when >= start]
    moves = _with(custody_store.movements(conn, since=start), transfers, pending)
    _take(state, lineage, moves, transfers, restore, months)
    return months


def _take_up(months: _Months, accounts: Iterable[_HeldAccount | _KeptAccount]) -> None:
    """The accounts as kept (``held``: ledger.Account.to_json) taken up into the replay's
    state, and noted as written."""
    state = months.state
    for account in accounts:
        claim = parse_claim(account.claim)
        rules = state.rules.policy(account.site, claim).rules
        key = (account.site, claim, account.element)
        state.accounts[key] = ledger.Account.resumed(*key, rules, account.held)
        months.held[key] = orjson.dumps(account.held).decode()


def _restore(
    state: Custody, prior: dict[str, _LotClaims], wanted: set[str], found: dict[str, str]
) -> None:
    """The lots ``wanted`` taken up as kept (``found``: lot -> kept row; none kept: nothing)
    into the state, and into ``prior``."""
    for lot in wanted:
        prior[lot] = _LotClaims.model_validate_json(found[lot]) if lot in found else _LotClaims()
        held = prior[lot].state
        if held is not None:
            state.restore_lot(lot, held)


def resumed_rows(
    conn: Connection, decoded: Decoded, reflected: derived.Inputs
) -> dict[str, derived.Rows] | None:
    """The kept rows that change when the state goes on from the kept one (``_resumed``);
    None when it cannot. Taken again from a month, the violations and the rows of the months
    from then on that the replay did not give again go."""
    months = _resumed(conn, decoded, reflected)
    if months is None:
        return None
    rows = kept(months)
    if months.since is None:
        return rows
    found = months.violations + len(months.state.violations)
    return derived.gone_from(conn, rows, {_VIOLATIONS: f"{found:09d}",
                                          **dict.fromkeys(_MONTHS, months.since)})  # fmt: skip


def _fresh(uow: UnitOfWork) -> None:
    """Refresh the kept custody state when the ledger moved on since (a refresh a crash
    left undone, or a write that does not refresh yet)."""
    uow.refresh(UNIT)


def recycled(uow: UnitOfWork, battery: str) -> list[Share]:
    """Recycled share of the cobalt, nickel and lithium of a battery, traced and claimed
    (Regulation (EU) 2023/1542 Art. 8; custody.recycled)."""
    return shares(uow, [trace(uow, battery, "backward", e) for e in flows.ELEMENTS])


def recycled_json(uow: UnitOfWork, battery: str, reader: str | None = None) -> dict[str, Any]:
    """:func:`recycled` as JSON (the command's ``--json``, the API's answer): each element's
    shares and whether it meets each Art. 8 minimum, with the minimums and their source.
    ``reader`` (an organisation) sees it when it made the battery or its maker shares
    custody claims with it; else the battery answers as unknown (decision 041)."""
    with uow.reading() as conn:
        if custody_level(conn, node_id(battery), reader) == "none":
            raise Untraced(f"{battery}: no stored event mentions this identifier")
    found = recycled(uow, battery)
    rows = [
        {"element": s.element, "element_kg": s.element_kg, "traced": s.traced,
         "claimed": s.claimed, "unknown": list(s.unknown), "meets": s.meets()}
        for s in found
    ]  # fmt: skip
    minimums = [{"from": str(day), "shares": m} for day, m in MINIMUMS]
    return {"battery": node_id(battery), "shares": rows, "minimums": minimums,
            "source": MINIMUM_SOURCE}  # fmt: skip


def shares(uow: UnitOfWork, traces: list[Trace]) -> list[Share]:
    """The recycled share of each backward trace's element, traced and claimed, from the kept
    claims of the lots on it."""
    _fresh(uow)
    with uow.reading() as conn:
        kept = derived.by_scope(conn, _LOTS, {node for t in traces for node in t.objects})
    claims = _Claims()
    for lot, contents in kept.items():
        held = _LotClaims.model_validate_json(contents[0]).state or {}
        claims.lots[lot] = {parse_claim(c): e for c, e in (held.get("claims") or {}).items()}
        for claim in held.get("originated", []):
            claims.originated.setdefault(parse_claim(claim), set()).add(lot)
    return [share(t, claims) for t in traces]


@dataclass(slots=True)
class _Claims:
    """The kept claims of the lots on a trace, as share propagation reads them
    (custody.recycled.Claims)."""

    lots: dict[str, dict[Claim, dict[str, float | None]]] = field(default_factory=dict)
    originated: dict[Claim, set[str]] = field(default_factory=dict)


# what the kept rows are recomputed by, and the import records they read besides the events
UNIT = Unit(
    AREA,
    kept_rows,
    frozenset({"custody", "masterdata", "vocabulary", "store"}),
    resumed_rows,
    layout=2,
    inner=frozenset(_MONTHS),
)


def custody_level(conn: Connection, node: str, reader: str | None) -> str:
    """How much of the custody figures of ``node`` ``reader`` may see
    (:func:`batterytrace.sharing.figures_level`); the operator (None) all."""
    grants = organisations.grants(conn, reader)
    if grants is None:
        return CUSTODY[-1]
    return figures_level(grants, readers.makers(conn, node), "custody")


def _balances_shown(grants: Grants, owner: str | None, site: str) -> bool:
    """Whether ``grants.reader`` sees the accounts of ``site`` (owned by ``owner``)."""
    if owner == grants.reader:
        return True
    return any(
        s.custody == "balances" and (not s.scope.sites or site in s.scope.sites)
        for s in grants.by_owner.get(owner or "", ())
    )


def admit_act(conn: Connection, site: str, reader: str | None, what: str) -> None:
    """Forbidden unless ``reader`` (None: the operator) owns ``site``: only a site's owner
    allocates or transfers its credits (decision 041)."""
    if reader is None:
        return
    owner = organisations.load(conn).owners.get(site)
    if owner != organisation_id(reader):
        raise Forbidden(f"{what}: {site} is not a site of {organisation_id(reader)}")
