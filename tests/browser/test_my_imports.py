"""In the browser: My imports lists a pending scheduled provisioning; X, the dialog, YES, DO IT
cancels it."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from imports.models import ImportJob
from tests.imports.helpers import schedule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]




def test_cancel_a_pending_import_from_my_imports(page, live_server, demo, log_in):
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=9))
    log_in("admin@abbiebox.com")

    page.get_by_text("Orders", exact=True).click()
    page.get_by_role("link", name="My imports").click()
    expect(page).to_have_url(f"{live_server.url}/imports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My Imports")
    row = page.locator(f"#import-{job.pk}")
    expect(row.get_by_role("cell", name="(NCE) Exchange Online Kiosk(Microsoft)", exact=True)).to_be_visible()
    expect(row.locator(".status")).to_have_text("Pending")
    expect(page.get_by_text("1-1 of 1")).to_be_visible()

    # NO closes the dialog and changes nothing.
    row.get_by_role("link", name="Cancel the import (NCE) Exchange Online Kiosk(Microsoft)").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Are you sure you want to cancel the import?")
    dialog.get_by_role("button", name="NO").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".status")).to_have_text("Pending")

    row.get_by_role("link", name="Cancel the import (NCE) Exchange Online Kiosk(Microsoft)").click()
    page.get_by_role("dialog").get_by_role("button", name="YES, DO IT").click()

    expect(page.get_by_role("status").first).to_have_text("The import (NCE) Exchange Online Kiosk(Microsoft) was cancelled.")
    expect(page.locator(f"#import-{job.pk} .status")).to_have_text("Cancelled")
    expect(page.locator(f"#import-{job.pk}").get_by_role("link", name="Cancel the import (NCE) Exchange Online Kiosk(Microsoft)")).to_have_count(0)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED


def test_the_details_of_a_job_expand(page, live_server, demo, log_in):
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=9))
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/imports/")
    details = page.locator(f"#import-{job.pk} details")
    expect(details.get_by_role("cell", name="ERITECH PERU S.A.")).to_be_hidden()
    details.locator("summary").click()
    expect(details.get_by_role("cell", name="ERITECH PERU S.A.")).to_be_visible()
    expect(details.get_by_role("cell", name="(NCE) Exchange Online Kiosk", exact=True)).to_be_visible()  # the name (issue 24)
