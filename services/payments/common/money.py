"""Amounts as people read them: minor units (what the models store) to "$12.34" or "12.34 EUR".

Exact (integer arithmetic, no floats). Currencies without a minor unit (the ones Stripe lists
as zero-decimal) are shown whole; the ledger's CREDITS unit is a count, not money.
"""
from __future__ import annotations

ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
                          "VUV", "XAF", "XOF", "XPF"})
# Only where the symbol is not ambiguous for our users; every other currency is shown by its code.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
CREDITS = "CREDITS"


def format_money(minor_units: int | None, currency: str) -> str:
    if minor_units is None:
        return ""
    code = (currency or "").upper()
    if code == CREDITS:
        return f"{minor_units:,} credit{'' if abs(minor_units) == 1 else 's'}"
    sign = "-" if minor_units < 0 else ""
    whole, fraction = divmod(abs(minor_units), 100)
    number = f"{abs(minor_units):,}" if code in ZERO_DECIMAL else f"{whole:,}.{fraction:02d}"
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code}"
