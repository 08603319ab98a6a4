"""The Upcoming view's world: built relative to the real now (the API and the pages read the clock)."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Company
from catalog.models import PriceListAssignment
from orders.terms import months_add
from tests.factories import CompanyFactory
from tests.imports.helpers import BASIC, STANDARD, schedule
from tests.upcoming.helpers import change, price, subscription

DAY = dt.timedelta(days=1)


@pytest.fixture
def world(demo):
    """ACME (a new customer of ABBIE BOX, on its price list): a provisioning in 2 days, a change in 3, a
    window closing in 4, a renewal with a change in 5, one without in 10, one in 40; a new customer of
    ANDES renews in 6. (The demo's own subscriptions have items too: tests filter by ACME.)"""
    now = timezone.now().replace(second=0, microsecond=0)
    acme = CompanyFactory(name="ACME UPCOMING S.A.C.", parent=demo.abbiebox, kind=Company.Kind.CUSTOMER)
    PriceListAssignment.objects.create(company=acme, price_list=demo.abbie_price_list)
    cusco = CompanyFactory(name="CUSCO UPCOMING S.A.C.", parent=demo.andes, kind=Company.Kind.CUSTOMER)
    basic, standard = demo.service(BASIC), demo.service(STANDARD)
    job = schedule(demo, due_at=now + 2 * DAY, company=acme)
    changed = subscription(acme, basic, term_end=now + 200 * DAY)
    at_change = change(changed, due_at=now + 3 * DAY, quantity=12)
    window = subscription(acme, basic, term_end=months_add(now - 3 * DAY, 12))
    window_ends = window.cancellation_window_ends_at
    renewing = subscription(acme, basic, term_end=now + 5 * DAY, quantity=10)
    renewal_change = change(renewing, when="renewal", quantity=8)
    plain = subscription(acme, standard, term_end=now + 10 * DAY, quantity=2)
    later = subscription(acme, basic, term_end=now + 40 * DAY)
    other = subscription(cusco, basic, term_end=now + 6 * DAY)
    # The price changes before the renewal: the renewal is priced on its own day.
    price(acme, basic, selling_price="5.00000", effective_from=(now + 4 * DAY).date())
    return locals()


