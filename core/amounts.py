"""**The** way an amount of money is shown, everywhere: the Order review's boxes and table, AVAILABLE
SERVICES, the subscription page (issue 24: they used to mix 2, 4 and 5 decimals by different rules).

At least 2 decimals, up to 5 (the price lists' precision, rounded half up beyond it), trailing zeros
beyond the second trimmed, never an exponent: 6.02175, 72.261, 7.2261, 12.50, 0.00 (the manual's
"6.02175 $" and "72.261 $"). A summary (the Order review's Cost and Selling price boxes) shows cents,
as the manual's "4.82 $ ... 57.81 $ per 12 months" does: `format_amount(value, cents=True)`, or the
`amount:"cents"` filter. Templates use the `amount` filter (core.templatetags.amounts).
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MAX_PLACES = Decimal("0.00001")
MIN_PLACES = Decimal("0.01")


def format_amount(value, *, cents: bool = False) -> str:
    """The amount as shown (rounded half up to cents for a summary); "" for None or something that
    is not a number."""
    if value is None or isinstance(value, bool):
        return ""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        if not amount.is_finite():
            return ""
        if cents:
            return f"{amount.quantize(MIN_PLACES, rounding=ROUND_HALF_UP):f}"
        shown = amount.quantize(MAX_PLACES, rounding=ROUND_HALF_UP).normalize()
        if shown.as_tuple().exponent > -2:
            shown = shown.quantize(MIN_PLACES)
    except (InvalidOperation, ValueError):
        return ""
    return f"{shown:f}"
