"""In Chromium, My imports as the reseller's control room: rows per page and filters, reschedule
(winning and too late), schedule again, and rows that refresh themselves."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import AuditLogEntry
from imports.jobs import states
from imports.engine.dispatch import dispatch_due_imports
from imports.my_imports import views as my_imports_views
from core.stored_messages import rendered
from imports.models import ImportJob, ImportRow
from orders.models import Order
from tests.imports.helpers import schedule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Status = ImportJob.Status
KIOSK = "(NCE) Exchange Online Kiosk(Microsoft)"


def fail(job, reason):
    ImportJob.objects.filter(pk=job.pk).update(status=Status.FAILED, error_count=1, finished_at=timezone.now())
    ImportRow.objects.filter(job=job).update(status=ImportRow.Status.FAILED, error=reason)


def test_rows_per_page_filters_chips_and_the_reason_of_a_failure(page, live_server, demo, log_in):
    later = timezone.now() + dt.timedelta(days=9)
    jobs = [schedule(demo, due_at=later) for _ in range(40)]
    jobs += [schedule(demo, due_at=later, company=demo.norte) for _ in range(20)]
    fail(jobs[3], "The parent account ERITECH PERU S.A. is not active (status: Suspended).")
    fail(jobs[45], "Elsewhere")
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/imports/")
    expect(page.get_by_text("1-10 of 60")).to_be_visible()

    page.get_by_label("Rows per page").select_option("25")
    expect(page.get_by_text("1-25 of 60")).to_be_visible()
    expect(page.locator("tbody.imports-job")).to_have_count(25)
    assert "per_page=25" in page.url
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_text("26-50 of 60")).to_be_visible()

    filters = page.get_by_role("search", name="Filter imports")
    filters.get_by_label("Failed").check()
    filters.get_by_label("Company (and below)").select_option(label=f"ERITECH PERU S.A. ({demo.eritech.account_id})")
    filters.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("1-1 of 1")).to_be_visible()
    assert "per_page=25" in page.url  # rows per page kept with the filters
    expect(page.get_by_role("link", name="Remove the filter Status: Failed")).to_be_visible()
    row = page.locator(f"#import-{jobs[3].pk}")
    row.locator("summary").click()
    expect(row.locator(".imports-error")).to_have_text("The parent account ERITECH PERU S.A. is not active (status: Suspended).")

    page.get_by_role("link", name="Remove the filter Status: Failed").click()
    expect(page.get_by_text("1-25 of 40")).to_be_visible()
    page.get_by_role("link", name="Clear all").click()
    expect(page.get_by_text("1-25 of 60")).to_be_visible()

    page.get_by_role("searchbox", name="Search imports").fill("NORTE DIGITAL")
    page.get_by_role("searchbox", name="Search imports").press("Enter")
    expect(page.get_by_text("1-20 of 20")).to_be_visible()


def test_reschedule_a_pending_job_in_the_dialog(page, live_server, demo, log_in):
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=9))
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/imports/")
    row = page.locator(f"#import-{job.pk}")
    expect(row.locator(".imports-schedule time")).to_have_text(f"{job.due_at:%Y-%m-%d %H:%M} UTC")

    row.get_by_role("link", name=f"Reschedule the import {KIOSK}").click()
    dialog = page.locator("#reschedule-dialog")
    expect(dialog).to_be_visible()
    field = dialog.get_by_label("New schedule time")
    expect(field).to_have_value(job.due_at.strftime("%Y-%m-%d %H:%M"))
    expect(dialog.locator("#id_due_at_tz")).to_have_value("UTC")
    expect(dialog).to_contain_text("All checks that run at the scheduled time pass today.")

    field.fill("2001-01-01 10:00")
    dialog.get_by_role("button", name="Reschedule").click()
    expect(dialog.locator(".fielderror")).to_contain_text("The schedule time is in the past.")
    expect(dialog).to_be_visible()

    tomorrow = (timezone.now() + dt.timedelta(days=1)).replace(hour=9, minute=30, second=0, microsecond=0)
    field = dialog.get_by_label("New schedule time")
    # Typed in Tokyo time (UTC+9): the line under it says the UTC moment before submitting.
    dialog.locator("#id_due_at_tz").select_option("Asia/Tokyo")
    field.fill((tomorrow + dt.timedelta(hours=9)).strftime("%Y-%m-%d %H:%M"))
    expect(dialog.locator("#id_due_at_utc")).to_have_text(f"Stored as {tomorrow:%Y-%m-%d %H:%M} UTC")
    dialog.get_by_role("button", name="Reschedule").click()
    expect(page.get_by_role("status").first).to_contain_text("was rescheduled from")
    expect(page.locator(f"#import-{job.pk} .imports-schedule time")).to_have_text(f"{tomorrow:%Y-%m-%d} 09:30 UTC")
    job.refresh_from_db()
    assert job.due_at == tomorrow
    entry = AuditLogEntry.objects.get(action="import.rescheduled")
    assert f"to {tomorrow:%Y-%m-%d} 09:30 (UTC)" in rendered(entry.message)


def test_reschedule_loses_to_a_worker_that_claimed_the_job(page, live_server, demo, log_in):
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=9))
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/imports/")
    page.locator(f"#import-{job.pk}").get_by_role("link", name=f"Reschedule the import {KIOSK}").click()
    dialog = page.locator("#reschedule-dialog")
    dialog.get_by_label("New schedule time").fill((timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M"))
    # A worker claims it while the dialog is open.
    now = timezone.now()
    assert states.transition(job.pk, Status.PENDING, Status.IN_PROGRESS, claimed_at=now,
                             lease_expires_at=now + dt.timedelta(minutes=6))
    dialog.get_by_role("button", name="Reschedule").click()
    expect(page.locator(".message.error")).to_have_text("Too late: the import has already started.")
    expect(page.locator(f"#import-{job.pk} .status")).to_have_text("In progress")
    job.refresh_from_db()
    assert job.status == Status.IN_PROGRESS


def test_schedule_again_a_failed_job(page, live_server, demo, log_in):
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=9))
    Order.objects.filter(import_row__job=job).update(billing_start_date=timezone.now())
    fail(job, "The parent account ERITECH PERU S.A. is not active (status: Suspended).")
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/imports/")
    page.locator(f"#import-{job.pk}").get_by_role("button", name=f"Schedule again the import {KIOSK}").click()
    expect(page.locator(".wizard-steps li[aria-current=step]")).to_have_text("Order review")
    expect(page.get_by_label("Schedule provisioning", exact=True)).to_have_value("")
    expect(page.locator(".wz-precheck")).to_contain_text("All checks that run at the scheduled time pass today.")
    page.get_by_label("Schedule provisioning", exact=True).fill((timezone.now() + dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M"))
    page.get_by_role("button", name="Schedule provisioning").click()
    expect(page).to_have_url(f"{live_server.url}/imports/")
    new = ImportJob.objects.get(retry_of=job)
    expect(page.locator(f"#import-{new.pk} .status")).to_have_text("Pending")
    expect(page.locator(f"#import-{job.pk} .status")).to_have_text("Failed")
    page.locator(f"#import-{job.pk} summary").click()
    expect(page.locator(f"#import-{job.pk}")).to_contain_text(f"Scheduled again as import #{new.pk} (Pending).")


def test_a_due_job_turns_completed_without_reloading(page, live_server, demo, log_in, monkeypatch):
    # The rows refresh every 5 s; every second here, so the wait for the refresh is a second.
    monkeypatch.setattr(my_imports_views, "LIVE_REFRESH_SECONDS", 1)
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(minutes=1))
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/imports/")
    row = page.locator(f"#import-{job.pk}")
    expect(row.locator(".status")).to_have_text("Pending")
    expect(page.locator("#imports-live")).to_have_attribute("hx-trigger", "every 1s")  # the poller is on
    row.locator("summary").click()  # an open row stays open through the refresh
    page.evaluate("window.__same_page = true")
    dispatch_due_imports(now=job.due_at + dt.timedelta(seconds=1))
    expect(row.locator(".status")).to_have_text("Completed", timeout=15_000)
    assert page.evaluate("window.__same_page") is True
    expect(row.locator("details")).to_have_attribute("open", "")
    expect(row.locator(".imports-rows")).to_contain_text("(NCE) Exchange Online Kiosk")
    # Everything shown is final now: the poller has no trigger any more.
    expect(page.locator("#imports-live")).not_to_have_attribute("hx-trigger", "every 1s")


def test_without_a_zone_of_its_own_the_local_line_is_the_browsers_in_the_same_format(browser, live_server, demo, log_in):
    job = schedule(demo, due_at=(timezone.now() + dt.timedelta(days=5)).replace(hour=23, minute=47, second=0, microsecond=0))
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-US")
    page = context.new_page()
    try:
        log_in("admin@abbiebox.com", on=page)
        page.goto(f"{live_server.url}/imports/")
        cell = page.locator(f"#import-{job.pk} .imports-schedule")
        local = job.due_at + dt.timedelta(hours=9)
        expect(cell.locator("time")).to_have_text(f"{job.due_at:%Y-%m-%d %H:%M} UTC")
        expect(cell.locator(".dt-local")).to_have_text(f"{local:%Y-%m-%d %H:%M} UTC+9")  # YYYY-MM-DD HH:MM, never M/D/YY
    finally:
        context.close()
