"""Schedule again a failed scheduled provisioning: the order's review reopens with the same
configuration, a fresh pre-check and an empty schedule field; scheduling it creates a new job
linked both ways to the failed one, which stays as history."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import AuditLogEntry, Company
from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob, ImportRetryDraft
from imports.jobs.services import JOB_NOT_RETRYABLE
from orders.models import Order

from .helpers import UTC, schedule

T0 = dt.datetime(2024, 7, 22, 14, 0, tzinfo=UTC)
DUE = dt.datetime(2024, 7, 23, 10, 0, tzinfo=UTC)
Status = ImportJob.Status


def retry_url(job):
    return reverse("imports:retry", args=[job.pk])


@pytest.fixture
def failed(demo):
    """A job that failed because ERITECH was suspended at its due time (the cause is then fixed)."""
    with freeze_time(T0):
        job = schedule(demo, due_at=DUE, quantity=3, name="Kiosk for the shop")
    # As the wizard leaves it: the helper's order has no billing start date, which Configuration requires.
    Order.objects.filter(import_row__job=job).update(billing_start_date=T0)
    Company.objects.filter(pk=demo.eritech.pk).update(status=Company.Status.SUSPENDED)
    with freeze_time(DUE):
        dispatch_due_imports(now=DUE)
    job.refresh_from_db()
    assert job.status == Status.FAILED
    Company.objects.filter(pk=demo.eritech.pk).update(status=Company.Status.ACTIVE)
    return job


def test_schedule_again_opens_the_review_of_a_copy_and_links_the_new_job(abbie_client, demo, failed):
    html = abbie_client.get("/imports/").content.decode()
    assert f'action="{retry_url(failed)}"' in html and ">Schedule again</button>" in html

    response = abbie_client.post(retry_url(failed), {"back": "status=failed"})
    draft = Order.objects.get(status=Order.Status.DRAFT)
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:review", kwargs={"order_uuid": draft.uuid})
    old = failed.rows.get().order
    assert (draft.service, draft.company, draft.quantity, draft.subscription_name, draft.term, draft.vendor_config) == (
        old.service, old.company, 3, "Kiosk for the shop", old.term, old.vendor_config)
    assert draft.scheduled_for is None and draft.created_by == demo.admin_abbie
    assert AuditLogEntry.objects.filter(action="import.retry_opened").exists()

    review = abbie_client.get(response["Location"], follow=True)
    assert review.redirect_chain == [], re.findall(r'class="message[^"]*"[^>]*>([^<]*)', review.content.decode())
    review = review.content.decode()
    assert "All checks that run at the scheduled time pass today." in review  # fresh pre-check
    field = re.search(r'<input[^>]*name="scheduled_for"[^>]*>', review).group(0)
    assert "value=" not in field  # the schedule field is empty

    # Clicking again reopens the same draft.
    assert abbie_client.post(retry_url(failed))["Location"] == response["Location"]
    assert Order.objects.filter(status=Order.Status.DRAFT).count() == 1

    due = (dt.datetime.now(UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    schedule_url = reverse("imports:schedule_provisioning", kwargs={"order_uuid": draft.uuid})
    assert abbie_client.post(schedule_url, {"scheduled_for": due}).status_code == 302
    new = ImportJob.objects.get(rows__order=draft)
    assert new.status == Status.PENDING and new.retry_of == failed
    assert list(failed.retries.all()) == [new]
    assert not ImportRetryDraft.objects.exists()
    failed.refresh_from_db()
    assert failed.status == Status.FAILED  # history

    html = abbie_client.get("/imports/").content.decode()
    assert f'Scheduled again as <a href="/imports/?job={new.pk}">import #{new.pk}</a> (Pending).' in html
    assert f'Scheduled again from the failed <a href="/imports/?job={failed.pk}">import #{failed.pk}</a>.' in html


def test_a_job_that_did_not_fail_cannot_be_scheduled_again(abbie_client, demo):
    job = schedule(demo, due_at=dt.datetime.now(UTC) + dt.timedelta(days=3))
    html = abbie_client.get("/imports/").content.decode()
    assert retry_url(job) not in html
    response = abbie_client.post(retry_url(job), follow=True)
    assert str(JOB_NOT_RETRYABLE % {"status": "Pending"}) in response.content.decode()
    assert not Order.objects.filter(status=Order.Status.DRAFT).exists()


def test_a_failed_bulk_import_is_not_scheduled_again(abbie_client, demo):
    job = ImportJob.objects.create(source=ImportJob.Source.IMPORT, due_at=T0, created_by=demo.admin_abbie,
                                   company=demo.eritech, status=Status.FAILED)
    response = abbie_client.post(retry_url(job), follow=True)
    assert str(JOB_NOT_RETRYABLE % {"status": "Failed"}) in response.content.decode()


def test_another_resellers_job_is_404_get_is_405_and_csrf_is_needed(client, demo, failed):
    client.force_login(demo.admin_andes)
    assert client.post(retry_url(failed)).status_code == 404
    client.force_login(demo.admin_abbie)
    assert client.get(retry_url(failed)).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(demo.admin_abbie)
    assert strict.post(retry_url(failed)).status_code == 403
    assert not Order.objects.filter(status=Order.Status.DRAFT).exists()
