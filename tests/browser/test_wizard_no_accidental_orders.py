"""In Chromium (issue 24): Select service pre-selects nothing and Next without a choice says so; on
Order review, an order whose pre-check fails is scheduled only after "Schedule anyway", which names
the reasons, with JavaScript on and off."""

import pytest
from playwright.sync_api import expect

from imports.models import ImportJob
from orders.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KIOSK = "(NCE) Exchange Online Kiosk"
WRONG_TENANT = "11111111-2222-3333-4444-555555555555"
TENANT_REASON = "Microsoft Tenant Id does not belong to a Microsoft Organization tenant of this company."


def current_step(page):
    return page.locator(".wizard-steps li[aria-current=step]")


def open_wizard(page, live_server):
    page.goto(f"{live_server.url}/companies/466158/")
    page.get_by_role("button", name="NEW SERVICE").click()
    expect(current_step(page)).to_have_text("Select service")


def test_next_without_a_choice_orders_nothing(page, live_server, demo, log_in):
    log_in("admin@abbiebox.com")
    open_wizard(page, live_server)
    expect(page.locator(".service-list input[type=radio]")).not_to_have_count(0)
    expect(page.locator(".service-list input[type=radio]:checked")).to_have_count(0)
    expect(page.locator(".wz-detail")).to_contain_text("Select a service to see its details.")

    page.get_by_role("button", name="Next").click()
    expect(current_step(page)).to_have_text("Select service")
    expect(page.get_by_role("alert")).to_contain_text("Select a service to continue.")
    assert Order.objects.get().service_id is None

    page.get_by_label(KIOSK, exact=True).check()
    page.get_by_role("button", name="Next").click()
    expect(current_step(page)).to_have_text("Configuration")


def _to_review_with_a_failing_check(page, live_server):
    open_wizard(page, live_server)
    page.get_by_label(KIOSK, exact=True).check()
    page.get_by_role("button", name="Next").click()
    expect(current_step(page)).to_have_text("Configuration")
    page.get_by_label("Microsoft Tenant Id").fill(WRONG_TENANT)
    page.get_by_role("button", name="Next").click()
    expect(current_step(page)).to_have_text("Order review")
    expect(page.locator(".wz-precheck")).to_contain_text(TENANT_REASON)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_failing_precheck_needs_schedule_anyway(browser, live_server, demo, log_in, javascript):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    try:
        log_in("admin@abbiebox.com", on=page)
        _to_review_with_a_failing_check(page, live_server)

        page.get_by_role("button", name="Schedule provisioning", exact=True).click()
        confirm = page.locator(".wz-confirm")
        expect(confirm).to_contain_text("This order would fail if it were provisioned now")
        expect(confirm).to_contain_text(TENANT_REASON)
        assert not ImportJob.objects.exists()

        page.get_by_role("button", name="Schedule anyway").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("My Imports")
        expect(page.locator("body")).to_contain_text(f"Provisioning of {KIOSK} scheduled for")
        assert ImportJob.objects.count() == 1
    finally:
        context.close()
