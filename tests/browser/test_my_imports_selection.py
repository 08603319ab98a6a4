"""In Chromium: several Pending jobs ticked and cancelled together (issue 24 point 3), and My imports at
390 px as cards that fit the screen, with the filters folded and the pager on one line (point 5)."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from imports.models import ImportJob
from tests.imports.helpers import schedule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KIOSK = "(NCE) Exchange Online Kiosk(Microsoft)"
PHONE = {"width": 390, "height": 844}


def test_tick_three_pending_jobs_and_cancel_them_together(page, live_server, demo, log_in):
    later = timezone.now() + dt.timedelta(days=9)
    jobs = [schedule(demo, due_at=later) for _ in range(4)]
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/imports/")
    bar = page.get_by_role("form", name="Selected imports")
    expect(bar).to_contain_text("None selected.")
    for job in jobs[:3]:
        page.get_by_role("checkbox", name=f"Select the import {KIOSK} (#{job.pk})").check()
    expect(bar).to_contain_text("3 selected.")
    # A worker claims one of them before the click: the others are cancelled, and the message says so.
    ImportJob.objects.filter(pk=jobs[1].pk).update(status=ImportJob.Status.COMPLETED)
    bar.get_by_role("button", name="Cancel selected").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel 3 imports?")
    page.get_by_role("button", name="YES, DO IT").click()
    expect(page.get_by_role("status").first).to_have_text(f"2 cancelled; 1 not cancelled: #{jobs[1].pk} is no longer pending.")
    for job, status in zip(jobs, ["Cancelled", "Completed", "Cancelled", "Pending"]):
        expect(page.locator(f"#import-{job.pk} .status").first).to_have_text(status)
    assert list(ImportJob.objects.order_by("pk").values_list("status", flat=True)) == [
        "cancelled", "completed", "cancelled", "pending"]


def test_my_imports_fits_a_390_px_screen_as_cards(browser, live_server, demo, log_in):
    later = timezone.now() + dt.timedelta(days=9)
    jobs = [schedule(demo, due_at=later) for _ in range(12)]
    ImportJob.objects.filter(pk=jobs[0].pk).update(status=ImportJob.Status.FAILED, error_count=1)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        log_in("admin@abbiebox.com", on=page)
        page.goto(f"{live_server.url}/imports/")
        expect(page.locator("tbody.imports-job")).to_have_count(10)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # The key columns of a card are shown and inside the screen; the others wait in its details.
        card = page.locator(f"#import-{jobs[5].pk}")
        for cell in (".imports-name", ".imports-company", ".imports-schedule", ".imports-status", ".imports-actions"):
            box = card.locator(f"tr.imports-main > td{cell}").bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (cell, box)
        expect(card.locator("td.imports-company")).to_contain_text("ERITECH PERU S.A. (466158)")
        expect(card.locator("td.imports-minor").first).to_be_hidden()
        expect(card.get_by_role("link", name=f"Reschedule the import {KIOSK}")).to_be_visible()
        # The filters are folded: the first card is on the first screen.
        expect(page.get_by_role("search", name="Filter imports")).to_be_hidden()
        first_card = page.locator("tbody.imports-job").first.bounding_box()
        assert first_card["y"] < PHONE["height"], first_card
        page.get_by_text("Filters and search").click()
        expect(page.get_by_role("search", name="Filter imports")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # The pager's |< < 1 > >| stays on one line.
        pager = page.locator(".imports-pager")
        first, last = pager.locator(":scope > *").first.bounding_box(), pager.locator(":scope > *").last.bounding_box()
        assert abs(first["y"] - last["y"]) < 2, (first, last)
        page.get_by_role("link", name="Next page").click()
        expect(page.get_by_text("11-12 of 12")).to_be_visible()
        first = pager.locator(":scope > *").first  # |< is a link now
        box = first.bounding_box()
        assert first.evaluate("e => e.getClientRects().length") == 1 and box["height"] < 30
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # The expanded details scroll inside their own box, not the page.
        page.locator(f"#import-{jobs[0].pk} summary").click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
