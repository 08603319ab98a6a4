"""The sync of a subscription with Partner Center (orders.sync) against the real sandbox: its term as the vendor
holds it, and the changes Sent for its renewal verified (Applied after the renewal, Wiped by a mid-term change
made elsewhere, Failed when the renewal or the end came without them); the engine's round of due syncs."""

import datetime as dt
import uuid

import pytest

from catalog.integrations import get_integration
from catalog.integrations.partner_center import CartLineItem, Done
from catalog.models import VendorCall
from devtools.demo import BASIC
from imports.engine.term_sync import subscriptions_sync_due, syncs_due
from orders import sync as orders_sync
from orders.models import Subscription, SubscriptionChange
from orders.sync import CHANGE_WIPED, subscription_sync
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

DAY = 24 * 60 * 60
Status = SubscriptionChange.Status


@pytest.fixture
def clock(sandbox_clock):
    """The session sandbox's clock (tests/conftest.py), put back to the real time after the test."""
    return sandbox_clock


@pytest.fixture
def noticed(monkeypatch):
    """The changes handed to the notice providers (imports registers its email and webhook writer)."""
    seen = []
    monkeypatch.setattr(orders_sync, "_notice_providers", [lambda changes, now: seen.extend(changes)])
    return seen


def bought(vendor, demo, *, quantity=1) -> tuple[Subscription, str]:
    """A subscription placed at the sandbox and its portal twin: (subscription, its sandbox path)."""
    customer = vendor.customer()["id"]
    client = get_integration("microsoft").connector()
    cart = client.cart_create(customer, [CartLineItem("ICP-" + BASIC, quantity, "monthly", "P1Y")], request_id=str(uuid.uuid4()))
    assert isinstance(cart, Done), cart
    checkout = client.cart_checkout(customer, cart.result.id, request_id=str(uuid.uuid4()))
    assert isinstance(checkout, Done), checkout
    order = checkout.result.orders[0]
    subscription = SubscriptionFactory(
        company=demo.eritech, service=demo.service(BASIC), quantity=quantity, term="P1Y", billing_frequency="monthly",
        vendor_subscription_id=order.subscription_ids[0], vendor_order_id=order.id, vendor_status="pending",
        attributes={"tenant_id": customer},
    )
    return subscription, f"/v1/customers/{customer}/subscriptions/{order.subscription_ids[0]}"


def sent_change(subscription, **fields) -> SubscriptionChange:
    values = {"kind": SubscriptionChange.Kind.QUANTITY, "when": SubscriptionChange.When.RENEWAL,
              "due_at": subscription.term_end, "status": Status.SENT, "before": {"quantity": subscription.quantity}, **fields}
    return SubscriptionChange.objects.create(subscription=subscription, **values)


def test_the_sync_sets_the_term_as_the_vendor_holds_it(vendor, demo):
    subscription, path = bought(vendor, demo, quantity=3)
    result = subscription_sync(subscription.pk)
    assert result.ok and not result.renewed
    subscription.refresh_from_db()
    at_vendor = vendor.request("GET", path).json()
    start = dt.datetime.fromisoformat(at_vendor["effectiveStartDate"].replace("Z", "+00:00"))
    assert subscription.term_start == start
    assert subscription.term_end == start.replace(year=start.year + 1)  # the day after the commitment end date
    assert subscription.cancellation_window_ends_at == dt.datetime.fromisoformat(
        at_vendor["cancellationAllowedUntilDate"].replace("Z", "+00:00"))
    assert (subscription.quantity, subscription.auto_renew, subscription.vendor_status) == (3, True, "active")
    assert subscription.synced_at is not None and subscription.sync_claimed_until is None
    call = VendorCall.objects.get(operation="subscription_get")
    assert (call.company, call.outcome) == (demo.eritech, "done")


def test_instructions_still_held_keep_the_change_sent_and_a_mid_term_change_wipes_it(vendor, demo, noticed):
    subscription, path = bought(vendor, demo, quantity=5)
    subscription_sync(subscription.pk)
    subscription.refresh_from_db()
    change = sent_change(subscription, quantity=2)
    assert vendor.request("PATCH", path, {"scheduledNextTermInstructions": {"quantity": 2}}).status == 200
    assert subscription_sync(subscription.pk).moved == {}
    change.refresh_from_db()
    assert change.status == Status.SENT
    subscription.refresh_from_db()
    assert subscription.next_term_instructions == {"quantity": 2}

    # Someone raises the seats in Partner Center: Microsoft drops the next-term instructions.
    assert vendor.request("PATCH", path, {"quantity": 6}).json()["scheduledNextTermInstructions"] is None
    result = subscription_sync(subscription.pk)
    assert result.moved == {Status.WIPED: [change.pk]}
    change.refresh_from_db()
    assert change.status == Status.WIPED and "no longer holds this change" in str(CHANGE_WIPED)
    assert change.reason and [c.pk for c in noticed] == [change.pk]
    subscription.refresh_from_db()
    assert (subscription.quantity, subscription.next_term_instructions) == (6, {})


def test_the_renewal_with_the_change_applies_it(vendor, demo, clock, noticed):
    subscription, path = bought(vendor, demo, quantity=5)
    subscription_sync(subscription.pk)
    subscription.refresh_from_db()
    old_end = subscription.term_end
    change = sent_change(subscription, quantity=2)
    vendor.request("PATCH", path, {"scheduledNextTermInstructions": {"quantity": 2}})
    clock(366 * DAY + DAY)  # past the term's end: the sandbox renews on the next access
    result = subscription_sync(subscription.pk)
    assert result.renewed and result.moved == {Status.APPLIED: [change.pk]}
    change.refresh_from_db()
    subscription.refresh_from_db()
    assert (change.status, change.applied_at) == (Status.APPLIED, old_end)
    assert (subscription.term_start, subscription.quantity, subscription.next_term_instructions) == (old_end, 2, {})
    assert subscription.term_end == old_end.replace(year=old_end.year + 1)
    assert noticed == []


def test_a_renewal_without_the_change_fails_it_with_the_reason(vendor, demo, clock, noticed):
    subscription, _path = bought(vendor, demo, quantity=5)
    subscription_sync(subscription.pk)
    subscription.refresh_from_db()
    change = sent_change(subscription, quantity=2)  # never reached the vendor's instructions
    clock(366 * DAY + DAY)
    result = subscription_sync(subscription.pk)
    assert result.renewed and result.moved == {Status.FAILED: [change.pk]}
    change.refresh_from_db()
    assert change.status == Status.FAILED and "without this change" in change.reason
    assert [c.pk for c in noticed] == [change.pk]


def test_auto_renew_off_ends_it_and_a_cancel_at_term_end_is_applied(vendor, demo, clock):
    subscription, path = bought(vendor, demo)
    subscription_sync(subscription.pk)
    subscription.refresh_from_db()
    cancel = sent_change(subscription, kind=SubscriptionChange.Kind.CANCEL, before={})
    vendor.request("PATCH", path, {"autoRenewEnabled": False})
    assert subscription_sync(subscription.pk).moved == {}  # held: auto-renew is off at the vendor
    clock(366 * DAY + DAY)
    result = subscription_sync(subscription.pk)
    assert result.moved == {Status.APPLIED: [cancel.pk]}
    subscription.refresh_from_db()
    assert (subscription.vendor_status, subscription.status, subscription.auto_renew) == (
        "expired", Subscription.Status.TERMINATED, False
    )


def test_two_syncs_of_one_subscription_never_run_at_once(vendor, demo):
    subscription, _path = bought(vendor, demo)
    Subscription.objects.filter(pk=subscription.pk).update(
        sync_claimed_until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    assert subscription_sync(subscription.pk).status == "busy"
    assert not VendorCall.objects.filter(operation="subscription_get").exists()


def test_the_engine_round_syncs_what_renews_within_a_day(vendor, demo, clock):
    renewing, _ = bought(vendor, demo)
    later, _ = bought(vendor, demo)
    subscription_sync(renewing.pk)
    subscription_sync(later.pk)
    renewing.refresh_from_db()
    # Only this test's subscriptions are the vendor's (the demo's licences would be due too a year from now).
    Subscription.objects.exclude(pk__in=[renewing.pk, later.pk]).update(vendor_subscription_id="")
    now = renewing.term_end - dt.timedelta(hours=3)
    Subscription.objects.filter(pk=later.pk).update(term_end=now + dt.timedelta(days=20))
    assert list(syncs_due(now=now)) == [renewing]
    assert subscriptions_sync_due(now=now, threads=1) == {"asked": 1, "synced": 1, "renewed": 0, "changes": 0}
    assert not syncs_due(now=now).exists()  # synced within the day before its end: not again until it ends
    # Right after the end: due again, until the vendor shows the renewal.
    after = renewing.term_end + dt.timedelta(minutes=5)
    assert list(syncs_due(now=after)) == [Subscription.objects.get(pk=renewing.pk)]
    clock(366 * DAY + DAY)
    assert subscriptions_sync_due(now=after, threads=1)["renewed"] == 1
    assert not syncs_due(now=after).exists()


def test_the_demo_s_business_basic_syncs_with_the_sandbox_s_seed(vendor, demo):
    """The demo and the sandbox's seed hold ERITECH's Business Basic alike (same vendor id; its tenant is the
    company's): its sync finds it and takes the term the sandbox holds (other tests of the session may have
    moved the sandbox's clock, and renewed it, meanwhile: compared with the sandbox's own answer)."""
    from devtools.demo import ERITECH_TENANT_ID

    basic = Subscription.objects.get(account_id=493797)
    assert subscription_sync(basic.pk).ok
    basic.refresh_from_db()
    at_vendor = vendor.request("GET", f"/v1/customers/{ERITECH_TENANT_ID}/subscriptions/{basic.vendor_subscription_id}").json()
    start = dt.datetime.fromisoformat(at_vendor["effectiveStartDate"].replace("Z", "+00:00"))
    assert (basic.term_start, basic.term_end) == (start, start.replace(year=start.year + 1))
    assert (basic.quantity, basic.vendor_status) == (at_vendor["quantity"], at_vendor["status"])
    assert basic.synced_at is not None


def test_a_reduction_at_renewal_is_sent_then_applied_when_the_sandbox_renews(vendor, demo, clock):
    """Issue 27's walk through, engine and sync together: "quantity down to 2 at renewal" goes to the sandbox as
    next-term instructions (the change Sent), the sandbox renews the subscription at term end with them, and the
    sync then finds the renewal with the change: Applied, the new quantity and term here."""
    from imports.changes.services import change_schedule
    from tests.changes.helpers import basic_subscription, now_minute, spec

    from .engine_helpers import run_batch, send

    customer = vendor.customer()["id"]
    cart = vendor.cart(customer, quantity=5).json()
    checkout = vendor.request("POST", f"/v1/customers/{customer}/carts/{cart['id']}/checkout", {}).json()
    vendor_id = checkout["orders"][0]["lineItems"][0]["subscriptionId"]
    subscription = basic_subscription(demo, quantity=5, vendor_subscription_id=vendor_id, attributes={"tenant_id": customer})
    assert subscription_sync(subscription.pk).ok  # the vendor's term
    now = now_minute()
    scheduled = change_schedule(subscription_id=subscription.pk, user=demo.admin_abbie, now=now,
                                spec=spec(quantity=2, when=SubscriptionChange.When.RENEWAL))
    run_batch(now)
    assert send(now) == 1
    scheduled.change.refresh_from_db()
    assert scheduled.change.status == Status.SENT
    path = f"/v1/customers/{customer}/subscriptions/{vendor_id}"
    assert vendor.request("GET", path).json()["scheduledNextTermInstructions"]["quantity"] == 2

    assert subscription_sync(subscription.pk).moved == {}  # still held for the renewal
    clock(366 * DAY + DAY)
    result = subscription_sync(subscription.pk)
    assert result.renewed and result.moved == {Status.APPLIED: [scheduled.change.pk]}
    subscription.refresh_from_db()
    assert (subscription.quantity, subscription.next_term_instructions) == (2, {})
    assert vendor.request("GET", path).json()["quantity"] == 2


def test_a_sync_spends_one_request_of_the_tenants_budget_and_waits_without_calling_when_it_is_spent(
    vendor, demo, monkeypatch
):
    from catalog.integrations.budget import slot_cap, tenant_request_reserve
    from core.clock import db_now
    from core.stored_messages import rendered

    subscription, _path = bought(vendor, demo)
    customer = subscription.attributes["tenant_id"]
    now = db_now()
    monkeypatch.setattr(orders_sync, "db_now", lambda: now)
    while tenant_request_reserve("microsoft", customer, now=now, cap=slot_cap()) is None:
        pass  # the tenant's slot spent (by the senders, say)
    result = subscription_sync(subscription.pk)
    assert result.status == "trouble" and "is limiting our requests" in rendered(result.message)
    assert not VendorCall.objects.filter(operation="subscription_get").exists()


def test_our_own_quantity_change_mid_term_sends_the_renewal_changes_again(vendor, demo):
    """Partner Center wipes the next-term instructions on a mid-term change: after the portal's own "quantity up
    now", the renewal change it had Sent (here: the upgrade to Business Standard at renewal) is sent again at once, so the
    sync never finds it Wiped."""
    from imports.changes.services import change_schedule
    from tests.changes.helpers import STANDARD, basic_subscription, now_minute, spec

    from .engine_helpers import run_batch, send

    customer = vendor.customer()["id"]
    cart = vendor.cart(customer, quantity=5).json()
    checkout = vendor.request("POST", f"/v1/customers/{customer}/carts/{cart['id']}/checkout", {}).json()
    vendor_id = checkout["orders"][0]["lineItems"][0]["subscriptionId"]
    subscription = basic_subscription(demo, quantity=5, vendor_subscription_id=vendor_id, attributes={"tenant_id": customer})
    assert subscription_sync(subscription.pk).ok
    path = f"/v1/customers/{customer}/subscriptions/{vendor_id}"
    now = now_minute()
    upgrade = change_schedule(subscription_id=subscription.pk, user=demo.admin_abbie, now=now, spec=spec(
        kind=SubscriptionChange.Kind.UPGRADE, when=SubscriptionChange.When.RENEWAL, service=demo.service(STANDARD),
    )).change
    run_batch(now)
    assert send(now) == 1
    held = vendor.request("GET", path).json()["scheduledNextTermInstructions"]
    assert held

    change_schedule(subscription_id=subscription.pk, user=demo.admin_abbie, now=now, spec=spec(quantity=7))
    run_batch(now)
    assert send(now) == 1  # the PATCH of the quantity: the vendor wiped the instructions with it...
    run_batch(now)  # ...and the resend job it left, due now, sends them again
    assert send(now) == 1
    at_vendor = vendor.request("GET", path).json()
    # Held again, for the seats the subscription has now.
    assert (at_vendor["quantity"], at_vendor["scheduledNextTermInstructions"]) == (7, {**held, "quantity": 7})
    assert not subscription_sync(subscription.pk).moved  # nothing wiped
    upgrade.refresh_from_db()
    assert upgrade.status == Status.SENT
