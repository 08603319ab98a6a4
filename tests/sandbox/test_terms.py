"""The subscription's term at the sandbox, as Partner Center keeps it: its dates and cancellation window, the
lazy renewal at term end (auto-renew, next-term instructions applied then cleared), New Commerce's window rules
on PATCH (reductions, billing cycle and term, cancellation), the wipe of next-term instructions by a mid-term
change, and the clock that lets a test reach the renewal (POST /_sandbox/clock)."""

import datetime as dt
import json

import pytest

from tests.processes import wait_for
from tests.vendor_sandbox import Sandbox

pytestmark = pytest.mark.once  # a process of its own, whatever the test database

DAY = 24 * 60 * 60
INSTRUCTIONS = {"product": {"productId": "CFQ7TTC0LH18", "skuId": "0001", "availabilityId": "CFQ7TTC0LCHD",
                            "billingCycle": "annual", "termDuration": "P1Y"}, "quantity": 2}


@pytest.fixture
def clocked(tmp_path):
    """A sandbox of the test's own: its clock moves, so no other test shares it."""
    started = Sandbox(tmp_path, "terms", SANDBOX_PROVISIONING_SECONDS=0)
    yield started
    started.stop()


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _bought(sandbox, quantity=5) -> str:
    customer = sandbox.customer()
    cart_id = sandbox.cart(customer["id"], quantity=quantity).json()["id"]
    order = sandbox.request("POST", f"/v1/customers/{customer['id']}/carts/{cart_id}/checkout").json()["orders"][0]
    path = f"/v1/customers/{customer['id']}/subscriptions/{order['lineItems'][0]['subscriptionId']}"
    wait_for(lambda: sandbox.request("GET", path).json()["status"] == "active", seconds=10, what="active")
    return path


def _advance(sandbox, seconds) -> dict:
    response = sandbox.request("POST", "/_sandbox/clock", {"advance_seconds": seconds}, auth=False, request_id=False)
    assert response.status == 200, response.body
    return response.json()


def _days_to_renewal(subscription) -> float:
    clock_now = dt.datetime.now(dt.UTC)
    return ((_when(subscription["commitmentEndDate"]) + dt.timedelta(days=1)) - clock_now).total_seconds() / DAY


def test_a_new_subscription_has_its_term_and_window(clocked):
    sandbox = clocked
    subscription = sandbox.request("GET", _bought(sandbox)).json()
    created = _when(subscription["creationDate"])
    start = _when(subscription["effectiveStartDate"])
    assert start == created.replace(hour=0, minute=0, second=0, microsecond=0)
    # P1Y: the commitment ends the day before the same date next year; renewal is when that day is over.
    assert _when(subscription["commitmentEndDate"]) == start.replace(year=start.year + 1) - dt.timedelta(days=1)
    # New Commerce: 168 hours after the purchase.
    assert _when(subscription["cancellationAllowedUntilDate"]) == created + dt.timedelta(hours=168)
    assert (subscription["autoRenewEnabled"], subscription["billingCycle"], subscription["termDuration"]) == (True, "monthly", "P1Y")
    assert subscription["scheduledNextTermInstructions"] is None
    assert subscription["refundableQuantity"]["totalQuantity"] == 5


def test_inside_the_window_reductions_cycle_term_and_cancellation_are_allowed(clocked):
    sandbox = clocked
    path = _bought(sandbox)
    assert sandbox.request("PATCH", path, {"quantity": 3}).json()["quantity"] == 3
    changed = sandbox.request("PATCH", path, {"billingCycle": "annual", "termDuration": "P1M"}).json()
    assert (changed["billingCycle"], changed["termDuration"]) == ("annual", "P1M")
    start = _when(changed["effectiveStartDate"])
    assert _when(changed["commitmentEndDate"]) == start.replace(month=start.month % 12 + 1, year=start.year + (start.month == 12)) - dt.timedelta(days=1)
    deleted = sandbox.request("PATCH", path, {"status": "deleted"}).json()
    assert (deleted["status"], deleted["autoRenewEnabled"]) == ("deleted", False)
    ended = sandbox.request("PATCH", path, {"quantity": 4})
    assert ended.status == 400 and ended.json()["code"] == 800113


def test_past_the_window_they_are_refused_with_a_code_and_description(clocked):
    sandbox = clocked
    path = _bought(sandbox)
    _advance(sandbox, 8 * DAY)
    for body, code in (({"quantity": 4}, 800110), ({"billingCycle": "annual"}, 800111), ({"termDuration": "P1M"}, 800111),
                       ({"status": "deleted"}, 800112)):
        refused = sandbox.request("PATCH", path, body)
        assert refused.status == 400, body
        assert refused.json()["code"] == code and "cancellation window" in refused.json()["description"]
    assert sandbox.request("GET", path).json()["refundableQuantity"]["totalQuantity"] == 0
    # An increase, the same billing cycle, and auto-renew are mid-term changes Partner Center allows.
    assert sandbox.request("PATCH", path, {"quantity": 7, "billingCycle": "monthly"}).json()["quantity"] == 7
    assert sandbox.request("PATCH", path, {"autoRenewEnabled": False}).json()["autoRenewEnabled"] is False


def test_a_mid_term_change_wipes_the_next_term_instructions(clocked):
    sandbox = clocked
    path = _bought(sandbox)
    _advance(sandbox, 8 * DAY)
    scheduled = sandbox.request("PATCH", path, {"scheduledNextTermInstructions": INSTRUCTIONS}).json()
    assert scheduled["scheduledNextTermInstructions"] == INSTRUCTIONS
    # Auto-renew is not a change of the term's goods: the instructions stay.
    kept = sandbox.request("PATCH", path, {"autoRenewEnabled": True}).json()
    assert kept["scheduledNextTermInstructions"] == INSTRUCTIONS
    wiped = sandbox.request("PATCH", path, {"quantity": 9}).json()
    assert wiped["quantity"] == 9 and wiped["scheduledNextTermInstructions"] is None
    [entry] = [s for s in sandbox.ledger()["subscriptions"] if path.endswith(s["id"])]
    assert entry["scheduled_next_term_instructions"] is None and entry["quantity"] == 9


def test_the_renewal_applies_the_instructions_then_clears_them(clocked):
    sandbox = clocked
    path = _bought(sandbox)
    before = sandbox.request("PATCH", path, {"scheduledNextTermInstructions": INSTRUCTIONS}).json()
    renewal = _when(before["commitmentEndDate"]) + dt.timedelta(days=1)
    _advance(sandbox, _days_to_renewal(before) * DAY - 60)  # a minute before the term's end: not yet
    assert sandbox.request("GET", path).json()["effectiveStartDate"] == before["effectiveStartDate"]
    clock = _advance(sandbox, 120)
    assert _when(clock["now"]) > renewal
    renewed = sandbox.request("GET", path).json()
    assert _when(renewed["effectiveStartDate"]) == renewal
    assert (renewed["quantity"], renewed["billingCycle"], renewed["termDuration"], renewed["offerId"]) == (
        2, "annual", "P1Y", "CFQ7TTC0LH18:0001:CFQ7TTC0LCHD"
    )
    assert renewed["scheduledNextTermInstructions"] is None and renewed["status"] == "active"
    # A new window of 168 hours from the renewal.
    assert _when(renewed["cancellationAllowedUntilDate"]) == renewal + dt.timedelta(hours=168)
    [entry] = [s for s in sandbox.ledger()["subscriptions"] if path.endswith(s["id"])]
    assert entry["effective_start_date"] == renewed["effectiveStartDate"] and entry["quantity"] == 2


def test_auto_renew_off_expires_at_term_end(clocked):
    sandbox = clocked
    path = _bought(sandbox)
    subscription = sandbox.request("PATCH", path, {"autoRenewEnabled": False}).json()
    _advance(sandbox, _days_to_renewal(subscription) * DAY + 60)
    expired = sandbox.request("GET", path).json()
    assert (expired["status"], expired["effectiveStartDate"]) == ("expired", subscription["effectiveStartDate"])
    assert sandbox.request("PATCH", path, {"autoRenewEnabled": True}).json()["code"] == 800113


def test_several_terms_at_once_renew_each(clocked):
    sandbox = clocked
    customer = sandbox.customer()
    cart = sandbox.request("POST", f"/v1/customers/{customer['id']}/carts", {"lineItems": [{
        "catalogItemId": "CFQ7TTC0LH18:0001:CFQ7TTC0LCHC", "quantity": 1, "billingCycle": "monthly", "termDuration": "P1M",
    }]}).json()
    order = sandbox.request("POST", f"/v1/customers/{customer['id']}/carts/{cart['id']}/checkout").json()["orders"][0]
    path = f"/v1/customers/{customer['id']}/subscriptions/{order['lineItems'][0]['subscriptionId']}"
    first = sandbox.request("GET", path).json()
    _advance(sandbox, 70 * DAY)
    later = sandbox.request("GET", path).json()
    assert (_when(later["effectiveStartDate"]) - _when(first["effectiveStartDate"])).days in (59, 60, 61, 62)


def test_the_clock_shows_its_now_refuses_bad_bodies_and_resets(clocked):
    sandbox = clocked
    shown = sandbox.request("GET", "/_sandbox/clock", auth=False, request_id=False).json()
    assert shown["offset_seconds"] == 0 and abs(_when(shown["now"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
    assert _advance(sandbox, 3600)["offset_seconds"] == 3600
    for bad in ({}, {"advance_seconds": -1}, {"advance_seconds": "60"}, {"advance_seconds": True}, {"reset": False},
                {"advance_seconds": 10**12}, [], {"other": 1}):
        response = sandbox.request("POST", "/_sandbox/clock", bad, auth=False, request_id=False)
        assert response.status == 400 and response.json()["description"], bad
    assert sandbox.request("POST", "/_sandbox/clock", b"{nope", auth=False, request_id=False).status == 400
    back = sandbox.request("POST", "/_sandbox/clock", {"reset": True}, auth=False, request_id=False).json()
    assert back["offset_seconds"] == 0


def test_the_clock_survives_a_restart(tmp_path):
    first = Sandbox(tmp_path, "kept")
    try:
        _advance(first, DAY)
    finally:
        assert first.stop()
    again = Sandbox(tmp_path, "kept")
    try:
        assert again.request("GET", "/_sandbox/clock", auth=False, request_id=False).json()["offset_seconds"] == DAY
    finally:
        assert again.stop()


def test_seeded_subscriptions_stand_where_the_seed_says(tmp_path):
    customer = {"id": "11111111-2222-4333-8444-555555555555", "domain": "seedterms.onmicrosoft.com", "companyName": "S"}
    subscriptions = [
        {"id": "aaaaaaaa-0000-4000-8000-000000000001", "customerId": customer["id"], "offerId": "ICP-BASIC",
         "friendlyName": "Basic", "quantity": 1, "billingCycle": "monthly", "termDuration": "P1Y", "renewsInDays": 3},
        {"id": "aaaaaaaa-0000-4000-8000-000000000002", "customerId": customer["id"], "offerId": "ICP-STANDARD",
         "quantity": 2, "billingCycle": "monthly", "termDuration": "P1Y", "startedDaysAgo": 2},
    ]
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"customers": [customer], "subscriptions": subscriptions}))
    sandbox = Sandbox(tmp_path, "seeded", SANDBOX_SEED=seed)
    try:
        base = f"/v1/customers/{customer['id']}/subscriptions"
        renewing = sandbox.request("GET", f"{base}/{subscriptions[0]['id']}").json()
        today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        assert _when(renewing["commitmentEndDate"]) + dt.timedelta(days=1) == today + dt.timedelta(days=3)
        assert renewing["refundableQuantity"]["totalQuantity"] == 0 and renewing["status"] == "active"
        fresh = sandbox.request("GET", f"{base}/{subscriptions[1]['id']}").json()
        closes = _when(fresh["cancellationAllowedUntilDate"])
        assert dt.timedelta(days=4, hours=23) < closes - dt.datetime.now(dt.UTC) < dt.timedelta(days=5, minutes=1)
        again = sandbox.request("POST", "/_sandbox/seed", auth=False, request_id=False).json()
        assert (again["subscriptions"], again["subscriptions_added"]) == (2, 0)
    finally:
        assert sandbox.stop()
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"customers": [customer], "subscriptions": [{**subscriptions[0], "startedDaysAgo": 1}]}))
    from tests.processes import Started  # noqa: F401 (the process helper the Sandbox uses)
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "sandbox", "--port", "0"], capture_output=True, text=True, timeout=30,
                            env={"SANDBOX_SEED": str(broken), "SANDBOX_DB": ":memory:", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and "subscription 1" in result.stderr
