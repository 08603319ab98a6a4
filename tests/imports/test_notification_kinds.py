"""The scheduled notice, the reminder and the completion email: in the recipient's language, text
and HTML, after commit, once, and the optional ones can be turned off."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone
from freezegun import freeze_time

from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob, Notification
from imports.notify.reminders import reminders_queue_due
from imports.jobs.services import provisioning_schedule
from orders.models import Order

from .helpers import BASIC, UTC, make_order, schedule

NOW = dt.datetime(2024, 7, 20, 12, 0, tzinfo=UTC)


def _draft(demo, **fields) -> Order:
    """A complete draft (what the wizard leaves before Schedule provisioning)."""
    order = make_order(demo, **fields)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.DRAFT, submitted_at=None, billing_start_date=timezone.now())
    order.refresh_from_db()
    return order


def _schedule_through_the_wizard(demo, due_at, **fields) -> ImportJob:
    order = _draft(demo, **fields)
    provisioning_schedule(order_id=order.pk, user=demo.admin_abbie, due_at=due_at)
    return ImportJob.objects.get(rows__order=order)


@override_settings(SITE_URL="https://portal.example.com")
@freeze_time(NOW)
def test_scheduling_sends_your_provisioning_is_scheduled_after_commit(demo, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = _schedule_through_the_wizard(demo, NOW + dt.timedelta(days=2))
    assert mailoutbox == []  # not before the commit
    for callback in callbacks:
        callback()
    (email,) = mailoutbox
    assert email.subject == "Your provisioning is scheduled"
    assert email.to == ["admin@abbiebox.com"]
    assert "Your provisioning is scheduled for 2024-07-22 12:00 UTC." in email.body
    assert "- Product: (NCE) Exchange Online Kiosk" in email.body  # the product's name (issue 24)
    assert "- Company: ERITECH PERU S.A. (466158)" in email.body
    assert f"https://portal.example.com/imports/?job={job.pk}" in email.body
    html = email.alternatives[0][0]
    assert f'<a href="https://portal.example.com/imports/?job={job.pk}">here</a>' in html
    # Once: a later pass finds it sent.
    dispatch_due_imports(now=NOW)
    assert len(mailoutbox) == 1


@freeze_time(NOW)
def test_the_scheduled_notice_is_in_spanish_for_a_spanish_user(demo, django_capture_on_commit_callbacks, mailoutbox):
    demo.admin_abbie.email_language = "es"
    demo.admin_abbie.save()
    with django_capture_on_commit_callbacks(execute=True):
        _schedule_through_the_wizard(demo, NOW + dt.timedelta(days=2))
    (email,) = mailoutbox
    html = email.alternatives[0][0]
    assert '<html lang="es">' in html
    # The subject is translated when the lead's catalogue has it; the company's language is English.
    assert email.subject in ("Your provisioning is scheduled", "Su aprovisionamiento está programado")


@freeze_time(NOW)
def test_the_language_falls_back_to_the_users_company(demo):
    from accounts.languages import user_language

    assert user_language(demo.admin_abbie) == "en"
    demo.abbiebox.language = "Spanish"
    demo.abbiebox.save()
    demo.admin_abbie.refresh_from_db()
    assert user_language(demo.admin_abbie) == "es"
    demo.admin_abbie.email_language = "en"
    assert user_language(demo.admin_abbie) == "en"


@freeze_time(NOW)
def test_the_scheduled_notice_can_be_turned_off(demo, django_capture_on_commit_callbacks, mailoutbox):
    demo.admin_abbie.notify_scheduled = False
    demo.admin_abbie.save()
    with django_capture_on_commit_callbacks(execute=True):
        _schedule_through_the_wizard(demo, NOW + dt.timedelta(days=2))
    assert mailoutbox == []
    assert not Notification.objects.exists()


@override_settings(SITE_URL="https://portal.example.com")
def test_the_completion_subject_tells_failure_from_success(demo, django_capture_on_commit_callbacks, mailoutbox):
    due = NOW + dt.timedelta(minutes=5)
    with freeze_time(NOW):
        ok = schedule(demo, due_at=due)
        failed = schedule(demo, due_at=due, code=BASIC, vendor_config={"microsoft_tenant_id": "nope"})
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=due)
    emails = {email.subject: email for email in mailoutbox}
    assert set(emails) == {"Your import is completed", "Your import completed with errors"}
    bad = emails["Your import completed with errors"]
    assert bad.body.startswith("YOUR IMPORT COMPLETED WITH ERRORS")
    assert "Microsoft Tenant Id must be a GUID" in bad.body
    assert f"https://portal.example.com/imports/?job={failed.pk}" in bad.body
    assert f"https://portal.example.com/imports/?job={ok.pk}" in emails["Your import is completed"].body


def _reminder_job(demo, *, hours_ahead: float, created_before: dt.timedelta, **fields) -> ImportJob:
    with freeze_time(NOW - created_before):
        return schedule(demo, due_at=NOW + dt.timedelta(hours=hours_ahead), **fields)


def test_the_reminder_is_written_when_its_time_comes_and_only_once(demo, mailoutbox):
    job = _reminder_job(demo, hours_ahead=23, created_before=dt.timedelta(days=3))
    too_early = _reminder_job(demo, hours_ahead=30, created_before=dt.timedelta(days=3))
    just_scheduled = _reminder_job(demo, hours_ahead=23, created_before=dt.timedelta(minutes=5))
    assert reminders_queue_due(now=NOW) == 1
    assert reminders_queue_due(now=NOW) == 0
    assert list(Notification.objects.values_list("job_id", "kind")) == [(job.pk, Notification.Kind.IMPORT_REMINDER)]
    assert not too_early.notifications.exists() and not just_scheduled.notifications.exists()
    dispatch_due_imports(now=NOW)
    (email,) = mailoutbox
    assert email.subject == "Reminder: your provisioning is scheduled for 2024-07-21 11:00 UTC"
    assert "We checked it again: it would succeed today." in email.body


def test_the_reminder_says_why_the_order_would_fail_today(demo, mailoutbox):
    _reminder_job(demo, hours_ahead=20, created_before=dt.timedelta(days=2), code=BASIC)  # terms not accepted
    dispatch_due_imports(now=NOW)
    (email,) = mailoutbox
    assert email.subject == "Action needed: your scheduled provisioning would fail today"
    assert "We checked it again: this order would fail today because:" in email.body
    assert "- The terms and conditions of (NCE) Microsoft 365 Business Basic have not been accepted" in email.body
    assert "this order would fail today because:" in email.alternatives[0][0]


@pytest.mark.parametrize("hours, expected", [(0, 0), (1, 0), (72, 1)])
def test_the_reminder_follows_the_users_setting(demo, hours, expected):
    demo.admin_abbie.reminder_hours = hours
    demo.admin_abbie.save()
    _reminder_job(demo, hours_ahead=30, created_before=dt.timedelta(days=5))
    assert reminders_queue_due(now=NOW) == expected


def test_a_reminder_of_a_job_cancelled_meanwhile_says_nothing(demo, mailoutbox):
    job = _reminder_job(demo, hours_ahead=20, created_before=dt.timedelta(days=2))
    reminders_queue_due(now=NOW)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CANCELLED)
    dispatch_due_imports(now=NOW)
    assert mailoutbox == []
    assert job.notifications.get().status == Notification.Status.SENT


def test_the_completion_email_is_mandatory(demo, django_capture_on_commit_callbacks, mailoutbox):
    demo.admin_abbie.notify_scheduled = False
    demo.admin_abbie.reminder_hours = 0
    demo.admin_abbie.save()
    due = timezone.now()
    schedule(demo, due_at=due)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=due)
    (email,) = mailoutbox
    assert email.subject == "Your import is completed"


def test_the_completion_email_is_in_spanish_for_a_spanish_user(demo, django_capture_on_commit_callbacks, mailoutbox):
    demo.admin_abbie.email_language = "es"
    demo.admin_abbie.save()
    due = timezone.now()
    schedule(demo, due_at=due)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=due)
    (email,) = mailoutbox
    assert email.subject == "Su importación se completó"
    assert "Estimado usuario Carla Mendoza:" in email.body
    # The context's own text (the row's import type) is in Spanish too, not only the template's.
    assert "Tipo de importación: Producto 100113_ExchanOnlineKiosk_61893" in email.body
    assert '<html lang="es">' in email.alternatives[0][0]
