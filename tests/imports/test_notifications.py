import datetime as dt

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.test import override_settings
from freezegun import freeze_time

from imports.models import ImportJob, Notification
from imports.notify.send import emails_send
from imports.engine.dispatch import dispatch_due_imports

from .helpers import BASIC, UTC, accept_terms, schedule

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)

EXPECTED_COMPLETED_TEXT = """YOUR IMPORT IS COMPLETED

Dear user Carla Mendoza,

Your import is completed. You can now review it here.
https://portal.example.com/imports/?job={job_id}

Check out the detail below:

- Company: ERITECH PERU S.A. (466158)
- Product: (NCE) Microsoft 365 Business Basic
- Created By: admin@abbiebox.com
- Date created: 2024-07-22 15:24 UTC
- Import Type: Product 100113_Micros365BusineBasic_14991
- Completed accounts: 1
- Failed accounts: 0

Note: Some email notifications are mandatory.
"""


@pytest.fixture
def basic_job(demo):
    accept_terms(demo, BASIC)
    with freeze_time("2024-07-22 15:24:28"):
        return schedule(demo, due_at=DUE, code=BASIC)


@override_settings(SITE_URL="https://portal.example.com", DEFAULT_FROM_EMAIL="noreply@marketplacepe.intcomexcloud.com")
def test_the_completed_email_has_the_manuals_content(basic_job, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=DUE)
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.subject == "Your import is completed"
    assert email.from_email == "noreply@marketplacepe.intcomexcloud.com"
    assert email.to == ["admin@abbiebox.com"]
    assert email.body == EXPECTED_COMPLETED_TEXT.format(job_id=basic_job.pk)
    (html, mimetype), = email.alternatives
    assert mimetype == "text/html"
    link = f"https://portal.example.com/imports/?job={basic_job.pk}"
    assert f'Your import is completed. You can now review it <a href="{link}">here</a>.' in html
    for label, value in [
        ("Company:", "ERITECH PERU S.A. (466158)"),
        ("Product:", "(NCE) Microsoft 365 Business Basic"),
        ("Created By:", "admin@abbiebox.com"),
        ("Date created:", "2024-07-22 15:24 UTC"),
        ("Import Type:", "Product 100113_Micros365BusineBasic_14991"),
        ("Completed accounts:", "1"),
        ("Failed accounts:", "0"),
    ]:
        assert f"<strong>{label}</strong> {value}</li>" in html
    assert "Note: Some email notifications are mandatory." in html


@override_settings(SITE_URL="https://portal.example.com")
def test_a_failed_job_sends_the_notice_with_errors_its_count_and_reasons(demo, django_capture_on_commit_callbacks, mailoutbox):
    with freeze_time("2024-07-22 15:24:28"):
        schedule(demo, due_at=DUE, code=BASIC, vendor_config={"microsoft_tenant_id": "nope", "mpn_id": "x"})
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=DUE)
    (email,) = mailoutbox
    assert email.subject == "Your import completed with errors"
    assert "- Completed accounts: 0\n- Failed accounts: 1\n" in email.body
    reasons = email.body.split("Reasons:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert reasons == [
        "- The terms and conditions of (NCE) Microsoft 365 Business Basic have not been accepted for the price list "
        "ABBIE BOX - Price list.",
        "- Microsoft Tenant Id must be a GUID, e.g. e0d72b05-fb92-4d65-9424-7b58ea99d5d3.",
        "- MPN ID (Reseller) must contain digits only (at most 10).",
    ]
    html = email.alternatives[0][0]
    assert "<li>MPN ID (Reseller) must contain digits only (at most 10).</li>" in html


def test_notify_me_adds_the_company_contact_once(demo, django_capture_on_commit_callbacks, mailoutbox):
    demo.eritech.email = "Admin@AbbieBox.com"  # same person as the creator: one address, not two
    demo.eritech.save()
    schedule(demo, due_at=DUE, notify_me=True)
    demo.norte.email = "ti@nortedigital.example"
    schedule(demo, due_at=DUE, company=demo.norte, code="100113_AzurePlan_10002", term="P1M", notify_me=True,
             vendor_config={})
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=DUE)
    assert sorted(tuple(m.to) for m in mailoutbox) == [("admin@abbiebox.com",), ("admin@abbiebox.com", "ti@nortedigital.example")]


def test_the_email_is_sent_once_per_job_whoever_tries(basic_job, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=DUE)
    assert len(mailoutbox) == 1
    notification = basic_job.notifications.get()
    assert notification.status == Notification.Status.SENT
    assert notification.sent_at is not None
    # A later pass (which re-sends what a killed worker never sent) and a direct call find it sent.
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=DUE + dt.timedelta(minutes=1))
    assert emails_send(job_ids=[basic_job.pk]) == 0
    assert emails_send(job_ids=[basic_job.pk, basic_job.pk]) == 0
    assert len(mailoutbox) == 1


def test_the_email_waits_for_the_commit(basic_job, django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        dispatch_due_imports(now=DUE)
    assert mailoutbox == []  # the run's transaction has not committed yet
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mailoutbox) == 1


def test_an_email_a_killed_worker_never_sent_goes_out_with_the_next_pass(basic_job, mailoutbox):
    dispatch_due_imports(now=DUE)  # committed, but its on_commit callback never ran (worker killed)
    assert mailoutbox == []
    summary = dispatch_due_imports(now=DUE + dt.timedelta(minutes=1))
    assert summary.notified == 1
    assert len(mailoutbox) == 1


def test_pending_and_cancelled_jobs_get_no_email(demo, mailoutbox):
    pending = schedule(demo, due_at=DUE)
    assert emails_send(job_ids=[pending.pk]) == 0
    ImportJob.objects.filter(pk=pending.pk).update(status=ImportJob.Status.CANCELLED)
    assert emails_send(job_ids=[pending.pk]) == 0
    assert mailoutbox == []


class BrokenBackend(LocmemBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


def test_a_mail_server_failure_keeps_the_email_in_the_outbox_so_a_later_pass_retries(basic_job, mailoutbox):
    dispatch_due_imports(now=DUE)
    with override_settings(EMAIL_BACKEND=f"{__name__}.BrokenBackend"):
        assert emails_send(job_ids=[basic_job.pk]) == 0
    notification = basic_job.notifications.get()
    assert (notification.status, notification.attempts) == (Notification.Status.PENDING, 1)
    assert "smtp down" in notification.last_error
    # Backing off: asking again at once sends nothing; the pass after the backoff sends it.
    assert emails_send(job_ids=[basic_job.pk]) == 0
    assert mailoutbox == []
    summary = dispatch_due_imports(now=notification.next_attempt_at)
    assert summary.notified == 1
    assert len(mailoutbox) == 1


@override_settings(SITE_URL="https://portal.example.com")
def test_emails_rendered_together_each_link_to_their_own_job(demo, django_capture_on_commit_callbacks, mailoutbox):
    """The bodies of identical emails are rendered once per batch; each still links to its job."""
    with freeze_time("2024-07-22 15:24:28"):
        jobs = [schedule(demo, due_at=DUE) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due_imports(now=DUE)
    completed = [m for m in mailoutbox if m.subject == "Your import is completed"]
    assert len(completed) == 3
    for job in jobs:
        link = f"https://portal.example.com/imports/?job={job.pk}"
        (message,) = [m for m in completed if f"{link}\n" in m.body]
        assert f"{link}\"" in message.alternatives[0][0]
        assert "invalid" not in message.body + message.alternatives[0][0]
