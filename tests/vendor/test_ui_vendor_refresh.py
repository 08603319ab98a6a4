"""The periodic refresh of subscriptions whose vendor order was still pending (issue 25, point 7):
order_get on the vendor order through the connector, inside calls_for(company), bounded per run."""

import datetime as dt
import uuid

import pytest

from catalog.integrations import get_integration
from catalog.integrations.partner_center import Done, Order as VendorOrderResource, Refused
from catalog.models import VendorCall
from core.outbox import Budget
from devtools.demo import BASIC
from imports.engine import vendor_refresh
from imports.engine.dispatch import dispatch_housekeeping
from imports.engine.vendor_refresh import pending_vendor_subscriptions, vendor_subscriptions_refresh
from orders.models import Subscription
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db


def pending_subscription(demo, *, customer_id: str, order_id: str, **fields) -> Subscription:
    return SubscriptionFactory(
        company=demo.eritech, service=demo.service(BASIC), vendor_status="pending", vendor_order_id=order_id,
        attributes={"tenant_id": customer_id}, **fields,
    )


def placed_order(vendor) -> tuple[str, str]:
    """A customer and an order checked out at the sandbox (real HTTP): (customer id, order id)."""
    from catalog.integrations.partner_center import CartLineItem

    customer = vendor.customer()["id"]
    client = get_integration("microsoft").connector()
    cart = client.cart_create(customer, [CartLineItem("CFQ7TTC0LH18:0001:CFQ7TTC0LCHC", 1, "monthly", "P1Y")],
                              request_id=str(uuid.uuid4()))
    assert isinstance(cart, Done), cart
    checkout = client.cart_checkout(customer, cart.result.id, request_id=str(uuid.uuid4()))
    assert isinstance(checkout, Done), checkout
    return customer, checkout.result.orders[0].id


@pytest.fixture(autouse=True)
def _fresh_round():
    vendor_refresh._last_asked["id"] = 0


def test_a_completed_order_makes_the_subscription_active_through_the_sandbox(vendor, demo):
    customer, order_id = placed_order(vendor)
    subscription = pending_subscription(demo, customer_id=customer, order_id=order_id)
    assert vendor_subscriptions_refresh() == {"asked": 1, "moved": 1, "synced": 1}
    subscription.refresh_from_db()
    assert subscription.vendor_status == "active"
    assert subscription.vendor_subscription_id  # the order's subscription id, filled in
    # Then synced once: its term is the vendor's (the day it began, P1Y, the window 168 h after the purchase).
    assert subscription.synced_at is not None and subscription.term_start.time() == dt.time(0, 0)
    assert subscription.term_end == subscription.term_start.replace(year=subscription.term_start.year + 1)
    assert subscription.cancellation_window_ends_at - subscription.term_start <= dt.timedelta(days=8)
    call = VendorCall.objects.filter(operation="order_get").get()
    assert VendorCall.objects.filter(operation="subscription_get", company=demo.eritech).count() == 1
    assert (call.company, call.outcome, call.status_code) == (demo.eritech, "done", 200)
    assert not pending_vendor_subscriptions().exists()
    assert vendor_subscriptions_refresh() == {"asked": 0, "moved": 0, "synced": 0}  # nothing left to ask


def test_an_order_the_vendor_does_not_know_stays_pending(vendor, demo):
    customer = vendor.customer()["id"]
    subscription = pending_subscription(demo, customer_id=customer, order_id="no-such-order")
    assert vendor_subscriptions_refresh() == {"asked": 1, "moved": 0, "synced": 0}
    subscription.refresh_from_db()
    assert subscription.vendor_status == "pending"


class _Connector:
    """A stand-in connector: answers order_get from `statuses` and records what it was asked."""

    def __init__(self, statuses):
        self.statuses, self.asked = statuses, []

    def order_get(self, customer_id, order_id, **_):
        self.asked.append(order_id)
        status = self.statuses.get(order_id)
        if status is None:
            return Refused(code="800001", description="unknown", status=404)
        return Done(VendorOrderResource(id=order_id, status=status))


@pytest.fixture
def connector(monkeypatch, settings):
    settings.MICROSOFT_ENABLED = True
    stand_in = _Connector({})
    monkeypatch.setattr(type(get_integration("microsoft")), "connector", lambda self: stand_in)
    return stand_in


def test_each_run_is_bounded_and_goes_round_so_a_stuck_order_starves_none(demo, connector):
    subscriptions = [pending_subscription(demo, customer_id="c", order_id=f"ord-{n}") for n in range(5)]
    connector.statuses = {f"ord-{n}": "pending" for n in range(5)}
    assert vendor_subscriptions_refresh(limit=2) == {"asked": 2, "moved": 0, "synced": 0}
    assert vendor_subscriptions_refresh(limit=2) == {"asked": 2, "moved": 0, "synced": 0}
    assert connector.asked == ["ord-0", "ord-1", "ord-2", "ord-3"]
    connector.statuses["ord-0"] = "completed"
    connector.statuses["ord-1"] = "cancelled"
    assert vendor_subscriptions_refresh(limit=3) == {"asked": 3, "moved": 2, "synced": 0}  # ord-4, then round to ord-0, ord-1
    statuses = dict(Subscription.objects.filter(pk__in=[s.pk for s in subscriptions]).values_list("vendor_order_id", "vendor_status"))
    assert statuses == {"ord-0": "active", "ord-1": "cancelled", "ord-2": "pending", "ord-3": "pending", "ord-4": "pending"}


def test_a_spent_budget_stops_the_run(demo, connector):
    pending_subscription(demo, customer_id="c", order_id="ord-a")
    spent = Budget(0)
    assert vendor_subscriptions_refresh(budget=spent) == {"asked": 0, "moved": 0, "synced": 0}
    assert connector.asked == []


def test_microsoft_off_asks_nothing(demo, settings):
    settings.MICROSOFT_ENABLED = False
    pending_subscription(demo, customer_id="c", order_id="ord-a")
    assert vendor_subscriptions_refresh() == {"asked": 0, "moved": 0, "synced": 0}


def test_housekeeping_enqueues_a_refresh_on_the_outbox_lane_only_when_one_is_pending(demo, monkeypatch):
    enqueued = []
    monkeypatch.setattr(vendor_refresh, "lane_waiting", lambda lane: 0)
    monkeypatch.setattr(vendor_refresh, "lane_enqueue", lambda lane, func, **kwargs: enqueued.append((lane, func)))
    dispatch_housekeeping()
    assert enqueued == []
    pending_subscription(demo, customer_id="c", order_id="ord-a")
    dispatch_housekeeping()
    assert enqueued == [("outbox", "imports.tasks.vendor_subscriptions_refresh_task")]
    # A busy lane is not buried under more refreshes.
    monkeypatch.setattr(vendor_refresh, "lane_waiting", lambda lane: 99)
    dispatch_housekeeping()
    assert len(enqueued) == 1


def test_the_refresh_spends_the_tenants_request_budget_and_asks_nothing_while_the_vendor_is_down(
    vendor, demo, settings, monkeypatch
):
    from catalog.integrations.budget import slot_cap, tenant_request_reserve
    from catalog.integrations.circuit import circuit_answered, circuit_failed
    from core.clock import db_now

    customer, order_id = placed_order(vendor)
    pending_subscription(demo, customer_id=customer, order_id=order_id)
    settings.VENDOR_CIRCUIT_FAILURES = 1
    circuit_failed("microsoft", now=db_now())
    assert vendor_subscriptions_refresh()["asked"] == 0
    circuit_answered("microsoft", now=db_now())
    # The tenant's slot is spent (by the senders, say): not asked now, asked on a later run.
    now = db_now()
    monkeypatch.setattr(vendor_refresh, "db_now", lambda: now)
    while tenant_request_reserve("microsoft", customer, now=now, cap=slot_cap()) is None:
        pass
    assert vendor_subscriptions_refresh()["asked"] == 0
    assert not VendorCall.objects.filter(operation="order_get").exists()
