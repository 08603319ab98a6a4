"""In Chromium (issue 27, "Done when"): on ERITECH's Business Basic, schedule "quantity 1 → 3" two minutes
ahead from the subscription page's wizard (choose → review → schedule), see it applied at its due time; a
mid-term reduction is refused with the reason."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from imports.engine.dispatch import dispatch_due_imports
from orders.models import SubscriptionChange
from tests.changes.helpers import basic_subscription

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_schedule_quantity_up_see_it_applied_and_a_mid_term_reduction_refused(page, live_server, log_in, demo):
    subscription = basic_subscription(demo, quantity=1, days_into_term=30)
    due = (timezone.now() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/orders/subscriptions/{subscription.account_id}/")
    # exact: the timeline (orders.timeline) has a "Scheduled changes" heading of its own.
    expect(page.get_by_role("heading", name="SCHEDULED CHANGES", exact=True)).to_be_visible()
    page.get_by_role("link", name="SCHEDULE A CHANGE").click()

    page.get_by_label("New quantity").fill("3")
    page.get_by_label("Apply at").fill(due.strftime("%Y-%m-%d %H:%M"))
    page.get_by_role("button", name="REVIEW").click()
    expect(page.locator(".change-text")).to_have_text(f"Quantity 1 → 3 on {due:%Y-%m-%d %H:%M} UTC")
    expect(page.locator(".change-delta")).to_contain_text("12.0435")
    page.get_by_role("button", name="SCHEDULE CHANGE").click()
    expect(page.locator(".messages")).to_contain_text(f"Change scheduled: Quantity 1 → 3 on {due:%Y-%m-%d %H:%M} UTC.")
    expect(page.locator(".sub-change")).to_contain_text("Pending")

    dispatch_due_imports(now=due + dt.timedelta(seconds=1))
    assert SubscriptionChange.objects.get().status == SubscriptionChange.Status.APPLIED
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text("(3)")
    expect(page.locator(".sub-changes-none")).to_be_visible()

    page.get_by_role("link", name="SCHEDULE A CHANGE").click()
    page.get_by_label("New quantity").fill("2")
    page.get_by_role("button", name="REVIEW").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Seats can be reduced only at renewal or in the 7 days after purchase or renewal (until"
    )
    assert SubscriptionChange.objects.count() == 1


def test_the_wizard_shows_the_value_of_the_chosen_kind_only(page, live_server, log_in, demo):
    subscription = basic_subscription(demo, quantity=1)
    log_in("admin@abbiebox.com")
    page.goto(f"{live_server.url}/imports/changes/{subscription.account_id}/")
    expect(page.get_by_label("New quantity")).to_be_visible()
    expect(page.get_by_label("Upgrade to")).to_be_hidden()
    page.get_by_role("radio", name="Product upgrade").check()
    expect(page.get_by_label("Upgrade to")).to_be_visible()
    expect(page.get_by_label("New quantity")).to_be_hidden()
    page.get_by_role("radio", name="At renewal").check()
    expect(page.get_by_label("Apply at")).to_be_hidden()
