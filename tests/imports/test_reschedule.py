"""Reschedule a pending job: the wizard's time rules and pre-check, a conditional update that loses
cleanly to a worker that has just claimed the job, audited with the old and new time."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import AuditLogEntry, Company
from core.stored_messages import rendered
from imports.jobs import services
from imports.jobs import states
from imports.models import ImportJob
from imports.jobs.services import (
    JOB_NOT_RESCHEDULABLE,
    RESCHEDULE_TOO_LATE,
    JobNotReschedulable,
    import_reschedule,
)
from orders.validation import (
    PARENT_ACCOUNT_INACTIVE,
    SCHEDULE_IN_PAST,
    SCHEDULE_TOO_FAR,
)

from imports.my_imports.forms import RESCHEDULE_INVALID

from .helpers import UTC, schedule

NOW = dt.datetime(2024, 7, 22, 14, 0, tzinfo=UTC)
DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)
NEW = dt.datetime(2024, 7, 23, 9, 30, tzinfo=UTC)
Status = ImportJob.Status


def url(job):
    return reverse("imports:reschedule", args=[job.pk])


@pytest.fixture
def job(demo):
    with freeze_time(NOW - dt.timedelta(days=1)):
        return schedule(demo, due_at=DUE)


def test_rescheduling_moves_the_job_and_its_order_and_is_audited(demo, job):
    result = import_reschedule(job_id=job.pk, user=demo.admin_abbie, due_at=NEW, now=NOW)
    job.refresh_from_db()
    assert job.due_at == NEW and job.status == Status.PENDING
    assert job.rows.get().order.scheduled_for == NEW
    assert result.old_due_at == DUE and result.warnings == []
    entry = AuditLogEntry.objects.get(action="import.rescheduled")
    assert entry.company == demo.eritech and entry.actor == demo.admin_abbie
    assert "from 2024-07-31 10:00 to 2024-07-23 09:30 (UTC)" in rendered(entry.message)


@pytest.mark.parametrize("due_at,reason", [
    (NOW - dt.timedelta(minutes=1), SCHEDULE_IN_PAST),
    (NOW + dt.timedelta(days=366), SCHEDULE_TOO_FAR),
])
def test_the_wizards_time_rules_apply(demo, job, due_at, reason):
    with pytest.raises(ValidationError) as error:
        import_reschedule(job_id=job.pk, user=demo.admin_abbie, due_at=due_at, now=NOW)
    assert error.value.messages == [str(reason)]
    job.refresh_from_db()
    assert job.due_at == DUE


def test_a_worker_that_claimed_the_job_first_wins(demo, job, monkeypatch):
    """The claim lands between the service's read (Pending) and its conditional update."""
    real = states.update_while

    def claim_first(job_id, expected, **fields):
        assert states.transition(job_id, Status.PENDING, Status.IN_PROGRESS, claimed_at=NOW,
                                 lease_expires_at=NOW + dt.timedelta(minutes=6))
        return real(job_id, expected, **fields)

    monkeypatch.setattr(services.states, "update_while", claim_first)
    with pytest.raises(JobNotReschedulable) as error:
        import_reschedule(job_id=job.pk, user=demo.admin_abbie, due_at=NEW, now=NOW)
    assert error.value.message == str(RESCHEDULE_TOO_LATE) == "Too late: the import has already started."
    # (Here the claim ran inside the reschedule's transaction, so it rolls back with it; a worker's
    # claim commits on its own. Either way the reschedule changed nothing.)
    job.refresh_from_db()
    assert job.due_at == DUE
    assert job.rows.get().order.scheduled_for == DUE
    assert not AuditLogEntry.objects.filter(action="import.rescheduled").exists()


def test_update_while_refuses_to_move_the_status(job):
    with pytest.raises(states.IllegalTransition, match="changes fields, not the status; use transition"):
        states.update_while(job.pk, Status.PENDING, status=Status.CANCELLED)


def test_update_while_changes_only_the_named_job_and_only_in_the_expected_status(demo, job):
    with freeze_time(NOW - dt.timedelta(days=1)):
        other = schedule(demo, due_at=DUE)
    later = DUE + dt.timedelta(hours=1)
    assert states.update_while(job.pk, Status.PENDING, due_at=later) is True
    assert ImportJob.objects.get(pk=other.pk).due_at == DUE  # the other Pending job is untouched
    assert states.update_while(job.pk, Status.IN_PROGRESS, due_at=DUE) is False  # not in that status: nothing
    assert ImportJob.objects.get(pk=job.pk).due_at == later


@freeze_time(NOW)
def test_the_page_without_javascript_then_the_post(abbie_client, job):
    response = abbie_client.get(url(job), {"page": "2", "status": "pending"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="2024-07-31 10:00"' in html  # the current time filled in
    assert "All checks that run at the scheduled time pass today." in html
    assert 'name="back" value="page=2&amp;status=pending"' in html
    assert "hx-post" not in html  # the page's form posts normally
    response = abbie_client.post(url(job), {"due_at": "2024-07-23 09:30", "back": "page=2&status=pending"}, follow=True)
    assert response.redirect_chain == [("/imports/?page=2&status=pending", 302)]
    html = response.content.decode()
    assert "was rescheduled from 2024-07-31 10:00 to 2024-07-23 09:30 (UTC)." in html
    assert '<time datetime="2024-07-23T09:30:00+00:00">2024-07-23 09:30 UTC</time>' in html
    job.refresh_from_db()
    assert job.due_at == NEW


@freeze_time(NOW)
@pytest.mark.parametrize("value,message", [
    ("2024-07-22 13:59", SCHEDULE_IN_PAST),
    ("2025-07-23 14:01", SCHEDULE_TOO_FAR),
    ("23/07/2024 09:30", RESCHEDULE_INVALID),
    ("", RESCHEDULE_INVALID),
    ("2024-02-30 10:00", RESCHEDULE_INVALID),
])
def test_a_bad_time_shows_the_reason_in_the_form(abbie_client, job, value, message):
    for headers in ({}, {"HX-Request": "true"}):
        response = abbie_client.post(url(job), {"due_at": value}, headers=headers)
        assert response.status_code == 200
        assert str(message) in response.content.decode()
    job.refresh_from_db()
    assert job.due_at == DUE


@freeze_time(NOW)
def test_in_the_dialog_htmx_gets_the_form_and_a_redirect(abbie_client, job):
    response = abbie_client.get(url(job), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and 'hx-post="' in html and "data-close-dialog" in html
    response = abbie_client.post(url(job), {"due_at": "2024-07-23 09:30"}, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/imports/")


@freeze_time(NOW)
def test_the_pre_check_is_the_wizards(abbie_client, demo, job):
    Company.objects.filter(pk=demo.eritech.pk).update(status=Company.Status.SUSPENDED)
    html = abbie_client.get(url(job)).content.decode()
    reason = str(PARENT_ACCOUNT_INACTIVE % {"company": "ERITECH PERU S.A.", "status": "Suspended"})
    assert reason in html and "If provisioning ran today, these checks would fail." in html
    html = abbie_client.post(url(job), {"due_at": "2024-07-23 09:30"}, follow=True).content.decode()
    assert "was rescheduled" in html and reason in html  # a warning, as on the review: not a refusal


@freeze_time(NOW)
@pytest.mark.parametrize("status,message", [
    (Status.IN_PROGRESS, RESCHEDULE_TOO_LATE),
    (Status.COMPLETED, RESCHEDULE_TOO_LATE),
    (Status.FAILED, RESCHEDULE_TOO_LATE),
    (Status.CANCELLED, JOB_NOT_RESCHEDULABLE % {"status": "Cancelled"}),
])
def test_a_job_no_longer_pending_is_not_moved(abbie_client, job, status, message):
    lease = NOW if status == Status.IN_PROGRESS else None  # a lease only while In progress (a constraint)
    ImportJob.objects.filter(pk=job.pk).update(status=status, lease_expires_at=lease)
    for method in (abbie_client.get, lambda u: abbie_client.post(u, {"due_at": "2024-07-23 09:30"})):
        response = method(url(job))
        assert response.status_code == 302
    html = abbie_client.post(url(job), {"due_at": "2024-07-23 09:30"}, follow=True).content.decode()
    assert str(message) in html
    job.refresh_from_db()
    assert job.due_at == DUE and job.status == status
    assert f'href="{url(job)}' not in html  # no Reschedule offered


def test_another_resellers_job_is_404_and_post_needs_csrf(client, demo, job):
    client.force_login(demo.admin_andes)
    assert client.get(url(job)).status_code == 404
    assert client.post(url(job), {"due_at": "2030-01-01 10:00"}).status_code == 404
    assert client.get("/imports/999999/reschedule/").status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(demo.admin_abbie)
    assert strict.post(url(job), {"due_at": "2030-01-01 10:00"}).status_code == 403
    job.refresh_from_db()
    assert job.due_at == DUE


def test_the_list_offers_reschedule_on_pending_jobs_only(abbie_client, demo, job):
    html = abbie_client.get("/imports/").content.decode()
    assert f'href="{url(job)}?page=1"' in html
    assert 'aria-label="Reschedule the import (NCE) Exchange Online Kiosk(Microsoft)"' in html


@freeze_time(NOW)
def test_the_new_time_is_typed_in_a_zone_and_stored_in_utc(abbie_client, job, demo):
    html = abbie_client.get(url(job)).content.decode()
    assert 'name="due_at_tz"' in html and "Stored as 2024-07-31 10:00 UTC" in html
    response = abbie_client.post(url(job), {"due_at": "2024-07-23 04:30", "due_at_tz": "America/Lima"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.due_at == NEW
    demo.admin_abbie.refresh_from_db()
    assert demo.admin_abbie.time_zone == "America/Lima"
    # The dialog opens in the remembered zone next time, the current time shown in it.
    html = abbie_client.get(url(job), headers={"HX-Request": "true"}).content.decode()
    assert 'value="2024-07-23 04:30"' in html and "<option selected>America/Lima</option>" in html


@freeze_time(NOW)
@pytest.mark.parametrize("data,code", [
    ({"due_at": "2024-11-03 01:30", "due_at_tz": "America/New_York"}, "ambiguous"),
    ({"due_at": "2025-03-09 02:30", "due_at_tz": "America/New_York"}, "nonexistent"),
    ({"due_at": "2024-07-23 09:30", "due_at_tz": "Atlantis/Capital"}, "invalid_zone"),
])
def test_a_time_the_zone_cannot_place_is_a_message_in_the_dialog(abbie_client, job, data, code):
    response = abbie_client.post(url(job), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.context["form"].has_error("due_at", code)
    assert 'class="fielderror"' in response.content.decode()
    job.refresh_from_db()
    assert job.due_at == DUE
