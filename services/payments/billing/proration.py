"""Proration of a plan change the way Stripe does it by default: a credit for the unused
remainder of the current period on the old price, a charge for that remainder on the new
price, each measured in whole seconds and rounded to the nearest minor unit on its own.
Integer arithmetic throughout: money never passes through a float."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Proration:
    unused_credit_cents: int  # the old price's share of what is left of the period
    remaining_charge_cents: int  # the new price's share of the same time
    at: datetime

    @property
    def net_cents(self) -> int:
        """Positive: owed now; negative: owed to the customer (kept as account credit)."""
        return self.remaining_charge_cents - self.unused_credit_cents


def _share(price_cents: int, part_s: int, whole_s: int) -> int:
    """round(price * part / whole), halves away from zero, in integers."""
    return (2 * price_cents * part_s + whole_s) // (2 * whole_s)


def prorate(*, old_price_cents: int, new_price_cents: int, period_start: datetime, period_end: datetime,
            at: datetime) -> Proration:
    whole = int((period_end - period_start).total_seconds())
    if whole <= 0:
        return Proration(0, 0, at)
    # Before the period (clock skew) counts as all of it; at or after its end, nothing is left.
    left = min(whole, max(0, int((period_end - at).total_seconds())))
    return Proration(_share(old_price_cents, left, whole), _share(new_price_cents, left, whole), at)
