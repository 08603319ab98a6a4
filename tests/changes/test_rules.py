"""orders.changes.rules: every refusal, and what passes (issue 27, point 2)."""

import datetime as dt

import pytest
from django.utils import translation

from accounts.models import Company
from catalog.models import BillingFrequency, Term
from core.stored_messages import rendered, stored
from devtools.demo import KIOSK
from orders.changes import rules
from orders.changes.rules import change_problems, notices
from orders.models import Subscription
from orders.validation import QUANTITY_ABOVE_LIMIT, SCHEDULE_IN_PAST, TERMS_NOT_ACCEPTED
from tests.changes.helpers import (
    BASIC,
    PREMIUM,
    STANDARD,
    Kind,
    When,
    basic_subscription,
    now_minute,
    spec,
)

pytestmark = pytest.mark.django_db


def problems(subscription, change, **kwargs) -> list[str]:
    return [rendered(text) for text in change_problems(subscription, change, now=kwargs.pop("now", now_minute()), **kwargs)]


def test_quantity_up_now_and_later_pass(demo):
    subscription = basic_subscription(demo)
    assert problems(subscription, spec(quantity=3)) == []
    assert problems(subscription, spec(quantity=3, at=now_minute() + dt.timedelta(days=2))) == []


@pytest.mark.parametrize("status", [Subscription.Status.SUSPENDED, Subscription.Status.TERMINATED])
def test_a_subscription_not_active_is_refused(demo, status):
    subscription = basic_subscription(demo, status=status)
    label = dict(Subscription.Status.choices)[status]
    assert problems(subscription, spec(quantity=3)) == [rendered(stored(rules.SUBSCRIPTION_NOT_ACTIVE, status=label))]


def test_quantity_bounds(demo):
    subscription = basic_subscription(demo, quantity=2)
    assert problems(subscription, spec(quantity=0)) == [str(rules.QUANTITY_BELOW_ONE)]
    assert problems(subscription, spec(quantity=None)) == [str(rules.QUANTITY_REQUIRED)]
    assert problems(subscription, spec(quantity=2)) == [str(rules.QUANTITY_UNCHANGED % {"quantity": 2})]
    limit = subscription.service.max_quantity
    assert problems(subscription, spec(quantity=limit + 1)) == [
        str(QUANTITY_ABOVE_LIMIT % {"quantity": limit + 1, "limit": limit, "service": subscription.service.name})
    ]


def test_a_mid_term_reduction_is_refused_with_the_window_end(demo):
    subscription = basic_subscription(demo, quantity=10, days_into_term=30)
    [reason] = problems(subscription, spec(quantity=8))
    until = subscription.cancellation_window_ends_at.strftime("%Y-%m-%d %H:%M UTC")
    assert reason == f"Seats can be reduced only at renewal or in the 7 days after purchase or renewal (until {until})."


def test_a_reduction_inside_the_window_or_at_renewal_passes(demo):
    inside = basic_subscription(demo, quantity=10, days_into_term=2)
    assert problems(inside, spec(quantity=8)) == []
    later = basic_subscription(demo, quantity=10, days_into_term=30)
    assert problems(later, spec(quantity=8, when=When.RENEWAL)) == []


def test_a_reduction_scheduled_after_the_window_closes_is_refused(demo):
    inside = basic_subscription(demo, quantity=10, days_into_term=2)
    after_window = inside.cancellation_window_ends_at + dt.timedelta(hours=1)
    assert problems(inside, spec(quantity=8, at=after_window))[0].startswith("Seats can be reduced only")


def test_at_the_due_time_the_window_is_judged_at_the_run(demo):
    subscription = basic_subscription(demo, quantity=10, days_into_term=2)
    due = subscription.cancellation_window_ends_at - dt.timedelta(hours=1)
    assert problems(subscription, spec(quantity=8, at=due), now=due, at_due_time=True) == []
    late = subscription.cancellation_window_ends_at + dt.timedelta(minutes=5)
    assert problems(subscription, spec(quantity=8, at=due), now=late, at_due_time=True)[0].startswith("Seats can be reduced only")


def test_a_change_past_the_subscription_end_is_refused(demo):
    subscription = basic_subscription(demo, days_into_term=360)
    after_end = subscription.term_end + dt.timedelta(days=1)
    [reason] = problems(subscription, spec(quantity=3, at=after_end))
    assert "is not before the end of the subscription's current term" in reason


def test_a_time_in_the_past_is_refused(demo):
    subscription = basic_subscription(demo)
    assert problems(subscription, spec(quantity=3, at=now_minute() - dt.timedelta(hours=1))) == [str(SCHEDULE_IN_PAST)]


def test_renewal_needs_a_term(demo):
    subscription = basic_subscription(demo, term_start=None, term_end=None, cancellation_window_ends_at=None, term="")
    assert problems(subscription, spec(quantity=3, when=When.RENEWAL)) == [str(rules.NO_TERM)]


@pytest.mark.parametrize(
    ("kind", "values", "message"),
    [
        (Kind.BILLING_CYCLE, {"billing_frequency": BillingFrequency.ANNUAL}, "The billing cycle can be changed only at renewal"),
        (Kind.TERM, {"term": Term.P1M}, "The term can be changed only at renewal"),
        (Kind.UPGRADE, {}, "The product can be upgraded only at renewal"),
        (Kind.CANCEL, {}, "A subscription can be cancelled now only in the 7 days"),
    ],
)
def test_renewal_kinds_are_refused_mid_term(demo, kind, values, message):
    subscription = basic_subscription(demo, days_into_term=30)
    if kind == Kind.UPGRADE:
        values = {"service": demo.service(STANDARD)}
    [reason] = problems(subscription, spec(kind, **values))
    assert reason.startswith(message)


def test_unchanged_values_are_refused(demo):
    subscription = basic_subscription(demo)
    assert problems(subscription, spec(Kind.BILLING_CYCLE, When.RENEWAL, billing_frequency=BillingFrequency.MONTHLY)) == [
        "The subscription is already billed Monthly."
    ]
    assert problems(subscription, spec(Kind.TERM, When.RENEWAL, term=Term.P1Y)) == [
        "The subscription already has a 1-year commitment."
    ]
    assert problems(subscription, spec(Kind.AUTO_RENEW, auto_renew=True)) == [str(rules.AUTO_RENEW_UNCHANGED_ON)]
    assert problems(subscription, spec(Kind.BILLING_CYCLE, When.RENEWAL)) == [str(rules.CYCLE_REQUIRED)]
    assert problems(subscription, spec(Kind.TERM, When.RENEWAL, term="P9Y")) == [str(rules.TERM_REQUIRED)]


def test_an_upgrade_only_along_the_catalog_paths(demo):
    subscription = basic_subscription(demo)
    assert problems(subscription, spec(Kind.UPGRADE, When.RENEWAL, service=demo.service(STANDARD))) == []
    # On the demo's paths, but the target's own due-time checks apply: its terms are not accepted yet.
    premium = demo.service(PREMIUM)
    assert problems(subscription, spec(Kind.UPGRADE, When.RENEWAL, service=premium)) == [
        str(TERMS_NOT_ACCEPTED % {"service": premium.name, "price_list": demo.abbie_price_list.name})
    ]
    kiosk = demo.service(KIOSK)
    assert problems(subscription, spec(Kind.UPGRADE, When.RENEWAL, service=kiosk)) == [
        f"{kiosk.name} is not an upgrade of {subscription.service.name} in the catalog."
    ]
    assert problems(subscription, spec(Kind.UPGRADE, When.RENEWAL)) == [str(rules.UPGRADE_REQUIRED)]


def test_auto_renew_off_now_passes_and_not_at_renewal(demo):
    subscription = basic_subscription(demo)
    assert problems(subscription, spec(Kind.AUTO_RENEW, auto_renew=False)) == []
    assert problems(subscription, spec(Kind.AUTO_RENEW, When.RENEWAL, auto_renew=False)) == [str(rules.AUTO_RENEW_AT_RENEWAL)]


def test_cancel_at_term_end_mid_term_and_cancel_now_in_the_window(demo):
    mid_term = basic_subscription(demo, days_into_term=30)
    assert problems(mid_term, spec(Kind.CANCEL, When.RENEWAL)) == []
    inside = basic_subscription(demo, days_into_term=1)
    assert problems(inside, spec(Kind.CANCEL)) == []
    assert [rendered(text) for text in notices(spec(Kind.CANCEL))] == [str(rules.CANCEL_NOW_CREDIT)]


def test_the_due_time_checks_still_apply(demo):
    subscription = basic_subscription(demo)
    Company.objects.filter(pk=demo.eritech.pk).update(status=Company.Status.SUSPENDED)
    subscription.company.refresh_from_db()
    [reason] = problems(subscription, spec(quantity=3))
    assert reason.startswith("The parent account ERITECH PERU S.A. is not active")
    # Cancelling needs only... the parent too is checked, but not the price list.
    Company.objects.filter(pk=demo.eritech.pk).update(status=Company.Status.ACTIVE)
    subscription.company.refresh_from_db()
    demo.abbie_price_list.acceptances.filter(service__code=BASIC).delete()
    [reason] = problems(subscription, spec(quantity=3))
    assert reason == str(TERMS_NOT_ACCEPTED % {"service": subscription.service.name, "price_list": demo.abbie_price_list.name})
    assert problems(subscription, spec(Kind.CANCEL, When.RENEWAL)) == []


def test_terms_not_accepted_yet_are_pending_to_accept_and_only_they_may_be_left_to_the_scheduling(demo):
    """The wizard shows the terms of what the change leaves charged for when they are not accepted yet (the
    demo's Business Basic: ABBIE BOX never accepted them), to accept as the change is scheduled."""
    subscription = basic_subscription(demo)
    demo.abbie_price_list.acceptances.filter(service__code=BASIC).delete()
    now = now_minute()
    assert rules.terms_pending(subscription, spec(quantity=3), now=now) == subscription.service
    assert problems(subscription, spec(quantity=3), accepting_terms=True) == []
    # The upgrade's target is what is charged for: its terms, not the subscription's.
    premium = demo.service(PREMIUM)
    upgrade = spec(Kind.UPGRADE, When.RENEWAL, service=premium)
    assert rules.terms_pending(subscription, upgrade, now=now) == premium
    # A cancellation charges for nothing more; accepted terms leave nothing to accept.
    assert rules.terms_pending(subscription, spec(Kind.CANCEL, When.RENEWAL), now=now) is None
    assert rules.terms_pending(subscription, spec(Kind.UPGRADE, When.RENEWAL, service=demo.service(STANDARD)), now=now) is None
    # Accepting the terms is no way round the other checks: a service no longer offered is still refused.
    subscription.service.active = False
    subscription.service.save(update_fields=["active"])
    assert rules.terms_pending(subscription, spec(quantity=3), now=now) is None
    assert problems(subscription, spec(quantity=3), accepting_terms=True) == [
        f"The service {subscription.service.name} is no longer active."
    ]



def test_the_review_gives_the_problems_and_the_terms_from_one_load_of_the_facts(demo):
    """scheduling_review (the change wizard's review, a bulk Changes line) says what change_problems (terms left
    to the reseller) and terms_pending say, reading the change's facts once: the queries of change_problems alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    subscription = basic_subscription(demo)
    demo.abbie_price_list.acceptances.filter(service__code=BASIC).delete()
    now = now_minute()
    for change in (spec(quantity=3), spec(quantity=0), spec(Kind.UPGRADE, When.RENEWAL, service=demo.service(PREMIUM))):
        change_problems(subscription, change, now=now)  # what it reads once (the service's vendor) read before
        with CaptureQueriesContext(connection) as alone:
            expected_problems = change_problems(subscription, change, now=now, accepting_terms=True)
        with CaptureQueriesContext(connection) as review:
            found_problems, terms = rules.scheduling_review(subscription, change, now=now)
        assert found_problems == expected_problems
        assert terms == (None if expected_problems else rules.terms_pending(subscription, change, now=now))
        assert len(review.captured_queries) == len(alone.captured_queries)
    assert rules.scheduling_review(subscription, spec(quantity=3), now=now) == ([], subscription.service)

def test_the_reason_reads_in_spanish(demo):
    subscription = basic_subscription(demo, quantity=10, days_into_term=30)
    [text] = change_problems(subscription, spec(quantity=8), now=now_minute())
    with translation.override("es"):
        assert rendered(text).startswith("Los puestos")


def test_nothing_is_scheduled_for_a_renewal_that_will_not_happen(demo):
    subscription = basic_subscription(demo, auto_renew=False)
    assert problems(subscription, spec(quantity=3, when=When.RENEWAL)) == [str(rules.DOES_NOT_RENEW)]
    end = subscription.term_end.strftime("%Y-%m-%d %H:%M UTC")
    assert problems(subscription, spec(Kind.CANCEL, When.RENEWAL)) == [str(rules.ENDS_ALREADY % {"end": end})]
