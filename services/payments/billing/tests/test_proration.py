"""Unit: proration arithmetic (Stripe's default), integer minor units at the period's edges."""
from datetime import datetime, timedelta, timezone

import pytest

from billing.proration import prorate

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
END = datetime(2026, 3, 31, tzinfo=timezone.utc)  # 30 days


def at(seconds_in: float) -> datetime:
    return START + timedelta(seconds=seconds_in)


def test_at_the_start_the_whole_period_is_credited_and_charged():
    p = prorate(old_price_cents=1200, new_price_cents=9900, period_start=START, period_end=END, at=START)
    assert (p.unused_credit_cents, p.remaining_charge_cents, p.net_cents) == (1200, 9900, 8700)


def test_halfway_half_of_each_price():
    p = prorate(old_price_cents=1200, new_price_cents=9900, period_start=START, period_end=END, at=at(15 * 86400))
    assert (p.unused_credit_cents, p.remaining_charge_cents, p.net_cents) == (600, 4950, 4350)


@pytest.mark.parametrize("when", [END, END + timedelta(seconds=1), END + timedelta(days=3)])
def test_at_or_after_the_end_nothing_is_left_to_prorate(when):
    p = prorate(old_price_cents=1200, new_price_cents=9900, period_start=START, period_end=END, at=when)
    assert (p.unused_credit_cents, p.remaining_charge_cents, p.net_cents) == (0, 0, 0)


def test_one_second_before_the_end_rounds_to_nothing_and_one_second_in_to_the_whole_price():
    last = prorate(old_price_cents=1200, new_price_cents=9900, period_start=START, period_end=END,
                   at=END - timedelta(seconds=1))
    assert (last.unused_credit_cents, last.remaining_charge_cents) == (0, 0)  # 9900/2592000 of a cent
    first = prorate(old_price_cents=1200, new_price_cents=9900, period_start=START, period_end=END, at=at(1))
    assert (first.unused_credit_cents, first.remaining_charge_cents) == (1200, 9900)


def test_a_clock_before_the_period_counts_the_whole_period_not_more():
    p = prorate(old_price_cents=1200, new_price_cents=9900, period_start=START, period_end=END,
                at=START - timedelta(hours=1))
    assert (p.unused_credit_cents, p.remaining_charge_cents) == (1200, 9900)


def test_each_line_rounds_half_up_on_its_own_in_integers():
    start, end = START, START + timedelta(seconds=2)
    p = prorate(old_price_cents=1, new_price_cents=3, period_start=start, period_end=end, at=start + timedelta(seconds=1))
    assert (p.unused_credit_cents, p.remaining_charge_cents, p.net_cents) == (1, 2, 1)  # 0.5 -> 1, 1.5 -> 2
    third = prorate(old_price_cents=100, new_price_cents=200, period_start=start, period_end=start + timedelta(seconds=3),
                    at=start + timedelta(seconds=2))
    assert (third.unused_credit_cents, third.remaining_charge_cents) == (33, 67)  # 33.3 and 66.7
    assert all(isinstance(v, int) for v in (third.unused_credit_cents, third.remaining_charge_cents, third.net_cents))


def test_large_prices_stay_exact():
    big = 2**31 - 1
    p = prorate(old_price_cents=big, new_price_cents=big - 1, period_start=START, period_end=END, at=at(10 * 86400))
    assert p.unused_credit_cents == (2 * big * 20 * 86400 + 30 * 86400) // (2 * 30 * 86400)
    assert p.net_cents == p.remaining_charge_cents - p.unused_credit_cents


def test_a_downgrade_owes_the_customer():
    p = prorate(old_price_cents=9900, new_price_cents=1200, period_start=START, period_end=END, at=at(20 * 86400))
    assert (p.unused_credit_cents, p.remaining_charge_cents, p.net_cents) == (3300, 400, -2900)


def test_an_empty_period_prorates_nothing():
    assert prorate(old_price_cents=1200, new_price_cents=9900, period_start=END, period_end=END, at=END).net_cents == 0
