"""The mass-balance ledger: periods, no overdraft, expiry, carry-over, closing once."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batterytrace.custody.claims import Claim
from batterytrace.custody.ledger import Account, Rules
from batterytrace.errors import CustodyError, Overdraft, PeriodClosed
from batterytrace.periods import Period

LOW = Claim("low-carbon")
SITE = "https://id.gs1.org/414/3012345001007"


def day(month: int, d: int = 1, year: int = 2025) -> datetime:
    return datetime(year, month, d, tzinfo=UTC)


def account(**rules: object) -> Account:
    return Account(SITE, LOW, "Co", Rules(**rules))  # type: ignore[arg-type]


def test_a_quarter_books_credits_losses_and_debits() -> None:
    a = account(period=Period.QUARTER)
    a.credit(day(1, 10), 100.0, "receipt R1")
    a.loss(day(2, 1), 5.0, "transformation T1 (yield 0.95)")
    a.debit(day(3, 1), 60.0, "shipment S1")
    a.credit(day(4, 2), 10.0, "receipt R2")
    q1, q2 = a.statements()
    assert (q1.period, q1.opening, q1.credits, q1.losses, q1.debits) == ("2025-Q1", 0, 100, 5, 60)
    assert (q1.closing, q1.carried, q1.forfeited) == (35, 35, 0)
    assert (q2.period, q2.opening, q2.credits, q2.closing, q2.carried) == (
        "2025-Q2",
        35,
        10,
        45,
        None,
    )
    assert a.balance == 45


def test_no_overdraft_and_a_credit_backs_one_output_only() -> None:
    a = account()
    a.credit(day(1), 50.0, "receipt R1")
    a.debit(day(1, 2), 50.0, "shipment S1")
    with pytest.raises(
        Overdraft, match="debit of 50 kg for shipment S2 exceeds the balance of 0 kg by 50 kg"
    ) as err:
        a.debit(day(1, 3), 50.0, "shipment S2")  # the same credit again
    assert err.value.shortfall == 50.0
    a.credit(day(1, 4), 20.0, "receipt R2")
    with pytest.raises(Overdraft) as short:
        a.debit(day(1, 5), 25.0, "shipment S3")
    assert short.value.shortfall == pytest.approx(5.0) and a.balance == 20.0  # nothing taken


def test_credits_expire_after_their_periods() -> None:
    a = account(period=Period.MONTH, expiry=2)  # usable in the month booked and the next
    a.credit(day(1, 15), 30.0, "R1")
    a.credit(day(2, 15), 20.0, "R2")
    a.debit(day(2, 20), 10.0, "S1")  # oldest first: from R1
    a.credit(day(3, 1), 1.0, "R3")  # February ends: R1's remaining 20 kg expire
    jan, feb, mar = a.statements()
    assert (jan.closing, feb.expired, feb.closing, mar.opening, a.balance) == (30, 20, 20, 20, 21)


def test_carry_over_is_capped_by_a_share_of_the_period_credits() -> None:
    a = account(period=Period.YEAR, carry_over=0.1)
    a.credit(day(3), 200.0, "R1")
    a.debit(day(6), 150.0, "S1")
    a.credit(day(2, 1, 2026), 5.0, "R2")
    y2025, y2026 = a.statements()
    assert (y2025.closing, y2025.carried, y2025.forfeited) == (50, 20, 30)
    assert (y2026.opening, a.balance) == (20, 25)


def test_a_period_closes_once_and_takes_no_more_entries() -> None:
    a = account(period=Period.QUARTER)
    a.credit(day(2), 10.0, "R1")
    closed = a.close("2025-Q1")
    assert closed.closed and closed.carried == 10
    with pytest.raises(PeriodClosed, match="period 2025-Q1 is closed already"):
        a.close("2025-Q1")
    with pytest.raises(PeriodClosed, match="falls in closed period 2025-Q1"):
        a.credit(day(3), 1.0, "late receipt")
    with pytest.raises(CustodyError, match=r"^period: '2025-13': months are 01 to 12$"):
        a.close("2025-13")
    with pytest.raises(CustodyError, match=r"^period: '2025-03' is a month, not a quarter \(e"):
        a.close("2025-03")


@pytest.mark.parametrize("kg", [0.0, -1.0, float("nan"), float("inf")])
def test_quantities_must_be_positive(kg: float) -> None:
    with pytest.raises(CustodyError, match="kg must be positive and finite"):
        account().credit(day(1), kg, "R")


def test_entries_come_in_time_order() -> None:
    a = account(period=Period.MONTH)
    a.credit(day(5), 1.0, "R1")
    with pytest.raises(CustodyError, match="entries go in time order"):
        a.credit(day(4), 1.0, "R0")


operations = st.lists(
    st.tuples(
        st.sampled_from(["credit", "debit", "loss"]),
        st.integers(min_value=0, max_value=6),  # days after the previous operation
        st.floats(min_value=0.001, max_value=1000.0),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(
    operations,
    st.sampled_from(list(Period)),
    st.one_of(st.none(), st.floats(min_value=0, max_value=2)),
    st.one_of(st.none(), st.integers(min_value=1, max_value=4)),
)
def test_every_kg_is_accounted_for(
    ops: list[tuple[str, int, float]], period: Period, cap: float | None, expiry: int | None
) -> None:
    """Whatever happens: the balance never goes below zero, a draw is refused exactly when it
    exceeds the balance, each statement adds up, and every credited kg is drawn, lost,
    expired, forfeited or still there."""
    a = account(period=period, carry_over=cap, expiry=expiry)
    when = day(1)
    for kind, days, kg in ops:
        when += timedelta(days=days * 9)
        try:
            getattr(a, kind)(when, kg, "op")
        except Overdraft as err:  # refused: nothing taken from what the period rolled to
            assert kind != "credit" and err.shortfall == pytest.approx(kg - a.balance)
            assert kg > a.balance
        assert a.balance >= -1e-9
    statements = a.statements()
    for s, after in itertools.pairwise(statements):
        assert s.closing == pytest.approx(
            s.opening + s.credits - s.debits - s.losses - s.expired, abs=1e-6
        )
        assert (s.carried or 0) + (s.forfeited or 0) == pytest.approx(s.closing, abs=1e-6)
        assert after.opening == pytest.approx(s.carried or 0, abs=1e-6)
    credits = sum(s.credits for s in statements)
    drawn = sum(s.debits + s.losses for s in statements)
    gone = sum(s.expired + (s.forfeited or 0) for s in statements)
    assert credits == pytest.approx(drawn + gone + a.balance, abs=1e-6)
