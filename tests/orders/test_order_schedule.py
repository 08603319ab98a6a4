"""imports.jobs.services.provisioning_schedule (orders.services.order_submit, then the job): one job per order
whatever happens, every step re-validated, all in one transaction."""

import datetime as dt
import threading

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import AuditLogEntry
from catalog.models import Service, TermsAndConditions
from core.stored_messages import rendered
from imports.models import ImportJob, ImportRow
from orders.models import Order
from imports.jobs import services as import_services
from imports.jobs.services import provisioning_schedule as order_schedule
from orders.services import (
    CONFIGURATION_INVALID,
    SERVICE_NOT_AVAILABLE,
    TERMS_NOT_ACCEPTED_YET,
    WizardStepError,
    order_create,
    order_submit,
)
from orders.validation import SCHEDULE_IN_PAST
from tests.factories import UserFactory

from .conftest import MANUAL_NOW, schedule_url, step_url

UTC = dt.timezone.utc
DUE = dt.datetime(2024, 8, 1, 10, 0, tzinfo=UTC)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_scheduling_marks_the_order_submitted_creates_one_job_and_audits(configured_draft, demo):
    order = configured_draft()
    result = order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=DUE)
    assert result.created
    order.refresh_from_db()
    assert order.status == Order.Status.SUBMITTED
    assert order.scheduled_for == DUE
    assert order.submitted_at == dt.datetime(2024, 7, 18, 22, 1, 30, tzinfo=UTC)
    job = ImportJob.objects.get()
    assert (job.status, job.due_at, job.company, job.created_by) == (ImportJob.Status.PENDING, DUE, demo.eritech, demo.admin_abbie)
    assert ImportRow.objects.get().order == order
    entry = AuditLogEntry.objects.get(action="order.scheduled")
    assert entry.company == demo.eritech and entry.actor == demo.admin_abbie
    assert "2024-08-01 10:00 (UTC)" in rendered(entry.message) and str(order.uuid) in rendered(entry.message)


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_calling_order_schedule_twice_makes_one_job(configured_draft, demo):
    order = configured_draft()
    first = order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=DUE)
    second = order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=DUE + dt.timedelta(days=1))
    assert first.created and not second.created
    assert second.order.scheduled_for == DUE  # the first scheduling stands
    assert ImportJob.objects.count() == 1
    assert AuditLogEntry.objects.filter(action="order.scheduled").count() == 1


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_double_submit_makes_one_job_and_lands_on_my_imports_with_a_message(abbie_client, configured_draft):
    order = configured_draft()
    first = abbie_client.post(schedule_url(order), {"scheduled_for": "2024-08-01 10:00"})
    second = abbie_client.post(schedule_url(order), {"scheduled_for": "2024-08-01 10:00"})
    assert first["Location"] == second["Location"] == reverse("imports:my_imports")
    assert ImportJob.objects.count() == 1
    # The first message was not shown yet (nobody opened My imports in between), so both are queued.
    assert messages_of(second)[-1:] == [
        "This order was already scheduled: provisioning of (NCE) Microsoft 365 Business Basic for 2024-08-01 10:00 UTC."
    ]


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_second_tab_with_another_time_does_not_reschedule(abbie_client, client, configured_draft, demo):
    order = configured_draft()
    client.force_login(demo.admin_abbie)  # the second tab: another session of the same user
    assert abbie_client.get(step_url(order, "review")).status_code == 200
    assert client.get(step_url(order, "review")).status_code == 200
    abbie_client.post(schedule_url(order), {"scheduled_for": "2024-08-01 10:00"})
    response = client.post(schedule_url(order), {"scheduled_for": "2024-09-01 10:00"})
    assert response["Location"] == reverse("imports:my_imports")
    assert list(ImportJob.objects.values_list("due_at", flat=True)) == [DUE]


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_schedule_revalidates_terms(configured_draft, demo, basic):
    order = configured_draft()
    # A new version of the terms: the acceptance of version 1 no longer counts.
    basic.terms = TermsAndConditions.objects.create(title=basic.terms.title, version=2, text="New terms.")
    basic.save()
    with pytest.raises(WizardStepError) as error:
        order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=DUE)
    assert error.value.step == "terms"
    assert error.value.messages == [str(TERMS_NOT_ACCEPTED_YET)]
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_schedule_revalidates_the_service(configured_draft, demo, basic):
    order = configured_draft()
    Service.objects.filter(pk=basic.pk).update(active=False)
    with pytest.raises(WizardStepError) as error:
        order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=DUE)
    assert error.value.step == "select"
    assert error.value.messages == [
        str(SERVICE_NOT_AVAILABLE % {"service": basic.name, "company": "ERITECH PERU S.A."})
    ]
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_schedule_revalidates_the_saved_configuration(configured_draft, demo):
    order = configured_draft()
    # Saved data that the form would refuse (written behind the wizard's back).
    Order.objects.filter(pk=order.pk).update(vendor_config={"microsoft_tenant_id": "not-a-guid"})
    with pytest.raises(WizardStepError) as error:
        order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=DUE)
    assert (error.value.step, error.value.messages) == ("configure", [str(CONFIGURATION_INVALID)])
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_schedule_refuses_an_unconfigured_draft(abbie_client, new_draft, basic, demo):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    with pytest.raises(WizardStepError) as error:
        order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=DUE)
    assert error.value.step == "terms"
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_schedule_refuses_a_time_in_the_past(configured_draft, demo):
    order = configured_draft()
    with pytest.raises(ValidationError) as error:
        order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=dt.datetime(2024, 7, 1, tzinfo=UTC))
    assert error.value.message_dict == {"scheduled_for": [str(SCHEDULE_IN_PAST)]}
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_only_the_creator_can_schedule(configured_draft, demo):
    order = configured_draft()
    for user in (demo.admin_andes, UserFactory(company=demo.abbiebox), demo.staff):
        with pytest.raises(Order.DoesNotExist):
            order_schedule(order_id=order.pk, user=user, due_at=DUE)
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
@freeze_time(MANUAL_NOW)
def test_a_failing_job_creation_rolls_everything_back(configured_draft, demo, monkeypatch):
    order = configured_draft()

    def refuse(**kwargs):
        raise RuntimeError("imports is down")

    monkeypatch.setattr(import_services, "import_job_create_for_order", refuse)
    with pytest.raises(RuntimeError):
        order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=DUE)
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT and order.submitted_at is None
    assert not ImportJob.objects.exists()
    assert not AuditLogEntry.objects.filter(action="order.scheduled").exists()
    # ...and the user can try again once imports works again.
    monkeypatch.undo()
    assert order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=DUE).created


@pytest.mark.django_db(transaction=True)
@freeze_time(MANUAL_NOW)
def test_order_submit_refuses_to_run_outside_the_transaction_that_creates_the_job(configured_draft, demo):
    order = configured_draft()
    with pytest.raises(RuntimeError):
        order_submit(order_id=order.pk, user=demo.admin_abbie, due_at=DUE)
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT


@pytest.mark.django_db
def test_order_create_refuses_a_company_outside_the_subtree(demo):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        order_create(company=demo.cusco, user=demo.admin_abbie)
    assert not Order.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_schedules_make_one_job_on_postgresql(configured_draft, demo):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks); run with DATABASE_URL=postgres://...")
    order = configured_draft()
    due = dt.datetime.now(UTC) + dt.timedelta(hours=1)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def schedule():
        try:
            barrier.wait()
            results.append(order_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=due).created)
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=schedule) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [False, False, False, True]
    assert ImportJob.objects.count() == 1
