"""The subscription's timeline: past changes with their reason, the pending ones, the next renewal at
the price it will renew at (orders.timeline: the same selector as the Upcoming view's renewals)."""

import datetime as dt

import pytest
from django.utils import timezone

from core.stored_messages import stored
from orders.timeline import renewal_previews, subscription_timeline
from tests.imports.helpers import BASIC, STANDARD
from tests.upcoming.helpers import change, price, subscription

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


@pytest.fixture
def now():
    return timezone.now().replace(second=0, microsecond=0)


def test_timeline_past_pending_and_renewal(demo, now, abbie_client):
    basic = demo.service(BASIC)
    sub = subscription(demo.eritech, basic, term_end=now + 20 * DAY, quantity=10)
    change(sub, due_at=now - 5 * DAY, status="applied", quantity=10)
    change(sub, due_at=now - 2 * DAY, status="wiped", quantity=7, when="renewal",
           reason=stored("The vendor no longer holds the next-term instructions."))
    change(sub, when="renewal", quantity=8)
    price(demo.eritech, basic, selling_price="2.50000", effective_from=(now + 19 * DAY).date())

    timeline = subscription_timeline(sub)
    assert [e.change.status for e in timeline.past] == ["wiped", "applied"]
    assert timeline.past[0].reason == "The vendor no longer holds the next-term instructions."
    assert [e.text for e in timeline.pending] == [f"Quantity 10 → 8 at renewal on {(now + 20 * DAY):%Y-%m-%d}"]
    assert timeline.renewal.price_text == "20.00 USD" and timeline.renewal.quantity == 8

    body = abbie_client.get(f"/orders/subscriptions/{sub.account_id}/").content.decode()
    assert "TIMELINE" in body and "20.00 USD" in body and "Quantity 10 → 8 at renewal" in body
    assert "The vendor no longer holds the next-term instructions." in body


def test_renewal_applies_every_kind_and_ends_on_cancel(demo, now):
    basic, standard = demo.service(BASIC), demo.service(STANDARD)
    upgraded = subscription(demo.eritech, basic, term_end=now + 9 * DAY, quantity=4)
    change(upgraded, kind="upgrade", when="renewal", service=standard)
    cancelled = subscription(demo.eritech, basic, term_end=now + 9 * DAY)
    change(cancelled, kind="cancel", when="renewal")
    price(demo.eritech, standard, selling_price="12.50000", effective_from=(now + 1 * DAY).date())

    previews = renewal_previews([upgraded, cancelled])
    assert previews[upgraded.pk].service == standard and previews[upgraded.pk].price_text == "50.00 USD"
    assert previews[cancelled.pk].renews is False and previews[cancelled.pk].price_text == ""


def test_previews_are_batch_native(demo, now, django_assert_num_queries):
    basic = demo.service(BASIC)
    subs = [subscription(demo.eritech, basic, term_end=now + n * DAY) for n in range(1, 30)]
    with django_assert_num_queries(3):  # the changes, then the price lists and items (no terms: prices only)
        renewal_previews(subs)
