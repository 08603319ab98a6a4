"""orders.pricing against the manual: (NCE) Microsoft 365 Business Basic, P1Y and P1M."""

from decimal import Decimal

import pytest

from catalog.models import BillingFrequency, PriceListItem, Term
from core.amounts import format_amount
from orders.pricing import quote_for, quote_from_prices

BASIC_P1Y = PriceListItem(
    term=Term.P1Y, billing_frequency=BillingFrequency.MONTHLY, cost=Decimal("4.81750"), selling_price=Decimal("6.02175")
)


def p1m_of(item: PriceListItem) -> PriceListItem:
    """The seed's P1M item: 20% above the 12-month subscription."""
    return PriceListItem(
        term=Term.P1M,
        billing_frequency=BillingFrequency.MONTHLY,
        cost=item.cost * Decimal("1.2"),
        selling_price=item.selling_price * Decimal("1.2"),
    )


def test_one_business_basic_p1y_matches_the_manual():
    quote = quote_for(BASIC_P1Y, 1)
    assert quote.monthly_cost == Decimal("4.8175")
    assert quote.commitment_cost == Decimal("57.81")
    assert quote.monthly_price == Decimal("6.02175")
    assert quote.commitment_price == Decimal("72.261")


def test_boxes_and_table_show_the_manuals_precision_by_one_rule():
    quote = quote_for(BASIC_P1Y, 1)
    amounts = (quote.monthly_cost, quote.commitment_cost, quote.monthly_price, quote.commitment_price)
    # The manual's summary boxes: "4.82 $ ... 57.81 $ per 12 months", "6.02 $ ... 72.26 $ per 12 months".
    assert [format_amount(a, cents=True) for a in amounts] == ["4.82", "57.81", "6.02", "72.26"]
    # Its table: "6.02175 $", "72.261 $".
    assert [format_amount(a) for a in amounts] == ["4.8175", "57.81", "6.02175", "72.261"]
    assert format_amount(quote.period_price) == "6.02175"


def test_amounts_are_decimals_never_floats():
    quote = quote_for(BASIC_P1Y, 3)
    for amount in (quote.monthly_cost, quote.monthly_price, quote.commitment_cost, quote.commitment_price):
        assert isinstance(amount, Decimal)
    with pytest.raises(TypeError):
        quote_from_prices(unit_cost=4.8175, unit_price=Decimal("1"), quantity=1, frequency="monthly", term="P1Y")


def test_p1m_is_twenty_percent_higher_and_its_12_month_total_is_still_12_monthly_fees():
    p1y, p1m = quote_for(BASIC_P1Y, 1), quote_for(p1m_of(BASIC_P1Y), 1)
    assert p1m.monthly_price == p1y.monthly_price * Decimal("1.2") == Decimal("7.2261")
    assert p1m.monthly_cost == Decimal("5.781")
    assert p1m.commitment_price == Decimal("86.7132") == p1m.monthly_price * 12
    assert p1m.commitment_cost == Decimal("69.372")
    assert p1m.billing_type_label == "Monthly (with 1-month commitment) - P1M"


@pytest.mark.parametrize("quantity", [1, 2, 7, 25, 300])
def test_quantity_multiplies(quantity):
    quote = quote_for(BASIC_P1Y, quantity)
    assert quote.monthly_price == Decimal("6.02175") * quantity
    assert quote.monthly_cost == Decimal("4.8175") * quantity
    assert quote.commitment_price == Decimal("72.261") * quantity
    assert quote.commitment_cost == Decimal("57.81") * quantity


def test_quantity_of_ten_in_the_table_and_boxes():
    quote = quote_for(BASIC_P1Y, 10)
    assert format_amount(quote.monthly_price) == "60.2175"
    assert format_amount(quote.commitment_price) == "722.61"


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5, "1"])
def test_quantity_must_be_a_positive_integer(quantity):
    with pytest.raises(ValueError):
        quote_for(BASIC_P1Y, quantity)


def test_annual_billing_divides_the_yearly_fee_into_months():
    item = PriceListItem(
        term=Term.P1Y, billing_frequency=BillingFrequency.ANNUAL, cost=Decimal("57.81"), selling_price=Decimal("72.261")
    )
    quote = quote_for(item, 1)
    assert quote.period_price == Decimal("72.261")
    assert quote.monthly_price == Decimal("6.02175")
    assert quote.commitment_price == Decimal("72.261")
    assert quote.fee_type_label == "Annual fee"


def test_monthly_fee_of_a_yearly_price_that_does_not_divide_evenly_is_rounded_to_five_places():
    item = PriceListItem(
        term=Term.P1Y, billing_frequency=BillingFrequency.ANNUAL, cost=Decimal("100"), selling_price=Decimal("100")
    )
    quote = quote_for(item, 1)
    assert quote.monthly_price == Decimal("8.33333")
    assert quote.commitment_price == Decimal("100")  # not 12 × the rounded month


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("4.8175"), "4.8175"),
        (Decimal("57.81000"), "57.81"),
        (Decimal("6.02175"), "6.02175"),
        (Decimal("72.26100"), "72.261"),
        (Decimal("7.2261"), "7.2261"),
        (Decimal("100.00000"), "100.00"),
        (Decimal("12.5"), "12.50"),
        (Decimal("2"), "2.00"),
        (Decimal("1234567.1"), "1234567.10"),
        (Decimal("0.00000"), "0.00"),
        (Decimal("0.005"), "0.005"),
        (Decimal("0.000004"), "0.00"),
        (Decimal("1.234565"), "1.23457"),  # beyond 5 places: rounded half up
        (Decimal("1E+3"), "1000.00"),  # never an exponent
        ("6.02175", "6.02175"),
        (3, "3.00"),
        (None, ""),
        ("n/a", ""),
    ],
)
def test_the_one_rule_for_amounts(value, shown):
    assert format_amount(value) == shown


def test_currency_symbol():
    assert quote_for(BASIC_P1Y, 1).currency_symbol == "$"
