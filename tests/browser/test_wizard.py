"""In Chromium: a reseller orders (NCE) Microsoft 365 Business Basic for ERITECH PERU S.A. through the whole
NEW SERVICE wizard and finds the Pending job on My imports."""

import datetime as dt
import re

import pytest
from freezegun import freeze_time
from playwright.sync_api import expect

from imports.models import ImportJob
from orders.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERVICE = "(NCE) Microsoft 365 Business Basic"




def current_step(page):
    return page.locator(".wizard-steps li[aria-current=step]")


def test_schedule_business_basic_through_the_wizard(page, live_server, demo, log_in):
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/companies/466158/")
    page.get_by_role("button", name="NEW SERVICE").click()

    # Select service
    expect(page.get_by_role("heading", level=1)).to_have_text("Order service")
    expect(page.locator(".wizard-steps")).to_contain_text(
        re.compile(r"Select service\s+Terms and Conditions\s+Configuration\s+Order review")
    )
    expect(current_step(page)).to_have_text("Select service")
    page.get_by_role("searchbox", name="Search services").fill("business basic")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=f"Details of {SERVICE}").click()
    detail = page.locator(".wz-detail")
    expect(detail.get_by_role("heading")).to_have_text(SERVICE)
    expect(detail).to_contain_text("Communication & Office")
    expect(detail).to_contain_text("PROMO")
    page.get_by_label(SERVICE, exact=True).check()
    page.get_by_role("button", name="Next").click()

    # Terms and Conditions: not accepted yet for ABBIE BOX's price list
    expect(current_step(page)).to_have_text("Terms and Conditions")
    expect(page.locator(".terms-text")).to_contain_text("SPECIAL PRODUCT TERMS")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("You have accepted these Terms and Conditions.")).to_be_visible()
    page.get_by_role("button", name="Next").click()

    # Configuration: keep what is prefilled
    expect(current_step(page)).to_have_text("Configuration")
    expect(page.get_by_label("Subscription Name")).to_have_value(SERVICE)
    expect(page.get_by_label("Quantity")).to_have_value("1")
    expect(page.get_by_label("Billing Type")).to_have_value("monthly:P1Y")
    expect(page.get_by_label("Microsoft Tenant Id")).to_have_value("e0d72b05-fb92-4d65-9424-7b58ea99d5d3")
    expect(page.get_by_label("Send to backend")).to_be_checked()
    expect(page.get_by_label("Is billable")).to_be_checked()
    order = Order.objects.get(created_by=demo.admin_abbie)
    expect(page.get_by_label("QuoteId")).to_have_value(str(order.uuid))
    page.get_by_role("button", name="Next").click()

    # Order review: the manual's prices
    expect(current_step(page)).to_have_text("Order review")
    expect(page.locator(".wz-price .amount")).to_have_text("6.02 $")  # the manual's boxes show cents
    expect(page.locator(".wz-cost .amount")).to_have_text("4.82 $")
    table = page.locator("table.billing-information")
    expect(table).to_contain_text("Monthly (with 1-year commitment) - P1Y")
    expect(table.locator(".wz-total-monthly td")).to_have_text("6.02175 $")
    expect(table.locator(".wz-total-commitment td")).to_have_text("72.261 $")
    expect(page.get_by_text("You will have 7 day cancellation window")).to_be_visible()

    due_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    due = due_at.strftime("%Y-%m-%d %H:%M")
    # ISO text in the zone beside it (UTC by default), the UTC result shown under it before submitting.
    page.get_by_label("Schedule provisioning", exact=True).fill(due)
    expect(page.locator("#id_scheduled_for_utc")).to_have_text(f"Stored as {due} UTC")
    page.get_by_role("button", name="Schedule provisioning", exact=True).click()

    # My imports
    expect(page).to_have_url(f"{live_server.url}/imports/")
    expect(page.get_by_text(f"Provisioning of {SERVICE} scheduled for {due} UTC.")).to_be_visible()
    row = page.locator("tr", has_text=f"{SERVICE}(Microsoft)").first
    expect(row).to_contain_text("Pending")
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.PENDING
    assert job.due_at.strftime("%Y-%m-%d %H:%M") == due


def test_bad_quantity_and_schedule_time_show_messages_in_the_browser(page, live_server, demo, log_in):
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/companies/466158/")
    page.get_by_role("button", name="NEW SERVICE").click()
    page.get_by_label("(NCE) Exchange Online Kiosk", exact=True).check()
    page.get_by_role("button", name="Next").click()

    # Kiosk's terms were accepted for the price list already: straight to Configuration.
    expect(current_step(page)).to_have_text("Configuration")
    page.get_by_label("Quantity").fill("0")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Quantity must be at least 1.")).to_be_visible()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Next").click()

    expect(current_step(page)).to_have_text("Order review")
    page.get_by_label("Schedule provisioning", exact=True).fill("2020-01-01 10:00")
    page.get_by_role("button", name="Schedule provisioning", exact=True).click()
    expect(page.get_by_text("The schedule time is in the past.")).to_be_visible()

    # Back keeps the configuration.
    page.get_by_role("link", name="Back").click()
    expect(page.get_by_label("Quantity")).to_have_value("2")
    assert not ImportJob.objects.exists()


def test_a_click_selects_a_service_and_shows_its_details_without_a_reload(page, live_server, demo, log_in):
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/companies/466158/")
    page.get_by_role("button", name="NEW SERVICE").click()
    expect(current_step(page)).to_have_text("Select service")
    # Nothing is pre-selected (issue 24).
    expect(page.locator(".service-list input[type=radio]:checked")).to_have_count(0)

    page.evaluate("window.notReloaded = true")
    form = page.locator("#select-service-form")
    form.get_by_text(SERVICE, exact=True).click()
    detail = page.locator(".wz-detail")
    expect(detail.get_by_role("heading")).to_have_text(SERVICE)
    expect(detail).to_contain_text("Communication & Office")
    expect(page.locator(".service-list li.wz-highlighted")).to_contain_text(SERVICE)
    # The keyboard: arrow keys move the selection, and the panel follows.
    radio = page.get_by_label(SERVICE, exact=True)
    expect(radio).to_be_checked()
    radio.focus()
    page.keyboard.press("ArrowDown")
    checked = page.locator(".service-list input[type=radio]:checked")
    name = checked.locator("xpath=..").inner_text().strip()
    expect(detail.get_by_role("heading")).to_have_text(name)
    assert page.evaluate("window.notReloaded") is True

    form.get_by_text("(NCE) Exchange Online Kiosk", exact=True).click()
    expect(detail.get_by_role("heading")).to_have_text("(NCE) Exchange Online Kiosk")
    page.get_by_role("button", name="Next").click()
    # Kiosk's terms were accepted for the price list already: straight to Configuration.
    expect(current_step(page)).to_have_text("Configuration")


def test_select_service_works_without_javascript(browser, live_server, demo, log_in):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in("admin@abbiebox.com", on=page)
        page.goto(f"{live_server.url}/companies/466158/")
        page.get_by_role("button", name="NEW SERVICE").click()
        page.get_by_role("link", name="Details of (NCE) Exchange Online Kiosk").click()
        expect(page.locator(".wz-detail").get_by_role("heading")).to_have_text("(NCE) Exchange Online Kiosk")
        expect(page.get_by_label("(NCE) Exchange Online Kiosk", exact=True)).to_be_checked()
        page.get_by_role("button", name="Next").click()
        expect(current_step(page)).to_have_text("Configuration")
    finally:
        context.close()


def test_discard_an_unfinished_order_after_confirming(page, live_server, demo, log_in):
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/companies/466158/")
    page.get_by_role("button", name="NEW SERVICE").click()
    page.get_by_label("(NCE) Exchange Online Kiosk", exact=True).check()
    page.get_by_role("button", name="Next").click()
    expect(current_step(page)).not_to_have_text("Select service")
    page.goto(f"{live_server.url}/companies/466158/")
    page.get_by_role("button", name="NEW SERVICE").click()
    drafts = page.locator(".wz-drafts")
    expect(drafts.get_by_role("link", name=re.compile("^Discard the unfinished order"))).to_have_count(1)

    drafts.get_by_role("link", name=re.compile("^Discard the unfinished order")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Are you sure you want to discard this unfinished order?")
    dialog.get_by_role("button", name="NO").click()
    expect(dialog).to_be_hidden()
    assert Order.objects.count() == 2

    drafts.get_by_role("link", name=re.compile("^Discard the unfinished order")).click()
    page.get_by_role("dialog").get_by_role("button", name="YES, DISCARD IT").click()
    expect(page.get_by_text("The unfinished order was discarded.")).to_be_visible()
    expect(current_step(page)).to_have_text("Select service")
    expect(page.locator(".wz-drafts")).to_have_count(0)
    assert Order.objects.count() == 1


@pytest.fixture
def year_long_sessions(settings):
    """The server's clock is frozen below, the browser's is not: a session cookie that expires an hour
    after the frozen time could already be expired for the browser."""
    settings.SESSION_COOKIE_AGE = 10 * 365 * 24 * 3600


def test_a_reseller_schedules_in_lima_time_and_the_zone_is_remembered(browser, live_server, demo, log_in, year_long_sessions):
    # The browser in UTC, so the zone can only come from the control; the server a few days before the date.
    context = browser.new_context(timezone_id="UTC", locale="en-US")
    page = context.new_page()
    try:
        with freeze_time("2027-01-01 12:00:00", tick=True, ignore=["playwright", "asyncio", "greenlet"]):
            log_in("admin@abbiebox.com", on=page)

            def to_review():
                page.goto(f"{live_server.url}/companies/466158/")
                page.get_by_role("button", name="NEW SERVICE").click()
                page.get_by_label("(NCE) Exchange Online Kiosk", exact=True).check()
                page.get_by_role("button", name="Next").click()
                expect(current_step(page)).to_have_text("Configuration")
                page.get_by_role("button", name="Next").click()
                expect(current_step(page)).to_have_text("Order review")

            to_review()
            field = page.get_by_label("Schedule provisioning", exact=True)
            expect(field).to_have_attribute("type", "text")
            expect(field).to_have_attribute("placeholder", "YYYY-MM-DD HH:MM")
            zone = page.locator("#id_scheduled_for_tz")
            expect(zone).to_have_value("UTC")
            zone.select_option("America/Lima")
            field.fill("2027-01-04 18:47")
            expect(page.locator("#id_scheduled_for_utc")).to_have_text("Stored as 2027-01-04 23:47 UTC")
            page.get_by_role("button", name="Schedule provisioning", exact=True).click()

            expect(page).to_have_url(f"{live_server.url}/imports/")
            expect(page.get_by_text("scheduled for 2027-01-04 23:47 UTC.")).to_be_visible()
            cell = page.locator("tr.imports-main .imports-schedule").first
            expect(cell.locator("time")).to_have_text("2027-01-04 23:47 UTC")
            expect(cell.locator(".dt-local")).to_have_text("2027-01-04 18:47 UTC-5")
            job = ImportJob.objects.get()
            assert job.due_at == dt.datetime(2027, 1, 4, 23, 47, tzinfo=dt.timezone.utc)

            # The next visit starts in Lima: the Configuration's billing start date and the review's schedule.
            page.goto(f"{live_server.url}/companies/466158/")
            page.get_by_role("button", name="NEW SERVICE").click()
            page.get_by_label("(NCE) Exchange Online Kiosk", exact=True).check()
            page.get_by_role("button", name="Next").click()
            expect(page.locator("#id_billing_start_date_tz")).to_have_value("America/Lima")
            page.get_by_role("button", name="Next").click()
            expect(page.locator("#id_scheduled_for_tz")).to_have_value("America/Lima")

            # In Spanish: the same control, its words translated, the UTC line as the reseller types.
            page.get_by_label("Language").select_option("es")
            expect(page.locator("html")).to_have_attribute("lang", "es")
            expect(page.get_by_text("Zona horaria", exact=True)).to_be_visible()
            page.locator("#id_scheduled_for").fill("2027-01-05 08:00")
            expect(page.locator("#id_scheduled_for_utc")).to_have_text("Se guarda como 2027-01-05 13:00 UTC")
    finally:
        context.close()
