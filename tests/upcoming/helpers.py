"""Set-up for the Upcoming view and the timeline: subscriptions at a point of their term, changes."""

import datetime as dt
from decimal import Decimal

from catalog.models import BillingFrequency, PriceListItem, Term
from catalog.selectors import price_list_for
from orders.models import Subscription, SubscriptionChange
from orders.terms import months_add, term_fields
from tests.factories import SubscriptionFactory

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def subscription(company, service, *, term_end: dt.datetime, quantity=10, auto_renew=True, **fields) -> Subscription:
    """A P1Y monthly subscription whose term ends at `term_end` (started a year before)."""
    start = months_add(term_end, -12)
    return SubscriptionFactory(
        company=company, service=service, quantity=quantity, term=Term.P1Y, billing_frequency=BillingFrequency.MONTHLY,
        auto_renew=auto_renew, **{**term_fields(start, Term.P1Y), **fields},
    )


def change(sub: Subscription, *, kind="quantity", when="at", due_at=None, status="pending", **values) -> SubscriptionChange:
    before = {"quantity": sub.quantity, "billing_frequency": sub.billing_frequency, "term": sub.term,
              "service_name": sub.service.name}
    if kind == "quantity":
        values.setdefault("quantity", 3)
    return SubscriptionChange.objects.create(
        subscription=sub, kind=kind, when=when, due_at=due_at or sub.term_end, before=before, status=status, **values
    )


def price(company, service, *, selling_price: str, effective_from: dt.date, currency="USD") -> PriceListItem:
    return PriceListItem.objects.create(
        price_list=price_list_for(company), service=service, term=Term.P1Y, billing_frequency=BillingFrequency.MONTHLY,
        effective_from=effective_from, cost=Decimal(selling_price), selling_price=Decimal(selling_price), currency=currency,
    )
