"""What running a change does: its one vendor call (the PATCH's fields) and what it then changes here.

A plan is plain JSON, made by the batch at the due time (after the rules passed) and, when the vendor
applies it, stored on the VendorOrder (its `subscription` field), so every retry sends the very same
PATCH with the same MS-RequestId, and the answer is recorded the same way whichever sender gets it:

    {"change": 12 | None, "subscription": 34, "status": "applied" | "sent" | "",
     "patch": {"quantity": 3} | {"auto_renew_enabled": false} | {"status": "deleted"}
              | {"scheduled_next_term_instructions": {...}} | {"billing_cycle": ...} ...,
     "local": {"quantity": 3, ...}}

Kinds and Partner Center (issue 27): quantity → PATCH quantity; auto-renew → autoRenewEnabled; cancel at
term end → autoRenewEnabled false; cancel now (inside the window) → status "deleted"; the renewal kinds
(quantity, billing cycle, term, upgrade) → scheduledNextTermInstructions, the merge of every open renewal
change of the subscription at send time; inside the window those kinds "at" a time apply at once
(quantity, billingCycle, termDuration, offerId).
"""

from catalog.integrations import get_integration
from catalog.integrations.microsoft import TENANT_ATTRIBUTE
from catalog.integrations.microsoft_orders import BILLING_CYCLES, TERM_DURATIONS, catalog_item_id
from orders.facts import OrderFacts
from orders.changes.rules import ChangeSpec, standing_order
from orders.models import Subscription, SubscriptionChange

Kind = SubscriptionChange.Kind
When = SubscriptionChange.When
ChangeStatus = SubscriptionChange.Status
# A cancellation now, as Partner Center takes it (PATCH status).
CANCEL_NOW_STATUS = "deleted"


def customer_id(subscription: Subscription) -> str:
    """The vendor customer (Microsoft tenant) the subscription belongs to: the tenant its order named, or
    the one it created (as imports.engine.vendor_refresh asks about it)."""
    config = subscription.order.vendor_config if subscription.order_id and subscription.order else {}
    return str(config.get("microsoft_tenant_id") or (subscription.attributes or {}).get(TENANT_ATTRIBUTE) or "").strip().lower()


def goes_to_vendor(subscription: Subscription) -> bool:
    """Whether the change is the vendor's to apply: the vendor holds the subscription (its id) and its
    integration has a connector (Microsoft while MICROSOFT_ENABLED). Otherwise it applies here."""
    return bool(subscription.vendor_subscription_id) and get_integration(subscription.service.vendor.integration).connector() is not None


def _product(service) -> dict:
    item = catalog_item_id(service)
    parts = item.split(":")
    if len(parts) == 3:
        return {"product": {"productId": parts[0], "skuId": parts[1], "availabilityId": parts[2]}}
    return {"catalogItemId": item}


def next_term_instructions(subscription: Subscription, changes) -> dict:
    """Partner Center's scheduledNextTermInstructions: the merge of `changes` (open renewal changes of the
    subscription, cancellations aside) over what the subscription has now; {} when there is none."""
    changes = [change for change in changes if change.when == When.RENEWAL and change.kind != Kind.CANCEL]
    if not changes:
        return {}
    service, quantity = subscription.service, subscription.quantity
    cycle, term = subscription.billing_frequency, subscription.term
    for change in changes:
        if change.kind == Kind.QUANTITY:
            quantity = change.quantity
        elif change.kind == Kind.BILLING_CYCLE:
            cycle = change.billing_frequency
        elif change.kind == Kind.TERM:
            term = change.term
        elif change.kind == Kind.UPGRADE:
            service = change.service
    return {
        **_product(service), "quantity": quantity,
        "billingCycle": BILLING_CYCLES.get(cycle, cycle), "termDuration": TERM_DURATIONS.get(term, term),
    }


def _open_renewal_changes(subscription: Subscription, *, including: SubscriptionChange | None = None) -> list:
    changes = list(
        SubscriptionChange.objects.filter(
            subscription=subscription, when=When.RENEWAL, status__in=SubscriptionChange.OPEN_STATUSES
        ).select_related("service").order_by("kind")
    )
    if including is not None and all(change.pk != including.pk for change in changes):
        changes.append(including)
    return changes


def _prices(subscription: Subscription, change: SubscriptionChange, facts: OrderFacts | None) -> dict:
    """The price list's prices of the day for what an upgrade, cycle or term change makes of the
    subscription (applied at once): the price of the day it applies, not of the day it was scheduled."""
    if facts is None:
        return {}
    item = facts.price_item(standing_order(subscription, ChangeSpec.of(change)))
    if item is None:
        return {}
    return {"unit_cost": str(item.cost), "unit_price": str(item.selling_price), "currency": item.currency}


def plan_for(subscription: Subscription, change: SubscriptionChange, *, facts: OrderFacts | None = None) -> dict:
    """The plan of a pending change whose rules passed at the due time."""
    plan = {"change": change.pk, "subscription": subscription.pk, "status": ChangeStatus.APPLIED}
    kind = change.kind
    if change.when == When.RENEWAL:
        plan["status"] = ChangeStatus.SENT
        if kind == Kind.CANCEL:
            return {**plan, "patch": {"auto_renew_enabled": False}, "local": {"auto_renew": False}}
        instructions = next_term_instructions(subscription, _open_renewal_changes(subscription, including=change))
        return {**plan, "patch": {"scheduled_next_term_instructions": instructions}, "local": {"next_term_instructions": instructions}}
    if kind == Kind.QUANTITY:
        return {**plan, "patch": {"quantity": change.quantity}, "local": {"quantity": change.quantity}}
    if kind == Kind.AUTO_RENEW:
        return {**plan, "patch": {"auto_renew_enabled": change.auto_renew}, "local": {"auto_renew": change.auto_renew}}
    if kind == Kind.CANCEL:
        return {
            **plan, "patch": {"status": CANCEL_NOW_STATUS},
            "local": {"status": Subscription.Status.TERMINATED, "auto_renew": False},
        }
    prices = _prices(subscription, change, facts)
    if kind == Kind.BILLING_CYCLE:
        cycle = change.billing_frequency
        return {**plan, "patch": {"billing_cycle": BILLING_CYCLES.get(cycle, cycle)}, "local": {"billing_frequency": cycle, **prices}}
    if kind == Kind.TERM:
        return {**plan, "patch": {"term_duration": TERM_DURATIONS.get(change.term, change.term)}, "local": {"term": change.term, **prices}}
    # An upgrade inside the window: the new product at once.
    return {
        **plan, "patch": {"offer_id": catalog_item_id(change.service)},
        "local": {"service_id": change.service_id, "name": change.service.name, **prices},
    }


def resend_plan(subscription: Subscription, kind: str) -> dict:
    """The plan of a resend job: after a change the vendor held for the renewal was cancelled (or
    replaced), what remains: auto-renew back on (a cancellation at term end), or the merged
    instructions of the open renewal changes ({} when none is left)."""
    plan = {"change": None, "subscription": subscription.pk, "status": ""}
    if kind == Kind.CANCEL:
        return {**plan, "patch": {"auto_renew_enabled": True}, "local": {"auto_renew": True}}
    instructions = next_term_instructions(subscription, _open_renewal_changes(subscription))
    return {**plan, "patch": {"scheduled_next_term_instructions": instructions}, "local": {"next_term_instructions": instructions}}
