"""Races between separate database connections (threads), on PostgreSQL."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from imports.models import ImportJob
from imports.engine.dispatch import dispatch_due_imports
from imports.engine.dispatch import imports_claim_due
from imports.jobs.services import import_cancel
from orders.models import Subscription

from .helpers import schedule

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*functions):
    """Start the functions at the same moment in their own threads (own connections); their results."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)
    errors: list = []

    def runner(index, function):
        try:
            barrier.wait(timeout=30)
            results[index] = function()
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_a_cancel_racing_a_claim_exactly_one_wins(demo):
    now = timezone.now()
    for _ in range(15):
        job = schedule(demo, due_at=now - dt.timedelta(seconds=1))
        cancelled, claimed = run_together(
            lambda: import_cancel(job_id=job.pk, user=demo.admin_abbie),
            lambda: imports_claim_due(now=now, limit=10),
        )
        job.refresh_from_db()
        assert cancelled != (claimed == [job.pk])  # exactly one of them won
        assert job.status == (ImportJob.Status.CANCELLED if cancelled else ImportJob.Status.IN_PROGRESS)
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.IN_PROGRESS).update(
            status=ImportJob.Status.FAILED, lease_expires_at=None  # out of the way of the next round
        )


def test_concurrent_claims_take_disjoint_jobs(demo):
    now = timezone.now()
    jobs = {schedule(demo, due_at=now - dt.timedelta(seconds=1)).pk for _ in range(30)}
    claims = run_together(*[lambda: imports_claim_due(now=now, limit=7) for _ in range(4)])
    taken = [pk for claim in claims for pk in claim]
    assert len(taken) == len(set(taken)) == 28
    assert set(taken) <= jobs


def test_two_dispatch_passes_at_once_provision_each_job_once(demo):
    now = timezone.now()
    jobs = [schedule(demo, due_at=now - dt.timedelta(seconds=1)) for _ in range(24)]
    first, second = run_together(
        lambda: dispatch_due_imports(now=now, batch_size=5), lambda: dispatch_due_imports(now=now, batch_size=5)
    )
    assert first.claimed + second.claimed == 24
    assert first.completed + second.completed == 24
    for job in jobs:
        assert Subscription.objects.filter(order__import_row__job=job).count() == 1
    assert set(ImportJob.objects.values_list("status", flat=True)) == {ImportJob.Status.COMPLETED}
