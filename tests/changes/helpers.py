"""Set-up for the scheduled-changes tests (issue 27): ERITECH's Business Basic at a chosen point of its
term, its terms accepted at the price list (as the wizard's Accept leaves them)."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from catalog.models import BillingFrequency, Term
from devtools.demo import BASIC, PREMIUM, STANDARD
from orders.changes.rules import ChangeSpec
from orders.models import Subscription, SubscriptionChange
from orders.terms import term_fields
from tests.factories import SubscriptionFactory
from tests.imports.helpers import ERITECH_TENANT_ID, accept_terms

UTC = dt.UTC
Kind = SubscriptionChange.Kind
When = SubscriptionChange.When


def now_minute() -> dt.datetime:
    return timezone.now().replace(second=0, microsecond=0)


def basic_subscription(demo, *, quantity=1, days_into_term=30, started=None, upgrades=True, **fields) -> Subscription:
    """ERITECH's Business Basic, `days_into_term` days after its purchase (inside the 7-day window below 7)."""
    accept_terms(demo, BASIC)
    accept_terms(demo, STANDARD)
    basic = demo.service(BASIC)
    if upgrades:
        basic.upgrades_to.add(demo.service(STANDARD))
    started = started or timezone.now() - dt.timedelta(days=days_into_term)
    values = {
        "company": demo.eritech, "service": basic, "name": basic.name, "quantity": quantity,
        "term": Term.P1Y, "billing_frequency": BillingFrequency.MONTHLY,
        "unit_cost": Decimal("4.8175"), "unit_price": Decimal("6.02175"),
        "attributes": {"tenant_id": ERITECH_TENANT_ID},
        **term_fields(started, Term.P1Y),
    }
    values.update(fields)
    return SubscriptionFactory(**values)


def spec(kind=Kind.QUANTITY, when=When.AT, **values) -> ChangeSpec:
    return ChangeSpec(kind=kind, when=when, **values)


__all__ = ["BASIC", "PREMIUM", "STANDARD", "UTC", "basic_subscription", "now_minute", "spec"]
