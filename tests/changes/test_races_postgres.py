"""Races of scheduled changes between separate database connections (threads), on PostgreSQL (issue 27:
two tabs scheduling the same kind; a cancel racing the due time)."""

import datetime as dt

import pytest

from imports.changes.services import (
    ChangeConflict,
    ChangeNotCancellable,
    change_cancel,
    change_schedule,
)
from imports.engine.dispatch import imports_claim_due
from imports.models import ImportJob
from orders.models import SubscriptionChange
from tests.changes.helpers import basic_subscription, now_minute, spec
from tests.imports.test_concurrency_postgres import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _outcome(function):
    def run():
        try:
            return function()
        except (ChangeConflict, ChangeNotCancellable) as refused:
            return refused
    return run


def test_two_tabs_scheduling_the_same_kind_one_wins_the_other_is_asked_to_replace(demo):
    subscription = basic_subscription(demo, quantity=1)
    due = now_minute() + dt.timedelta(hours=1)
    for quantity in (3, 5, 7):
        results = run_together(*[
            _outcome(lambda q=q: change_schedule(subscription_id=subscription.pk, user=demo.admin_abbie, spec=spec(quantity=q, at=due)))
            for q in (quantity, quantity + 1)
        ])
        assert sum(isinstance(result, ChangeConflict) for result in results) == 1
        assert SubscriptionChange.objects.filter(status=SubscriptionChange.Status.PENDING).count() == 1
        SubscriptionChange.objects.filter(status=SubscriptionChange.Status.PENDING).update(status=SubscriptionChange.Status.CANCELLED)


def test_a_cancel_racing_the_due_time_exactly_one_wins(demo):
    subscription = basic_subscription(demo, quantity=1)
    for round_ in range(10):
        due = now_minute() - dt.timedelta(seconds=1)
        scheduled = change_schedule(
            subscription_id=subscription.pk, user=demo.admin_abbie, spec=spec(quantity=2 + round_), now=due,
        )
        cancelled, claimed = run_together(
            _outcome(lambda pk=scheduled.change.pk: change_cancel(change_id=pk, user=demo.admin_abbie)),
            lambda at=due + dt.timedelta(seconds=2): imports_claim_due(now=at, limit=10),
        )
        won_cancel = not isinstance(cancelled, ChangeNotCancellable)
        assert won_cancel != (claimed == [scheduled.job.pk])
        scheduled.change.refresh_from_db()
        assert scheduled.change.status == (SubscriptionChange.Status.CANCELLED if won_cancel else SubscriptionChange.Status.PENDING)
        ImportJob.objects.filter(pk=scheduled.job.pk, status=ImportJob.Status.IN_PROGRESS).update(
            status=ImportJob.Status.FAILED, lease_expires_at=None
        )
        SubscriptionChange.objects.filter(pk=scheduled.change.pk, status=SubscriptionChange.Status.PENDING).update(
            status=SubscriptionChange.Status.FAILED
        )
