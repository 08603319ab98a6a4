"""The periodic refresh of subscriptions the vendor has not finished provisioning (issue 25).

Partner Center answers a checkout with an order that is "pending" for a while before its subscriptions
are active (the sandbox: SANDBOX_PROVISIONING_SECONDS). The engine records the subscription as soon as
the order exists, with Subscription.vendor_status "pending"; this refresh asks the vendor about those
orders later (GET /v1/customers/{customer-id}/orders/{order-id}, the connector's order_get) and, once the
order is completed, moves the subscription to the vendor's "active" (a cancelled order: "cancelled").

Small and bounded: each run asks about at most VENDOR_REFRESH_LIMIT subscriptions, going round them
by id from where the previous run of this process stopped (so an order the vendor keeps pending never
starves the others; a restart starts again from the first), and stops when its time budget is spent. It runs as a task of the outbox lane (core.lanes: where calls to the outside world
wait, never a worker a due job needs), enqueued by the engine's housekeeping pass
(imports.engine.plugins) when there is something to refresh and the lane is not already busy. Each
call is outside any transaction and attached to the subscription's company (calls_for), so it shows on
the PROVISIONING tab; each answer is recorded by its own conditional UPDATE (from "pending" only).
A subscription that became active is then synced once (orders.sync: one GET of the subscription), so its
term, cancellation window and auto-renew are the vendor's from the start.
"""

import datetime as dt
import logging
import time

from django.db.models import QuerySet

from catalog.integrations import get_integration
from catalog.integrations.budget import tenant_request_reserve
from catalog.integrations.calls import calls_for
from catalog.integrations.circuit import circuit_state
from catalog.integrations.microsoft import TENANT_ATTRIBUTE
from catalog.integrations.partner_center import Done
from core.clock import db_now
from core.lanes import OUTBOX, lane_enqueue, lane_waiting
from core.outbox import Budget
from orders.models import Subscription
from orders.sync import subscription_sync

from imports.engine.config import engine_config

logger = logging.getLogger(__name__)

VENDOR_REFRESH_LIMIT = 20
REFRESH_TASK = "imports.tasks.vendor_subscriptions_refresh_task"
PENDING = "pending"
# The vendor's order status → the subscription's vendor_status once the order is no longer pending.
FINAL_ORDER_STATUSES = {"completed": "active", "cancelled": "cancelled"}


def pending_vendor_subscriptions() -> QuerySet[Subscription]:
    """Subscriptions whose vendor order was still pending when last seen, oldest first."""
    return (
        Subscription.objects.filter(vendor_status=PENDING)
        .exclude(vendor_order_id="")
        .select_related("service__vendor", "company")
        .order_by("id")
    )


def _customer_id(subscription: Subscription) -> str:
    """The vendor customer the order was placed for: the tenant the order named, or the tenant the
    subscription created."""
    order = subscription.order
    config = (order.vendor_config if order else None) or {}
    return str(config.get("microsoft_tenant_id") or (subscription.attributes or {}).get(TENANT_ATTRIBUTE) or "")


# The id of the last subscription this process asked about (the round's position).
_last_asked = {"id": 0}


def _next_round(limit: int) -> list[Subscription]:
    pending = pending_vendor_subscriptions().select_related("order")
    after = list(pending.filter(id__gt=_last_asked["id"])[:limit])
    if len(after) < limit:
        after += [s for s in pending.filter(id__lte=_last_asked["id"])[: limit - len(after)]]
    return after


def vendor_subscriptions_refresh(*, limit: int = VENDOR_REFRESH_LIMIT, budget: Budget | None = None) -> dict[str, int]:
    """Ask the vendor about up to `limit` pending subscriptions; returns how many were asked and moved."""
    budget = budget or Budget(engine_config().outbox_budget_seconds)
    asked = moved = synced = 0
    for subscription in _next_round(limit):
        if budget.spent():
            break
        integration = get_integration(subscription.service.vendor.integration)
        connector = integration.connector() if integration else None
        customer_id = _customer_id(subscription)
        if connector is None or not customer_id:
            continue
        # An order is a resource Microsoft counts against the tenant: the tenant's request budget
        # (catalog.integrations.budget) first, and nothing while the vendor is marked down; asked on a later run.
        circuit = circuit_state(integration.key)
        if circuit is not None and circuit.opened_at is not None:
            break
        if tenant_request_reserve(integration.key, customer_id, now=db_now()) is not None:
            continue
        with calls_for(subscription.company_id):
            outcome = connector.order_get(customer_id, subscription.vendor_order_id)
        asked += 1
        _last_asked["id"] = subscription.pk
        if not isinstance(outcome, Done):
            continue  # refused, transient or no answer: asked again on a later run
        status = FINAL_ORDER_STATUSES.get(outcome.result.status)
        if status is None:
            continue
        fields = {"vendor_status": status}
        if not subscription.vendor_subscription_id and outcome.result.subscription_ids:
            fields["vendor_subscription_id"] = outcome.result.subscription_ids[0]
        if Subscription.objects.filter(pk=subscription.pk, vendor_status=PENDING).update(**fields):
            moved += 1
            if status == "active" and not budget.spent():
                # Its term as the vendor holds it (dates, window, auto-renew), instead of the run's estimate:
                # one GET of the subscription (orders.sync); when the budget is spent, the pre-renewal sync does it.
                synced += subscription_sync(subscription.pk).ok
    return {"asked": asked, "moved": moved, "synced": synced}


def vendor_refresh_enqueue(*, now: dt.datetime) -> bool:
    """Housekeeping (imports.engine.plugins): a refresh task on the outbox lane when a subscription
    waits for its vendor order and the lane has room. A read, then at most one enqueue."""
    if not pending_vendor_subscriptions().exists():
        return False
    if lane_waiting(OUTBOX) >= engine_config().outbox_workers:
        return False
    lane_enqueue(OUTBOX, REFRESH_TASK, task_name=f"vendor subscriptions refresh {time.time():.0f}")
    return True
