"""In Chromium (issue 25, point 5): the company page's PROVISIONING tab with its vendor link and vendor
requests, RECREATE PROVISIONING through its confirm dialog, and a job waiting for Microsoft on My imports
at 1440 px and as a 390 px card. Screenshots go to $ICP_SCREENSHOTS (e.g. /work/screenshots/issue-25) when
set, else to the test's temporary folder."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import VendorCall
from core.stored_messages import stored
from imports.models import VendorOrder
from tests.vendor.ui_helpers import vendor_call, waiting_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THROTTLED = "Microsoft answered 429 Too Many Requests; Retry-After 30 s."


@pytest.fixture
def vendor_world(demo):
    now = timezone.now().replace(second=0, microsecond=0)
    job, order = waiting_job(demo, due_at=now - dt.timedelta(minutes=3), next_try=now + dt.timedelta(minutes=7),
                             last_error=stored(THROTTLED))
    base = now - dt.timedelta(minutes=3)
    for offset, operation, outcome, status in (
        (0, "customer_get", VendorCall.Outcome.DONE, 200),
        (1, "cart_create", VendorCall.Outcome.DONE, 201),
        (2, "cart_checkout", VendorCall.Outcome.TRANSIENT, 429),
        (3, "cart_checkout", VendorCall.Outcome.UNKNOWN, None),
    ):
        vendor_call(demo.eritech, at=base + dt.timedelta(seconds=20 * offset), operation=operation, outcome=outcome,
                    status_code=status, correlation_id=str(order.correlation_id))
    return job, order


def test_the_provisioning_tab_and_recreate_provisioning(browser, live_server, log_in, vendor_world, shots):
    job, order = vendor_world
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        log_in("admin@abbiebox.com", on=page)
        page.goto(f"{live_server.url}/companies/466158/?tab=provisioning")
        links = page.locator("table.acc-vendor-links")
        expect(links).to_contain_text("e0d72b05-fb92-4d65-9424-7b58ea99d5d3")
        expect(links).to_contain_text("eritechperu.onmicrosoft.com")
        calls = page.locator("table.acc-vendor-calls tbody tr")
        expect(calls).to_have_count(4)
        expect(calls.first).to_contain_text("cart_checkout")  # newest first
        expect(calls.first).to_contain_text("No answer")
        page.screenshot(path=str(shots / "provisioning-tab.png"), full_page=True)

        page.get_by_role("link", name="RECREATE PROVISIONING").click()
        dialog = page.locator("#company-recreate-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Are you sure you want to recreate the provisioning of ERITECH PERU S.A.?")
        page.screenshot(path=str(shots / "recreate-provisioning-dialog.png"))
        dialog.get_by_role("button", name="YES, DO IT").click()
        expect(page.get_by_text("1 order waiting for the vendor was sent again now.")).to_be_visible()
        assert VendorOrder.objects.get(pk=order.pk).next_attempt_at <= timezone.now()
    finally:
        context.close()


@pytest.mark.parametrize("width", [1440, 390])
def test_a_job_waiting_for_microsoft_on_my_imports(browser, live_server, log_in, vendor_world, shots, width):
    job, order = vendor_world
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 400 else 844})
    page = context.new_page()
    try:
        log_in("admin@abbiebox.com", on=page)
        page.goto(f"{live_server.url}/imports/")
        row = page.locator(f"#import-main-{job.pk}")
        status = row.locator(".imports-status")
        expect(status.locator(".status.waiting")).to_have_text("Waiting for Microsoft")
        expect(status.locator(".imports-next-try")).to_have_text(f"next try at {order.next_attempt_at:%Y-%m-%d %H:%M} UTC")
        expect(row.locator(".imports-cancel")).to_have_count(0)
        page.locator(f"#import-{job.pk} summary").click()
        expect(page.locator(f"#import-rows-{job.pk} .imports-vendor-reason")).to_have_text(THROTTLED)
        if width == 390:
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(shots / f"my-imports-waiting-{width}.png"), full_page=True)
    finally:
        context.close()
