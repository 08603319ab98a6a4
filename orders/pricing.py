"""Pricing of a quote: pure Decimal arithmetic, no database, no floats.

A price-list item holds the fee for one billing period of its billing frequency (a monthly item holds the
monthly fee, an annual item the yearly fee). The Order review shows the fee per month and the total of a
12-month commitment, whatever the term: for a P1M item the "12 month" total is still 12 monthly fees,
which is what the manual's screens show.

Amounts are kept at the price list's precision (5 decimals, like PriceListItem) and shown by one rule,
core.amounts (the `amount` template filter): at least 2 decimals, up to 5, trailing zeros beyond 2
trimmed, in the Cost / Selling price boxes and the billing information table alike (6.02175, 72.261).
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from catalog.billing import FREQUENCY_MONTHS, billing_type_label
from catalog.models import BillingFrequency, PriceListItem

# The price list stores 5 decimals; keep every derived amount at that precision.
AMOUNT_PLACES = Decimal("0.00001")
COMMITMENT_MONTHS = 12

FEE_TYPE_LABELS = {
    BillingFrequency.MONTHLY: _("Monthly fee"),
    BillingFrequency.ANNUAL: _("Annual fee"),
    BillingFrequency.TRIENNIAL: _("Triennial fee"),
}
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "PEN": "S/"}


def _amount(value: Decimal) -> Decimal:
    return value.quantize(AMOUNT_PLACES, rounding=ROUND_HALF_UP)


def currency_symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency, currency)


@dataclass(frozen=True)
class Quote:
    """What one order line costs and sells for, derived from a price-list item and a quantity."""

    quantity: int
    frequency: str
    term: str
    currency: str
    unit_cost: Decimal  # per billing period, as on the price list
    unit_price: Decimal
    period_cost: Decimal  # unit × quantity, per billing period
    period_price: Decimal
    monthly_cost: Decimal
    monthly_price: Decimal
    commitment_cost: Decimal  # COMMITMENT_MONTHS months
    commitment_price: Decimal

    @property
    def billing_type_label(self) -> str:
        return billing_type_label(self.frequency, self.term)

    @property
    def fee_type_label(self) -> str:
        return str(FEE_TYPE_LABELS[BillingFrequency(self.frequency)])

    @property
    def currency_symbol(self) -> str:
        return currency_symbol(self.currency)


def quote_from_prices(
    *, unit_cost: Decimal, unit_price: Decimal, quantity: int, frequency: str, term: str, currency: str = "USD"
) -> Quote:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValueError("quantity must be a positive integer")
    if not isinstance(unit_cost, Decimal) or not isinstance(unit_price, Decimal):
        raise TypeError("prices must be Decimal")
    period_months = FREQUENCY_MONTHS[BillingFrequency(frequency)]
    period_cost = unit_cost * quantity
    period_price = unit_price * quantity
    return Quote(
        quantity=quantity,
        frequency=frequency,
        term=term,
        currency=currency,
        unit_cost=unit_cost,
        unit_price=unit_price,
        period_cost=_amount(period_cost),
        period_price=_amount(period_price),
        monthly_cost=_amount(period_cost / period_months),
        monthly_price=_amount(period_price / period_months),
        # Multiply before dividing so an annual fee's 12-month total is the fee itself, not 12 × a rounded month.
        commitment_cost=_amount(period_cost * COMMITMENT_MONTHS / period_months),
        commitment_price=_amount(period_price * COMMITMENT_MONTHS / period_months),
    )


def quote_for(item: PriceListItem, quantity: int) -> Quote:
    """The quote for `quantity` units of a price-list item (the item in force on the day that matters)."""
    return quote_from_prices(
        unit_cost=item.cost,
        unit_price=item.selling_price,
        quantity=quantity,
        frequency=item.billing_frequency,
        term=item.term,
        currency=item.currency,
    )
