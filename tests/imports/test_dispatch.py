import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import override_settings
from freezegun import freeze_time

from imports.models import ImportJob, ImportRow
from imports.engine.dispatch import dispatch_due_imports
from imports.engine.dispatch import imports_claim_due, imports_recover_expired
from orders.models import Subscription

from .helpers import UTC, schedule

T0 = dt.datetime(2024, 7, 22, 15, 0, tzinfo=UTC)


def subscriptions_of_job(job):
    return Subscription.objects.filter(order__import_row__job=job)


@freeze_time(T0)
def test_a_job_not_yet_due_is_left_alone(demo):
    later = schedule(demo, due_at=T0 + dt.timedelta(seconds=1))
    summary = dispatch_due_imports(now=T0)
    assert (summary.claimed, summary.completed, summary.failed) == (0, 0, 0)
    later.refresh_from_db()
    assert later.status == ImportJob.Status.PENDING
    assert later.claimed_at is None
    assert not subscriptions_of_job(later).exists()


@freeze_time(T0)
def test_jobs_due_while_no_worker_ran_are_all_processed_by_the_next_pass(demo):
    jobs = [schedule(demo, due_at=T0 - dt.timedelta(days=days)) for days in (3, 1, 0)]
    summary = dispatch_due_imports(now=T0, batch_size=2)  # two batches
    assert (summary.claimed, summary.completed) == (3, 3)
    assert {j.status for j in ImportJob.objects.filter(pk__in=[j.pk for j in jobs])} == {ImportJob.Status.COMPLETED}


@freeze_time(T0)
def test_two_passes_over_the_same_due_jobs_provision_once(demo):
    jobs = [schedule(demo, due_at=T0) for _ in range(3)]
    first = dispatch_due_imports(now=T0)
    second = dispatch_due_imports(now=T0 + dt.timedelta(minutes=1))
    assert (first.claimed, first.completed) == (3, 3)
    assert (second.claimed, second.completed) == (0, 0)
    for job in jobs:
        assert subscriptions_of_job(job).count() == 1


@freeze_time(T0)
def test_claims_take_the_oldest_due_first_and_jobs_due_together_company_by_company(demo):
    # Scheduled alternately for two companies, due at the same time (and one of them earlier).
    a1, b1, a2, b2 = (schedule(demo, due_at=T0, company=company) for company in (demo.eritech, demo.norte) * 2)
    earliest = schedule(demo, due_at=T0 - dt.timedelta(minutes=1), company=demo.norte)
    first, second = sorted([(demo.eritech.pk, [a1.pk, a2.pk]), (demo.norte.pk, [b1.pk, b2.pk])])
    # A batch holds one company's jobs, so two batches side by side lock different companies.
    assert imports_claim_due(now=T0, limit=3) == [earliest.pk, *first[1]]
    assert imports_claim_due(now=T0, limit=3) == second[1]


def test_a_claimed_job_is_not_claimed_again(demo):
    job = schedule(demo, due_at=T0)
    assert imports_claim_due(now=T0, limit=10) == [job.pk]
    assert imports_claim_due(now=T0, limit=10) == []
    job.refresh_from_db()
    assert job.status == ImportJob.Status.IN_PROGRESS
    assert job.claimed_at == T0
    assert job.lease_expires_at == T0 + dt.timedelta(seconds=90)  # the default lease: see settings


@freeze_time(T0)
@override_settings(IMPORT_LEASE_SECONDS=360)
def test_lease_recovery_puts_a_stuck_job_back_and_it_then_completes_once(demo):
    job = schedule(demo, due_at=T0)
    imports_claim_due(now=T0, limit=10)  # ...and the worker is killed here
    # Within the lease nothing happens: the worker may still be running.
    assert dispatch_due_imports(now=T0 + dt.timedelta(seconds=359)).claimed == 0
    assert imports_recover_expired(now=T0 + dt.timedelta(seconds=360)) == 0
    job.refresh_from_db()
    assert job.status == ImportJob.Status.IN_PROGRESS
    # Past the lease a later pass recovers it and runs it.
    later = T0 + dt.timedelta(seconds=361)
    summary = dispatch_due_imports(now=later)
    assert (summary.recovered, summary.claimed, summary.completed) == (1, 1, 1)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED
    assert job.finished_at == later
    assert subscriptions_of_job(job).count() == 1
    assert dispatch_due_imports(now=later + dt.timedelta(hours=1)).claimed == 0
    assert subscriptions_of_job(job).count() == 1


@freeze_time(T0)
def test_a_row_already_provisioned_by_a_killed_run_is_adopted_not_provisioned_again(demo):
    job = schedule(demo, due_at=T0)
    row = job.rows.select_related("order").get()
    imports_claim_due(now=T0, limit=10)
    # A run got as far as creating the subscription for this row, then its worker died.
    existing = Subscription.objects.create(
        company=demo.eritech, service=row.order.service, order=row.order, name="created by the killed run",
        account_id=777001, unit_cost=1, unit_price=1, provisioning_key=row.provisioning_key,
    )
    summary = dispatch_due_imports(now=T0 + dt.timedelta(hours=1))
    assert (summary.recovered, summary.completed) == (1, 1)
    row.refresh_from_db()
    assert (row.status, row.subscription, row.result_account_id) == (ImportRow.Status.COMPLETED, existing, 777001)
    assert subscriptions_of_job(job).count() == 1


@freeze_time(T0)
def test_the_database_refuses_a_second_subscription_for_the_same_row(demo):
    job = schedule(demo, due_at=T0)
    dispatch_due_imports(now=T0)
    row = job.rows.select_related("subscription").get()
    duplicate = Subscription(
        company=demo.eritech, service=row.subscription.service, name="again", account_id=777002,
        unit_cost=1, unit_price=1, provisioning_key=row.provisioning_key,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


@freeze_time(T0)
def test_run_due_imports_does_one_pass_and_says_what_it_did(demo, django_capture_on_commit_callbacks, mailoutbox):
    schedule(demo, due_at=T0)
    schedule(demo, due_at=T0, vendor_config={"microsoft_tenant_id": "nope"})
    schedule(demo, due_at=T0 + dt.timedelta(hours=1))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_due_imports", stdout=out)
    assert out.getvalue().strip() == "Claimed 2, completed 1, failed 1, recovered 0"
    assert len(mailoutbox) == 2
    out = io.StringIO()
    call_command("run_due_imports", stdout=out)
    assert out.getvalue().strip() == "Claimed 0, completed 0, failed 0, recovered 0"
