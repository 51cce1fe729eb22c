"""The mass-balance credit ledger (ISO 22095:2020, mass balance model).

One account per site, claim and element holds credits in kg of the element (kg Co, kg Ni,
kg Li). Claimed input received by the site is credited; the yield of the site's
transformations is booked as a loss; claims on outgoing material are debits, only ever drawn
from the balance: an entry that would take it below zero is refused with the shortfall named,
so the same credit can never back two outputs. Credits are used oldest first.

Accounting periods (month, quarter or year: :mod:`batterytrace.periods`) roll over as entries
of a later period arrive: credits older than the expiry expire, and the closing balance carries
to the next period up to a cap (a share of the period's credits); the rest is forfeited. A
period can be closed once; a closed period takes no more entries.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from batterytrace.custody.claims import Claim
from batterytrace.errors import CustodyError, Overdraft, PeriodClosed
from batterytrace.periods import Period, parse_period

_EPSILON = 1e-9  # kg: rounding left by float sums, never a credit


def checked_period(
    label: str, field: str = "period", length: Period | None = None
) -> tuple[Period, int]:
    """The length and number of a period label (:func:`~batterytrace.periods.parse_period`), a
    period of ``length`` when given (:meth:`Period.parse`); a wrong label is a CustodyError
    that names ``field``."""
    try:
        return parse_period(label) if length is None else (length, length.parse(label))
    except ValueError as err:
        raise CustodyError(f"{field}: {err}") from None


@dataclass(frozen=True, slots=True)
class Rules:
    """How an account's periods work."""

    period: Period = Period.QUARTER
    carry_over: float | None = None  # share of a period's credits that may carry over (None: all)
    expiry: int | None = None  # periods a credit stays usable, its own included (None: never)

    def __post_init__(self) -> None:
        if self.carry_over is not None and self.carry_over < 0:
            raise CustodyError(f"carry_over: {self.carry_over} is negative")
        if self.expiry is not None and self.expiry < 1:
            raise CustodyError(f"expiry: {self.expiry} is not a number of periods >= 1")


@dataclass(slots=True)
class Statement:
    """One period of an account, kg of the element. closing = opening + credits - debits -
    losses - expired; carried + forfeited = closing (None while the period is open)."""

    period: str
    opening: float = 0.0
    credits: float = 0.0
    debits: float = 0.0
    losses: float = 0.0
    expired: float = 0.0
    closing: float = 0.0
    carried: float | None = None
    forfeited: float | None = None
    closed: bool = False  # closed by the operator
    unknown: list[str] = field(default_factory=list)  # credits of unknown kg: figures are floors


@dataclass(slots=True)
class _Tranche:
    period: int  # booked in
    kg: float


@dataclass(slots=True)
class Account:
    """The credits of one claim on one element at one site, entries taken in time order."""

    site: str
    claim: Claim
    element: str
    rules: Rules = field(default_factory=Rules)
    _tranches: deque[_Tranche] = field(default_factory=deque)
    _balance: float = 0.0  # the tranches' sum, kept as they change
    _periods: dict[int, Statement] = field(default_factory=dict)
    _current: int | None = None

    @property
    def name(self) -> str:
        return f"{self.site} {self.claim} {self.element}"

    @property
    def balance(self) -> float:
        return max(0.0, self._balance)

    def credit(self, when: datetime, kg: float, ref: str) -> None:
        statement = self._entry("credit", when, kg, ref)
        self._tranches.append(_Tranche(self.rules.period.number(when), kg))
        self._balance += kg
        statement.credits += kg

    def debit(self, when: datetime, kg: float, ref: str) -> None:
        """A claim on outgoing material, drawn from the balance (Overdraft if short)."""
        self._entry("debit", when, kg, ref, draw=True).debits += kg

    def loss(self, when: datetime, kg: float, ref: str) -> None:
        """Element of credited input a transformation did not put in its outputs (its yield)."""
        self._entry("loss", when, kg, ref, draw=True).losses += kg

    def unknown(self, when: datetime, ref: str) -> None:
        """A credit whose kg is unknown (claimed input with no element figure): not booked as
        0 kg but named on its period, whose figures are then lower bounds."""
        self._period("credit", when, ref).unknown.append(ref)

    def close(self, label: str) -> Statement | None:
        """Close a period (once): its entries are final; later entries go to later periods.
        A period before the account's first entry has no statement to mark (None)."""
        _, index = checked_period(label, length=self.rules.period)
        if index in self._periods and self._periods[index].closed:
            raise PeriodClosed(f"{self.name}: period {label} is closed already")
        if self._periods and index < min(self._periods):
            return None
        self._advance(index + 1)
        statement = self._periods[index]
        statement.closed = True
        return statement

    def statements(self) -> list[Statement]:
        """Every period from the first entry's to the current one, in order (the current one
        open: its closing is the balance so far)."""
        if self._current is not None:
            self._periods[self._current].closing = self.balance
        return [self._periods[i] for i in sorted(self._periods)]

    def to_json(self) -> dict[str, Any]:
        """What the account holds, to go on from later (:meth:`resumed`): its open credits
        (period booked, kg, oldest first), balance, current period and every statement."""
        return {
            "tranches": [[t.period, t.kg] for t in self._tranches],
            "balance": self._balance,
            "current": self._current,
            "periods": [[i, asdict(s)] for i, s in sorted(self._periods.items())],
        }

    @classmethod
    def resumed(
        cls, site: str, claim: Claim, element: str, rules: Rules, held: Mapping[str, Any]
    ) -> Account:
        """The account as :meth:`to_json` kept it: the same entries then taken give the same
        balances as if it had taken every entry since the first."""
        return cls(
            site, claim, element, rules,
            deque(_Tranche(period, kg) for period, kg in held["tranches"]), held["balance"],
            {i: Statement(**s) for i, s in held["periods"]}, held["current"],
        )  # fmt: skip

    def _entry(
        self, kind: str, when: datetime, kg: float, ref: str, draw: bool = False
    ) -> Statement:
        if not 0 < kg < math.inf:
            raise CustodyError(
                f"{self.name}: {kind} of {kg} kg for {ref}: kg must be positive and finite"
            )
        statement = self._period(kind, when, ref)
        if draw:
            self._draw(kind, kg, ref)
        return statement

    def _period(self, kind: str, when: datetime, ref: str) -> Statement:
        """The open statement of the period ``when`` falls in (earlier ones rolled over)."""
        index = self.rules.period.number(when)
        if index in self._periods and self._periods[index].closed:
            raise PeriodClosed(
                f"{self.name}: {kind} for {ref} on {when.date()} falls in closed period "
                f"{self.rules.period.label(index)}"
            )
        self._in_order(index, when)
        self._advance(index)
        return self._periods[index]

    def _draw(self, kind: str, kg: float, ref: str) -> None:
        """Take ``kg`` from the oldest credits."""
        shortfall = kg - self.balance
        if shortfall > _EPSILON * max(1.0, kg):
            raise Overdraft(
                f"{self.name}: {kind} of {kg:.6g} kg for {ref} exceeds the balance of "
                f"{self.balance:.6g} kg by {shortfall:.6g} kg",
                shortfall,
            )
        self._balance -= kg
        while kg > 0 and self._tranches:
            oldest = self._tranches[0]
            taken = min(oldest.kg, kg)
            oldest.kg -= taken
            kg -= taken
            if oldest.kg <= _EPSILON:  # rounding left over: gone with its tranche
                self._balance -= self._tranches.popleft().kg
        if not self._tranches:
            self._balance = 0.0

    def _in_order(self, index: int, when: datetime) -> None:
        if self._current is not None and index < self._current:
            label = self.rules.period.label(index)
            raise CustodyError(
                f"{self.name}: an entry of {when.date()} (period {label}) arrived after "
                f"period {self.rules.period.label(self._current)} began: entries go in time order"
            )

    def _advance(self, index: int) -> None:
        """Open period ``index``, rolling every period before it over."""
        if self._current is None:
            self._current = index
            self._periods[index] = Statement(self.rules.period.label(index))
        while self._current < index:
            carried = self._roll(self._current)
            self._current += 1
            label = self.rules.period.label(self._current)
            self._periods[self._current] = Statement(label, opening=carried, closing=carried)

    def _roll(self, index: int) -> float:
        """End period ``index``: credits past their expiry expire, the rest carries over up to
        the cap; what it returns opens the next period."""
        statement = self._periods[index]
        if self.rules.expiry is not None:
            expiring = index - self.rules.expiry + 1  # booked then or before: expired
            while self._tranches and self._tranches[0].period <= expiring:
                expired = self._tranches.popleft().kg
                statement.expired += expired
                self._balance -= expired
        statement.closing = self.balance
        cap = (
            statement.closing
            if self.rules.carry_over is None
            else self.rules.carry_over * statement.credits
        )
        carried = min(statement.closing, cap)
        forfeited = statement.closing - carried
        if forfeited > 0:
            self._draw("forfeit", forfeited, f"period {statement.period}")
        statement.carried, statement.forfeited = carried, forfeited
        return carried
