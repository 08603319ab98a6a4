import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from freezegun import freeze_time

from accounts.models import AuditLogEntry
from imports.models import ImportJob
from imports.engine.dispatch import dispatch_due_imports
from imports.engine.dispatch import imports_claim_due
from imports.jobs.services import import_cancel

from .helpers import UTC, schedule

T0 = dt.datetime(2024, 7, 22, 14, 15, 43, tzinfo=UTC)
DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)


@freeze_time(T0)
def test_cancelling_a_pending_job_wins_and_is_audited(demo):
    job = schedule(demo, due_at=DUE)
    assert import_cancel(job_id=job.pk, user=demo.admin_abbie) is True
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert job.finished_at == T0
    entry = AuditLogEntry.objects.get(action="import.cancelled")
    assert (entry.company, entry.actor) == (demo.eritech, demo.admin_abbie)
    # A cancelled job is never run, even long after its due time.
    assert dispatch_due_imports(now=DUE + dt.timedelta(days=1)).claimed == 0
    assert not job.rows.get().order.subscriptions.exists()


@freeze_time(T0)
def test_the_second_cancel_loses(demo):
    job = schedule(demo, due_at=DUE)
    assert import_cancel(job_id=job.pk, user=demo.admin_abbie) is True
    assert import_cancel(job_id=job.pk, user=demo.staff) is False
    assert AuditLogEntry.objects.filter(action="import.cancelled").count() == 1


@freeze_time(T0)
def test_a_cancel_after_the_claim_loses_and_the_job_still_completes(demo):
    job = schedule(demo, due_at=T0)
    assert imports_claim_due(now=T0, limit=10) == [job.pk]
    assert import_cancel(job_id=job.pk, user=demo.admin_abbie) is False
    job.refresh_from_db()
    assert job.status == ImportJob.Status.IN_PROGRESS
    assert not AuditLogEntry.objects.filter(action="import.cancelled").exists()


@freeze_time(T0)
def test_a_claim_after_the_cancel_gets_nothing(demo):
    job = schedule(demo, due_at=T0)
    assert import_cancel(job_id=job.pk, user=demo.admin_abbie) is True
    assert imports_claim_due(now=T0, limit=10) == []


@freeze_time(T0)
def test_a_user_outside_the_subtree_cannot_cancel(demo):
    job = schedule(demo, due_at=DUE)
    with pytest.raises(PermissionDenied):
        import_cancel(job_id=job.pk, user=demo.admin_andes)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING
