"""In Chromium, against the real Partner Center sandbox (issue 27, "Done when"), as a new reseller would:
on ERITECH's Business Basic (the demo's licence the sandbox's seed holds, renewing in 3 days),
1. SYNC WITH MICROSOFT, then schedule "quantity 1 → 3" two minutes ahead; at its due time the engine sends
   the one PATCH: the subscription page says 3, so does the sandbox (its ledger and its subscription),
   My imports lists the "Scheduled change" job Completed, and "Your import is completed" is emailed;
2. a mid-term reduction is refused with the reason (the cancellation window is closed);
3. schedule "quantity down to 2 at renewal": Orders › Upcoming shows the renewal with the change, and the
   sandbox holds it as next-term instructions;
4. the sandbox's clock passes the term's end (it renews the subscription with the instructions), SYNC WITH
   MICROSOFT: the page says 2, the new term, and the change Applied.
Screenshots go to $ICP_SCREENSHOTS (e.g. /work/screenshots/issue-27) when set."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from catalog.models import VendorCall
from devtools.demo import ERITECH_TENANT_ID
from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob
from orders.models import Subscription, SubscriptionChange

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BASIC_ACCOUNT_ID = 493797  # ERITECH's Business Basic (devtools.demo DEMO_VENDOR_SUBSCRIPTIONS)
DAY = 24 * 60 * 60


def _seeded_afresh(sandbox) -> None:
    """The sandbox emptied and seeded again, its clock at the real time: the demo's licences where the seed
    places them (other tests of the session may have moved its clock, and renewed them, meanwhile)."""
    assert sandbox.request("POST", "/_sandbox/reset", auth=False, request_id=False).status == 200
    seeded = sandbox.request("POST", "/_sandbox/seed", auth=False, request_id=False)
    assert seeded.status == 200, seeded.body


@pytest.fixture
def sandbox(vendor, sandbox_clock):
    """The session sandbox as its seed has it, and its clock put back to the real time after the walk
    (sandbox_clock's teardown), then seeded afresh again for the tests that follow."""
    _seeded_afresh(vendor)
    yield vendor
    _seeded_afresh(vendor)


def _at_vendor(sandbox, vendor_id: str) -> dict:
    response = sandbox.request("GET", f"/v1/customers/{ERITECH_TENANT_ID}/subscriptions/{vendor_id}")
    assert response.status == 200, response.body
    return response.json()


def _in_ledger(sandbox, vendor_id: str) -> dict:
    (entry,) = [s for s in sandbox.ledger()["subscriptions"] if s["id"] == vendor_id]
    return entry


def patches() -> int:
    return VendorCall.objects.filter(operation="subscription_patch").count()


def test_a_reseller_changes_eritechs_business_basic_now_and_at_renewal_against_the_sandbox(
    page, live_server, log_in, demo, sandbox, sandbox_clock, shots, mailoutbox
):
    basic = Subscription.objects.get(account_id=BASIC_ACCOUNT_ID)
    vendor_id = basic.vendor_subscription_id
    assert _at_vendor(sandbox, vendor_id)["quantity"] == 1
    log_in("admin@abbiebox.com")
    url = f"{live_server.url}/orders/subscriptions/{BASIC_ACCOUNT_ID}/"
    page.goto(url)
    title = page.get_by_role("heading", level=1)
    expect(title).to_contain_text("(1)")

    # The term as Microsoft holds it.
    page.get_by_role("button", name="SYNC WITH MICROSOFT").click()
    expect(page.locator(".messages")).to_contain_text("Synced with Microsoft.")
    expect(page.locator(".sub-window")).to_have_text("closed")

    # 1. Quantity 1 → 3, two minutes ahead.
    due = (timezone.now() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    page.get_by_role("link", name="SCHEDULE A CHANGE").click()
    page.get_by_label("New quantity").fill("3")
    page.get_by_label("Apply at").fill(due.strftime("%Y-%m-%d %H:%M"))
    page.get_by_role("button", name="REVIEW").click()
    up_text = f"Quantity 1 → 3 on {due:%Y-%m-%d %H:%M} UTC"
    expect(page.locator(".change-text")).to_have_text(up_text)
    # ABBIE BOX never accepted Business Basic's terms (the demo's): the review shows them, to accept with the change.
    expect(page.locator(".change-terms")).to_contain_text(
        "The terms and conditions of (NCE) Microsoft 365 Business Basic are not yet accepted for your price list."
    )
    expect(page.locator(".change-terms .terms-text")).to_contain_text("SPECIAL PRODUCT TERMS")
    page.screenshot(path=str(shots / "change-review-quantity-up.png"), full_page=True)
    page.get_by_label("I accept these terms and conditions").check()
    page.get_by_role("button", name="SCHEDULE CHANGE").click()
    expect(page.locator(".messages")).to_contain_text(f"Change scheduled: {up_text}.")
    expect(page.locator(".sub-change")).to_contain_text("Pending")

    # Its due time: the engine's batch, then (after its commit) the one PATCH to the sandbox.
    dispatch_due_imports(now=due + dt.timedelta(seconds=1))
    up = SubscriptionChange.objects.get(subscription__account_id=BASIC_ACCOUNT_ID)
    assert up.status == SubscriptionChange.Status.APPLIED
    page.reload()
    expect(title).to_contain_text("(3)")
    expect(page.locator(".sub-changes-none")).to_be_visible()
    expect(page.locator(".sub-past-changes")).to_contain_text(f"{up_text} Applied")
    page.screenshot(path=str(shots / "subscription-quantity-3.png"), full_page=True)
    assert _at_vendor(sandbox, vendor_id)["quantity"] == 3
    assert _in_ledger(sandbox, vendor_id)["quantity"] == 3
    assert patches() == 1  # exactly one vendor call for the change

    job = ImportJob.objects.get(source=ImportJob.Source.CHANGE)
    page.goto(f"{live_server.url}/imports/")
    row = page.locator(f"#import-main-{job.pk}")
    expect(row.locator(".imports-name")).to_contain_text("Quantity 1 → 3")
    expect(row.locator(".imports-source")).to_have_text("Scheduled change")
    expect(row.locator(".imports-status")).to_have_text("Completed")
    page.screenshot(path=str(shots / "my-imports-change-completed.png"), full_page=True)
    completed = [m for m in mailoutbox if m.subject.startswith("Your import is completed")]
    assert [m.to for m in completed] == [["admin@abbiebox.com"]]
    body = completed[0].body
    for line in ("- Product: (NCE) Microsoft 365 Business Basic", "- Import Type: Subscription change",
                 "- Completed accounts: 1", "- Failed accounts: 0", f"/imports/?job={job.pk}"):
        assert line in body, body

    # 2. A reduction mid-term: refused with the reason.
    page.goto(url)
    page.get_by_role("link", name="SCHEDULE A CHANGE").click()
    page.get_by_label("New quantity").fill("2")
    page.get_by_role("button", name="REVIEW").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Seats can be reduced only at renewal or in the 7 days after purchase or renewal (until"
    )
    page.screenshot(path=str(shots / "change-mid-term-reduction-refused.png"), full_page=True)
    assert SubscriptionChange.objects.count() == 1

    # 3. Quantity down to 2 at renewal.
    page.get_by_role("radio", name="At renewal").check()
    page.get_by_label("New quantity").fill("2")
    page.get_by_role("button", name="REVIEW").click()
    basic.refresh_from_db()
    down_text = f"Quantity 3 → 2 at renewal on {basic.term_end:%Y-%m-%d}"
    expect(page.locator(".change-text")).to_have_text(down_text)
    expect(page.locator(".change-terms")).to_have_count(0)  # accepted with the first change
    page.get_by_role("button", name="SCHEDULE CHANGE").click()
    expect(page.locator(".messages")).to_contain_text(f"Change scheduled: {down_text}.")
    dispatch_due_imports()  # due now: sent to the vendor at once, as next-term instructions
    down = SubscriptionChange.objects.exclude(pk=up.pk).get()
    assert down.status == SubscriptionChange.Status.SENT
    assert _at_vendor(sandbox, vendor_id)["scheduledNextTermInstructions"]["quantity"] == 2
    assert _in_ledger(sandbox, vendor_id)["scheduled_next_term_instructions"]["quantity"] == 2
    assert patches() == 2
    page.reload()
    expect(page.locator(".sub-renewal-changes")).to_contain_text(down_text)

    page.get_by_text("Orders", exact=True).click()
    page.get_by_role("link", name="Upcoming").click()
    expect(page).to_have_url(f"{live_server.url}/orders/upcoming/")
    renewal = page.locator(".upcoming-item").filter(has_text="Quantity 3 → 2")
    expect(renewal).to_have_count(1)
    expect(renewal.locator("td").nth(1)).to_have_text("Renewal with changes")
    expect(renewal).to_contain_text(basic.display_name)
    page.screenshot(path=str(shots / "upcoming-renewal-with-change.png"), full_page=True)

    # 4. The sandbox renews the subscription at its term's end, with the instructions.
    old_end = basic.term_end
    sandbox_clock(int((old_end - timezone.now()).total_seconds()) + DAY)
    page.goto(url)
    page.get_by_role("button", name="SYNC WITH MICROSOFT").click()
    expect(page.locator(".messages")).to_contain_text("Synced with Microsoft.")
    expect(title).to_contain_text("(2)")
    expect(page.locator(".sub-term-start")).to_contain_text(f"{old_end:%Y-%m-%d}")
    expect(page.locator(".sub-term-end")).to_contain_text(f"{old_end.replace(year=old_end.year + 1):%Y-%m-%d}")
    expect(page.locator(".sub-past-changes")).to_contain_text(f"{down_text} Applied")
    page.screenshot(path=str(shots / "subscription-renewed-quantity-2.png"), full_page=True)
    down.refresh_from_db()
    assert (down.status, down.applied_at) == (SubscriptionChange.Status.APPLIED, old_end)
    at_vendor = _at_vendor(sandbox, vendor_id)
    assert (at_vendor["quantity"], at_vendor["scheduledNextTermInstructions"]) == (2, None)
    assert _in_ledger(sandbox, vendor_id)["quantity"] == 2
