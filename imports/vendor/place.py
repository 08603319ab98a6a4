"""Placing one vendor order (place): the calls of one try in order (the due time's vendor checks, once;
the new customer, or the cart and its checkout), outside any transaction, stopping at the first that is not
done; what an answer that is not done means (not_done: refused, or trouble; a 429 pauses the tenant for every
sender); the tenant's request reserved before each cart call. Its only writes go through the Recorder. Above
the recorder (send → place → recorder → finish): of imports.vendor it imports recorder, outcomes and pacing,
never send or finish."""

import datetime as dt

from catalog.integrations import VendorWait, get_integration
from catalog.integrations.base import VendorProvisioning
from catalog.integrations.partner_center import Done, Refused, Transient, Unknown
from core.datetimes import utc_text
from core.stored_messages import stored
from orders.facts import OrderFacts
from orders.validation import order_vendor_problems

from imports.models import VendorOrder
from imports.vendor.outcomes import (
    VENDOR_BUDGET_WAIT,
    VENDOR_NO_ANSWER,
    VENDOR_NOT_CONNECTED,
    VENDOR_RATE_LIMITED,
    VENDOR_TENANT_PAUSED,
    VENDOR_TROUBLE,
    Placed,
    Refusal,
    Trouble,
    vendor_name,
)
from imports.vendor.pacing import BUDGET_SPREAD_SECONDS, Wait
from imports.vendor.recorder import Recorder


def _outcome_of(answer, vendor: str) -> Refusal | Trouble:
    if isinstance(answer, Refused):
        return Refusal([answer.reason])
    if isinstance(answer, Unknown):
        return Trouble(stored(VENDOR_NO_ANSWER, vendor=vendor, detail=answer.reason))
    if isinstance(answer, Transient):
        message = VENDOR_RATE_LIMITED if answer.status == 429 else VENDOR_TROUBLE
        return Trouble(stored(message, vendor=vendor, detail=answer.reason), answer.retry_after)
    return Trouble(stored(VENDOR_TROUBLE, vendor=vendor, detail=f"unexpected answer {type(answer).__name__}"))


def not_done(vendor_order: VendorOrder, answer, vendor: str, *, now: dt.datetime, recorder: Recorder) -> Refusal | Trouble:
    """What a call that was not done means for the order; a 429 also pauses its tenant for every sender
    until the vendor's Retry-After (catalog.integrations.pauses)."""
    if isinstance(answer, Transient) and answer.status == 429 and answer.retry_after:
        recorder.pause(vendor_order, now + dt.timedelta(seconds=answer.retry_after))
    return _outcome_of(answer, vendor)


def _budget_wait(vendor_order: VendorOrder, vendor: str, recorder: Recorder) -> Wait | None:
    """Reserve the tenant's request for the call about to be made (catalog.integrations.budget): no budget
    left, the order waits for the next slot, spread over it, without calling."""
    until = recorder.reserve(vendor_order, 1)
    if until is None:
        return None
    return Wait(stored(VENDOR_BUDGET_WAIT, vendor=vendor, until=utc_text(until)), until, spread_seconds=BUDGET_SPREAD_SECONDS)


def place(vendor_order: VendorOrder, *, facts: OrderFacts | None, now: dt.datetime, recorder: Recorder) -> Placed | Refusal | Trouble | Wait:
    """The calls of one try, in order; stops at the first that is not done. Its only writes go through
    `recorder` (the cart id, at once; the checks passed)."""
    order, vendor = vendor_order.row.order, vendor_name(vendor_order)
    integration = get_integration(vendor_order.integration)
    client, provisioning = integration.connector(), integration.provisioning()
    if client is None or provisioning is None:
        return Trouble(stored(VENDOR_NOT_CONNECTED, vendor=vendor))
    paused = recorder.paused_until(vendor_order)
    if paused is not None and paused > now:  # another order met the tenant's limit: wait with it, without calling
        return Trouble(stored(VENDOR_TENANT_PAUSED, vendor=vendor, until=utc_text(paused)), (paused - now).total_seconds())
    if vendor_order.checked_at is None:
        problems = order_vendor_problems(order, facts)
        if isinstance(problems, VendorWait):
            return Trouble(problems.reason, problems.retry_after)
        if problems:
            return Refusal(list(problems))
        recorder.check_passed(vendor_order)
    ids = {"request_id": str(vendor_order.create_request_id), "correlation_id": str(vendor_order.correlation_id)}
    if vendor_order.operation == VendorProvisioning.CUSTOMER:
        domain = vendor_order.subscription.get("tenant_domain") or ""
        answer = client.customer_create(provisioning.new_customer(order, domain), **ids)
        if not isinstance(answer, Done):
            return not_done(vendor_order, answer, vendor, now=now, recorder=recorder)
        # The new tenant's id is the vendor's customer id (instead of the random id of local provisioning).
        return Placed(customer_id=answer.result.id, vendor_status="active", attributes={"tenant_id": answer.result.id})
    if not vendor_order.cart_id:
        if wait := _budget_wait(vendor_order, vendor, recorder):
            return wait
        answer = client.cart_create(vendor_order.customer_id, provisioning.cart_line_items(order), **ids)
        if not isinstance(answer, Done):
            return not_done(vendor_order, answer, vendor, now=now, recorder=recorder)
        # Recorded at once: a sender killed after this checks out this cart, never a second one.
        vendor_order.cart_id = recorder.cart_record(vendor_order, answer.result.id)
    if wait := _budget_wait(vendor_order, vendor, recorder):
        return wait
    answer = client.cart_checkout(
        vendor_order.customer_id, vendor_order.cart_id,
        request_id=str(vendor_order.checkout_request_id), correlation_id=str(vendor_order.correlation_id),
    )
    if not isinstance(answer, Done):
        return not_done(vendor_order, answer, vendor, now=now, recorder=recorder)
    placed = answer.result.orders[0]
    subscriptions = placed.subscription_ids
    return Placed(
        vendor_order_id=placed.id, vendor_subscription_id=subscriptions[0] if subscriptions else "", vendor_status=placed.status,
    )
