"""Notices about subscriptions (imports.notify.notices): a reminder before a renewal with changes to
their creators, a notice before a cancellation window closes to the users above who opted in; written
once by the housekeeping pass, sent through their outbox in the recipient's language."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from imports.engine import outbox_lane
from imports.engine.dispatch import dispatch_housekeeping
from imports.models import SubscriptionNotice
from imports.notify.notices import NOTE_NOTHING_TO_SAY, notices_queue_due, notices_send_due
from orders.models import SubscriptionChange
from orders.terms import months_add
from tests.factories import UserFactory
from tests.imports.helpers import BASIC
from tests.upcoming.helpers import change, price, subscription

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)
Kind = SubscriptionNotice.Kind


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def test_renewal_reminder_once_to_the_changes_creator(demo, now):
    basic = demo.service(BASIC)
    soon = subscription(demo.eritech, basic, term_end=now + 2 * DAY, quantity=10)
    change(soon, when="renewal", quantity=8, created_by=demo.admin_abbie)
    later = subscription(demo.eritech, basic, term_end=now + 5 * DAY)
    change(later, when="renewal", quantity=8, created_by=demo.admin_abbie)
    plain = subscription(demo.eritech, basic, term_end=now + 1 * DAY)  # no changes: no reminder
    price(demo.eritech, basic, selling_price="3.00000", effective_from=now.date())

    dispatch_housekeeping(now=now)  # the engine's pass writes them (registered by imports.apps)
    assert notices_queue_due(now=now) == 0  # and only once
    notice = SubscriptionNotice.objects.get()
    assert (notice.kind, notice.subscription, notice.recipient) == (Kind.CHANGE_REMINDER, soon, demo.admin_abbie)
    assert notice.occasion_at == soon.term_end and plain.pk != notice.subscription_id

    assert notices_send_due(now=now) == 1
    [email] = mail.outbox
    assert email.to == [demo.admin_abbie.email]
    assert email.extra_headers["Message-ID"] == notice.message_id
    assert "renews with changes" in email.subject
    assert f"Quantity 10 → 8 at renewal on {soon.term_end:%Y-%m-%d}" in email.body
    assert "It will renew at 24.00 USD" in email.body
    notice.refresh_from_db()
    assert notice.status == SubscriptionNotice.Status.SENT
    assert notices_send_due(now=now) == 0


def test_window_closing_to_opted_in_users_above_in_their_language(demo, now):
    basic = demo.service(BASIC)
    closing = subscription(demo.eritech, basic, term_end=months_add(now - 6 * DAY, 12))
    subscription(demo.eritech, basic, term_end=months_add(now - 1 * DAY, 12))  # closes in 6 days: not yet
    demo.admin_abbie.notify_window_closing = True
    demo.admin_abbie.email_language = "es"
    demo.admin_abbie.save()
    demo.admin_andes.notify_window_closing = True  # opted in, but not above ERITECH
    demo.admin_andes.save()
    UserFactory(company=demo.abbiebox)  # above ERITECH, not opted in

    assert notices_queue_due(now=now) == 1
    assert notices_queue_due(now=now) == 0
    notice = SubscriptionNotice.objects.get()
    assert (notice.kind, notice.subscription, notice.recipient) == (Kind.WINDOW_CLOSING, closing, demo.admin_abbie)
    assert notices_send_due(now=now) == 1
    [email] = mail.outbox
    assert "ventana de cancelación" in email.subject.lower()


def test_a_reminder_whose_changes_are_gone_sends_nothing(demo, now):
    sub = subscription(demo.eritech, demo.service(BASIC), term_end=now + 2 * DAY)
    pending = change(sub, when="renewal", quantity=8, created_by=demo.admin_abbie)
    notices_queue_due(now=now)
    SubscriptionChange.objects.filter(pk=pending.pk).update(status="cancelled")
    assert notices_send_due(now=now) == 0
    assert mail.outbox == []
    notice = SubscriptionNotice.objects.get()
    assert notice.status == SubscriptionNotice.Status.SENT and notice.last_error == NOTE_NOTHING_TO_SAY


def test_the_outbox_lane_sends_them():
    assert outbox_lane.KINDS["notices"].send is notices_send_due


def test_the_opt_in_is_on_the_notifications_tab(demo, abbie_client):
    user = demo.admin_abbie
    response = abbie_client.post(f"/users/{user.pk}/notifications/", {
        "email_language": "", "notify_scheduled": "on", "reminder_hours": "24", "notify_window_closing": "on", "time_zone": "",
    })
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.notify_window_closing is True
