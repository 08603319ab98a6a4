"""Scheduled changes run by the engine with Microsoft off (the tests' default): applied in the batch,
with the job's finish (email, webhook) like any import (issue 27, point 3)."""

import datetime as dt

import pytest
from freezegun import freeze_time

from catalog.models import TermsAcceptance
from core.stored_messages import rendered
from imports.changes.services import (
    ChangeConflict,
    ChangeNotCancellable,
    ChangeRefused,
    change_cancel,
    change_reschedule,
    change_schedule,
)
from imports.engine.dispatch import dispatch_due_imports
from imports.jobs.services import import_cancel
from imports.models import ImportJob, ImportRow
from orders.changes.describe import change_text
from orders.models import Subscription, SubscriptionChange
from tests.changes.helpers import (
    BASIC,
    Kind,
    When,
    basic_subscription,
    now_minute,
    spec,
)

pytestmark = pytest.mark.django_db
Status = SubscriptionChange.Status


def schedule(demo, subscription, change_spec, **kwargs):
    return change_schedule(subscription_id=subscription.pk, user=demo.admin_abbie, spec=change_spec, **kwargs)


def test_quantity_up_at_a_chosen_time_is_applied_then(demo, mailoutbox, django_capture_on_commit_callbacks):
    subscription = basic_subscription(demo, quantity=1)
    due = now_minute() + dt.timedelta(minutes=2)
    scheduled = schedule(demo, subscription, spec(quantity=3, at=due))
    change, job = scheduled.change, scheduled.job
    assert (job.source, job.status, job.due_at, job.account_type) == (
        ImportJob.Source.CHANGE, ImportJob.Status.PENDING, due, ImportJob.AccountType.PRODUCTS,
    )
    assert change_text(change) in job.name and "Quantity 1 → 3" in job.name
    assert ImportRow.objects.get(job=job).change == change
    assert dispatch_due_imports(now=due - dt.timedelta(seconds=1)).claimed == 0
    with freeze_time(due + dt.timedelta(seconds=1)), django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due_imports(now=due + dt.timedelta(seconds=1)).completed == 1
    subscription.refresh_from_db()
    change.refresh_from_db()
    job.refresh_from_db()
    assert subscription.quantity == 3
    assert (change.status, change.applied_at) == (Status.APPLIED, due + dt.timedelta(seconds=1))
    assert job.status == ImportJob.Status.COMPLETED
    assert "Your import is completed" in [message.subject for message in mailoutbox]


def test_a_change_at_renewal_is_sent_at_once(demo):
    subscription = basic_subscription(demo, quantity=10)
    now = now_minute()
    scheduled = schedule(demo, subscription, spec(quantity=8, when=When.RENEWAL), now=now)
    assert scheduled.change.due_at == subscription.term_end
    assert scheduled.job.due_at == now
    dispatch_due_imports(now=now + dt.timedelta(seconds=1))
    scheduled.change.refresh_from_db()
    subscription.refresh_from_db()
    assert scheduled.change.status == Status.SENT
    assert subscription.quantity == 10
    assert subscription.next_term_instructions["quantity"] == 8


def test_a_refusal_writes_nothing(demo):
    subscription = basic_subscription(demo, quantity=10, days_into_term=30)
    with pytest.raises(ChangeRefused) as refused:
        schedule(demo, subscription, spec(quantity=8))
    assert refused.value.messages[0].startswith("Seats can be reduced only at renewal")
    assert not SubscriptionChange.objects.exists() and not ImportJob.objects.filter(source=ImportJob.Source.CHANGE).exists()


def test_a_refusal_accepts_no_terms_either(demo):
    subscription = basic_subscription(demo, quantity=10, days_into_term=30)
    demo.abbie_price_list.acceptances.filter(service__code=BASIC).delete()
    with pytest.raises(ChangeRefused):
        schedule(demo, subscription, spec(quantity=8), accept_terms=True)
    assert not TermsAcceptance.objects.filter(service__code=BASIC).exists()
    schedule(demo, subscription, spec(quantity=12), accept_terms=True)
    assert TermsAcceptance.objects.filter(service__code=BASIC).exists()


def test_a_second_change_of_the_kind_asks_to_replace_the_first(demo):
    subscription = basic_subscription(demo)
    due = now_minute() + dt.timedelta(hours=1)
    first = schedule(demo, subscription, spec(quantity=3, at=due))
    with pytest.raises(ChangeConflict) as conflict:
        schedule(demo, subscription, spec(quantity=5, at=due))
    assert conflict.value.existing == first.change
    second = schedule(demo, subscription, spec(quantity=5, at=due), replace_open=True)
    first.change.refresh_from_db()
    first.job.refresh_from_db()
    assert (first.change.status, first.change.replaced_by) == (Status.REPLACED, second.change)
    assert first.job.status == ImportJob.Status.CANCELLED
    assert SubscriptionChange.objects.get(status=Status.PENDING) == second.change


def test_replacing_a_change_a_worker_already_has_is_too_late(demo):
    subscription = basic_subscription(demo)
    due = now_minute() + dt.timedelta(hours=1)
    first = schedule(demo, subscription, spec(quantity=3, at=due))
    ImportJob.objects.filter(pk=first.job.pk).update(status=ImportJob.Status.IN_PROGRESS, lease_expires_at=due)
    with pytest.raises(ChangeRefused):
        schedule(demo, subscription, spec(quantity=5, at=due), replace_open=True)
    first.change.refresh_from_db()
    assert first.change.status == Status.PENDING


def test_cancel_a_pending_change_cancels_its_job_and_a_cancel_after_the_claim_is_too_late(demo):
    subscription = basic_subscription(demo)
    due = now_minute() + dt.timedelta(hours=1)
    first = schedule(demo, subscription, spec(quantity=3, at=due))
    assert change_cancel(change_id=first.change.pk, user=demo.admin_abbie).status == Status.CANCELLED
    first.job.refresh_from_db()
    assert first.job.status == ImportJob.Status.CANCELLED
    second = schedule(demo, subscription, spec(quantity=4, at=due))
    # The due time won the race: the job is claimed, so the cancel is too late and changes nothing.
    ImportJob.objects.filter(pk=second.job.pk).update(status=ImportJob.Status.IN_PROGRESS, lease_expires_at=due)
    with pytest.raises(ChangeNotCancellable) as late:
        change_cancel(change_id=second.change.pk, user=demo.admin_abbie)
    assert late.value.too_late
    second.change.refresh_from_db()
    assert second.change.status == Status.PENDING


def test_my_imports_cancel_of_the_job_cancels_the_change(demo):
    subscription = basic_subscription(demo)
    scheduled = schedule(demo, subscription, spec(quantity=3, at=now_minute() + dt.timedelta(hours=1)))
    assert import_cancel(job_id=scheduled.job.pk, user=demo.admin_abbie)
    scheduled.change.refresh_from_db()
    assert scheduled.change.status == Status.CANCELLED


def test_cancel_a_sent_change_tells_the_vendor_what_remains(demo):
    subscription = basic_subscription(demo, quantity=10)
    now = now_minute()
    quantity = schedule(demo, subscription, spec(quantity=8, when=When.RENEWAL), now=now)
    dispatch_due_imports(now=now + dt.timedelta(seconds=1))
    quantity.change.refresh_from_db()
    assert quantity.change.status == Status.SENT
    change_cancel(change_id=quantity.change.pk, user=demo.admin_abbie, now=now + dt.timedelta(minutes=1))
    quantity.change.refresh_from_db()
    assert quantity.change.status == Status.CANCELLED
    resend = ImportJob.objects.get(source=ImportJob.Source.CHANGE, status=ImportJob.Status.PENDING)
    assert resend.due_at == now + dt.timedelta(minutes=1)
    dispatch_due_imports(now=now + dt.timedelta(minutes=1, seconds=1))
    resend.refresh_from_db()
    subscription.refresh_from_db()
    assert resend.status == ImportJob.Status.COMPLETED
    assert subscription.next_term_instructions == {}


def test_reschedule_a_pending_change_moves_its_job_under_the_rules(demo):
    subscription = basic_subscription(demo, quantity=10, days_into_term=2)
    now = now_minute()
    scheduled = schedule(demo, subscription, spec(quantity=8, at=now + dt.timedelta(hours=1)), now=now)
    later = now + dt.timedelta(hours=2)
    change_reschedule(change_id=scheduled.change.pk, user=demo.admin_abbie, due_at=later, now=now)
    scheduled.change.refresh_from_db()
    scheduled.job.refresh_from_db()
    assert scheduled.change.due_at == later == scheduled.job.due_at
    # Past the window, a reduction is refused: the job and the change stay where they were.
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        change_reschedule(
            change_id=scheduled.change.pk, user=demo.admin_abbie,
            due_at=subscription.cancellation_window_ends_at + dt.timedelta(hours=1), now=now,
        )
    assert refused.value.messages[0].startswith("Seats can be reduced only")
    scheduled.job.refresh_from_db()
    assert scheduled.job.due_at == later


def test_a_subscription_suspended_meanwhile_fails_the_change_with_the_reason(demo, mailoutbox, django_capture_on_commit_callbacks):
    subscription = basic_subscription(demo)
    due = now_minute() + dt.timedelta(minutes=2)
    scheduled = schedule(demo, subscription, spec(quantity=3, at=due))
    Subscription.objects.filter(pk=subscription.pk).update(status=Subscription.Status.SUSPENDED)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=due)
    scheduled.change.refresh_from_db()
    scheduled.job.refresh_from_db()
    assert scheduled.change.status == Status.FAILED
    assert rendered(scheduled.change.reason) == "The subscription is Suspended; only an active subscription can be changed."
    assert scheduled.job.status == ImportJob.Status.FAILED
    row = ImportRow.objects.get(job=scheduled.job)
    assert row.failure_reason == rendered(scheduled.change.reason)
    email = [message for message in mailoutbox if "only an active subscription" in message.body]
    assert email, [message.subject for message in mailoutbox]


def test_cancel_at_term_end_turns_auto_renew_off_and_stays_sent(demo):
    subscription = basic_subscription(demo)
    now = now_minute()
    scheduled = schedule(demo, subscription, spec(Kind.CANCEL, When.RENEWAL), now=now)
    dispatch_due_imports(now=now)
    scheduled.change.refresh_from_db()
    subscription.refresh_from_db()
    assert scheduled.change.status == Status.SENT
    assert subscription.auto_renew is False


def test_cancel_now_inside_the_window_terminates(demo):
    subscription = basic_subscription(demo, days_into_term=1)
    now = now_minute()
    scheduled = schedule(demo, subscription, spec(Kind.CANCEL), now=now)
    assert scheduled.notices == ["Cancelled inside the 7-day window: the unused part of the term is credited pro rata."]
    dispatch_due_imports(now=now)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.TERMINATED
