"""In Chromium, My imports' layout (issue 24): at 1440 px and 1280 px, in English and Spanish, the list fits
its card with every row's actions in sight (no sideways scrolling, the expanded lines too); at 390 px a
finished job's name reads on its line, not a letter a line; the date filters are ISO text boxes."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from imports.models import ImportJob, ImportRow
from tests.browser.test_responsive import _log_in_spanish
from tests.imports.helpers import schedule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Status = ImportJob.Status

# The card's content box and the table's, the card's scroll, and each row's actions and cells.
MEASURE = """() => {
  const card = document.querySelector(".imports-card");
  const style = getComputedStyle(card);
  const box = card.getBoundingClientRect();
  const inner = box.right - parseFloat(style.borderRightWidth) - parseFloat(style.paddingRight);
  const table = document.querySelector("table.imports-table").getBoundingClientRect();
  const rights = (selector) => [...document.querySelectorAll(selector)]
    .filter(el => el.getClientRects().length).map(el => el.getBoundingClientRect().right);
  return {
    cardInnerRight: inner, cardRight: box.right, tableRight: table.right, tableLeft: table.left, cardLeft: box.left,
    cardScroll: card.scrollWidth, cardClient: card.clientWidth, pageScroll: document.documentElement.scrollWidth,
    actions: rights("tr.imports-main .imports-actions a, tr.imports-main .imports-actions button"),
    cells: rights("tr.imports-main > td"),
  };
}"""


def fail(job):
    ImportJob.objects.filter(pk=job.pk).update(status=Status.FAILED, error_count=1, finished_at=timezone.now())
    ImportRow.objects.filter(job=job).update(status=ImportRow.Status.FAILED,
                                             error="The parent account ERITECH PERU S.A. is not active (status: Suspended).")


@pytest.fixture
def every_kind_of_job(demo):
    """A Pending job (Reschedule, Cancel), a Failed one (Schedule again), a Completed one and a bulk
    Users import with a long file name, Completed with errors."""
    later = timezone.now() + dt.timedelta(days=9)
    pending = schedule(demo, due_at=later)
    failed = schedule(demo, due_at=later)
    fail(failed)
    completed = schedule(demo, due_at=later)
    ImportJob.objects.filter(pk=completed.pk).update(status=Status.COMPLETED, imported_count=1,
                                                      finished_at=timezone.now() + dt.timedelta(minutes=4))
    bulk = ImportJob.objects.create(
        name="eritech-team-december-new-hires-and-transfers.csv", source=ImportJob.Source.IMPORT,
        account_type=ImportJob.AccountType.USERS, due_at=timezone.now(), created_by=demo.admin_abbie,
        company=demo.eritech, status=Status.COMPLETED_WITH_ERRORS, imported_count=3, error_count=2,
        finished_at=timezone.now() + dt.timedelta(minutes=2),
    )
    return {"pending": pending, "failed": failed, "completed": completed, "bulk": bulk}


def _open(browser, live_server, log_in, *, width, language, height=900):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=language,
                                  extra_http_headers={"Accept-Language": language})
    page = context.new_page()
    if language == "en":
        log_in("admin@abbiebox.com", on=page)
    else:
        _log_in_spanish(page, live_server)
    page.goto(f"{live_server.url}/imports/")
    return context, page


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("width", [1440, 1280])
def test_the_list_fits_its_card_with_the_actions_in_sight(browser, live_server, log_in, every_kind_of_job, width, language):
    jobs = every_kind_of_job
    context, page = _open(browser, live_server, log_in, width=width, language=language)
    try:
        expect(page.locator("tbody.imports-job")).to_have_count(4)
        for summary in page.locator("tbody.imports-job summary").all():  # the expanded lines too
            summary.click()
        report = page.evaluate(MEASURE)
        assert report["tableRight"] <= report["cardInnerRight"] + 1, report
        assert report["cardScroll"] <= report["cardClient"], report  # the card does not scroll sideways
        assert report["pageScroll"] <= width, report
        assert report["actions"] and max(report["actions"]) <= report["cardInnerRight"] + 1, report
        assert max(report["cells"]) <= report["cardInnerRight"] + 1, report
        reschedule, cancel, again = ("Reschedule", "Cancel", "Schedule again") if language == "en" else (
            "Reprogramar", "Cancelar", "Volver a programar")
        pending = page.locator(f"#import-{jobs['pending'].pk} tr.imports-main")
        failed = page.locator(f"#import-{jobs['failed'].pk} tr.imports-main")
        for action in (pending.locator(".imports-reschedule"), pending.locator(".imports-cancel"),
                       failed.locator(".imports-retry button")):
            expect(action).to_be_in_viewport()
        expect(pending.locator(".imports-reschedule")).to_have_text(reschedule)
        expect(pending.locator(".imports-cancel")).to_have_text(cancel)
        expect(failed.locator(".imports-retry button")).to_have_text(again)
        # Every column is there: at 1440 px in its own cell, at 1280 px Account type and Source under the company.
        bulk = page.locator(f"#import-{jobs['bulk'].pk} tr.imports-main")
        expect(bulk.locator("td.imports-creator")).to_be_in_viewport()
        expect(bulk.locator("td.num").last).to_have_text("2")  # Errors (No.)
        users, source = ("Users", "Import") if language == "en" else ("Usuarios", "Importación")
        if width >= 1400:
            expect(bulk.locator("td.imports-account-type")).to_have_text(users)
            expect(bulk.locator("td.imports-source")).to_have_text(source)
            expect(bulk.locator(".imports-folded")).to_be_hidden()
        else:
            expect(bulk.locator("td.imports-account-type")).to_be_hidden()
            expect(bulk.locator(".imports-folded")).to_be_visible()
            expect(bulk.locator(".imports-folded")).to_contain_text(f"{users} · ")  # each named for a screen reader
            expect(bulk.locator(".imports-folded")).to_contain_text(source)
        # A finished job's range breaks between its two ends, if at all: each end stays on one line.
        for end in page.locator("time.dt-range > span").all():
            assert end.evaluate("e => e.getClientRects().length") == 1
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "es"])
def test_at_390_px_every_jobs_name_reads_on_its_line(browser, live_server, log_in, every_kind_of_job, language):
    context, page = _open(browser, live_server, log_in, width=390, language=language, height=844)
    try:
        expect(page.locator("tbody.imports-job")).to_have_count(4)
        for kind, job in every_kind_of_job.items():
            name = page.locator(f"#import-{job.pk} td.imports-name")
            box = name.bounding_box()
            assert box and box["width"] > 200 and box["x"] + box["width"] <= 390, (kind, box)
            line = name.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 20")
            assert box["height"] < 4 * line, (kind, box)  # a few lines at most, not a letter a line
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_date_filters_are_iso_text_boxes(browser, live_server, log_in, every_kind_of_job, language):
    context, page = _open(browser, live_server, log_in, width=1280, language=language)
    try:
        filters = page.locator("#imports-filters")
        labels = (("Created from", "Created until", "Scheduled from", "Scheduled until") if language == "en"
                  else ("Creada desde", "Creada hasta", "Programada desde", "Programada hasta"))
        placeholder = "YYYY-MM-DD" if language == "en" else "AAAA-MM-DD"
        for label in labels:
            box = filters.get_by_label(label, exact=True)
            expect(box).to_have_attribute("type", "text")
            expect(box).to_have_attribute("placeholder", placeholder)
            expect(box).to_have_attribute("inputmode", "numeric")
            expect(box).to_have_attribute("pattern", "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
        filters.get_by_label(labels[0], exact=True).fill("2024-07-31")
        filters.get_by_label(labels[3], exact=True).fill("2099-12-31")
        filters.locator("button[type=submit]").click()
        page.wait_for_url("**created_from=2024-07-31**")
        assert "due_to=2099-12-31" in page.url
        expect(filters.get_by_label(labels[0], exact=True)).to_have_value("2024-07-31")
        expect(page.locator(".imports-chip").first).to_contain_text("2024-07-31")
        expect(page.locator("tbody.imports-job")).to_have_count(4)
        expect(page.locator(".imports-problems")).to_have_count(0)

        # Not a date: kept in its box, marked, the message under it and above the list; the list unfiltered.
        filters.get_by_label(labels[1], exact=True).fill("31/07/2024")
        filters.locator("button[type=submit]").click()
        page.wait_for_url("**created_to=31%2F07%2F2024**")
        box = filters.get_by_label(labels[1], exact=True)
        expect(box).to_have_value("31/07/2024")
        expect(box).to_have_attribute("aria-invalid", "true")
        message = ("Enter the date as YYYY-MM-DD, e.g. 2024-07-31." if language == "en"
                   else "Ingrese la fecha con el formato AAAA-MM-DD, p. ej. 2024-07-31.")
        expect(page.locator("#imports-created_to-error")).to_have_text(message)
        expect(box).to_have_accessible_description(message)
        expect(page.locator(".imports-problems")).to_contain_text("31/07/2024")
        expect(filters.get_by_label(labels[0], exact=True)).not_to_have_attribute("aria-invalid", "true")
    finally:
        context.close()
