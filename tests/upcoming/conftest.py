"""The Upcoming view's world: built relative to the real now (the API and the pages read the clock)."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.imports.helpers import BASIC, STANDARD, schedule
from orders.terms import months_add
from tests.upcoming.helpers import change, price, subscription

DAY = dt.timedelta(days=1)


@pytest.fixture
def world(demo):
    """ERITECH (ABBIE BOX's customer): a provisioning in 2 days, a change in 3, a window closing in 4, a
    renewal with a change in 5, one without in 10, one in 40; ANDES' customer renews in 6."""
    now = timezone.now().replace(second=0, microsecond=0)
    basic, standard = demo.service(BASIC), demo.service(STANDARD)
    job = schedule(demo, due_at=now + 2 * DAY)
    changed = subscription(demo.eritech, basic, term_end=now + 200 * DAY)
    at_change = change(changed, due_at=now + 3 * DAY, quantity=12)
    window = subscription(demo.eritech, basic, term_end=months_add(now - 3 * DAY, 12))
    window_ends = window.cancellation_window_ends_at
    renewing = subscription(demo.eritech, basic, term_end=now + 5 * DAY, quantity=10)
    renewal_change = change(renewing, when="renewal", quantity=8)
    plain = subscription(demo.eritech, standard, term_end=now + 10 * DAY, quantity=2)
    later = subscription(demo.eritech, basic, term_end=now + 40 * DAY)
    other = subscription(demo.andes.children.first() or demo.andes, basic, term_end=now + 6 * DAY)
    # The price changes before the renewal: the renewal is priced on its own day.
    price(demo.eritech, basic, selling_price="5.00000", effective_from=(now + 4 * DAY).date())
    return locals()


