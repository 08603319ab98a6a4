"""Building the subscription an order provisions, priced on the creation day.

Called by the worker (imports) after the due-time checks of orders.validation have passed, with
the same OrderFacts, so the price and the vendor's attributes come from what was just checked.
"""

import datetime as dt

from catalog.integrations import get_integration

from .facts import OrderFacts
from .models import Order, Subscription
from .terms import term_fields
from .validation import no_price_on_day


def subscription_build(
    *, order: Order, facts: OrderFacts, account_id: int, provisioning_key: str, started_at: dt.datetime | None = None
) -> Subscription | str:
    """The order's subscription, not yet saved, and recorded in `facts` so later orders of the batch
    see it; or the reason it cannot be built. Its term begins at `started_at` (the run's time): the term
    of a subscription the vendor provisions is then replaced by the vendor's own at its first sync
    (orders.sync, right after the vendor's order completes: imports.engine.vendor_refresh)."""
    item = facts.price_item(order)
    if item is None:  # the checks have just found one; unreachable unless the data is inconsistent
        return no_price_on_day(order, facts.day)
    integration = get_integration(order.service.vendor.integration)
    attributes = integration.subscription_attributes(facts.integration_context(order))
    subscription = Subscription(
        company=order.company,
        service=order.service,
        order=order,
        name=integration.subscription_display_name(order.subscription_name or order.service.name, attributes),
        account_id=account_id,
        quantity=order.quantity,
        term=order.term,
        billing_frequency=order.billing_frequency,
        unit_cost=item.cost,
        unit_price=item.selling_price,
        currency=item.currency,
        attributes=attributes,
        tenant_domain=facts.requested_domain(order),
        provisioning_key=provisioning_key,
        **(term_fields(started_at, order.term) if started_at else {}),
    )
    # The foreign keys are the validated order's own rows, and uniqueness (account id,
    # provisioning key) is enforced by the INSERT itself: checking them first would add three
    # queries per subscription and still race.
    subscription.full_clean(exclude=["company", "service", "order"], validate_unique=False, validate_constraints=False)
    facts.hold(subscription)
    return subscription


# --- The subscription a vendor order will create, kept as JSON until the vendor is done ----------------

# Not part of the snapshot: the row's own id and what the database sets when it is saved.
_NOT_SNAPSHOT = {"id", "created_at"}


def subscription_snapshot(subscription: Subscription) -> dict:
    """`subscription` (unsaved, from subscription_build) as JSON: each concrete field by its column
    name, decimals and dates as strings, so subscription_from_snapshot rebuilds it exactly (the price of
    the creation day is never read again)."""
    snapshot = {}
    for field in Subscription._meta.concrete_fields:
        if field.name in _NOT_SNAPSHOT:
            continue
        value = getattr(subscription, field.attname)
        snapshot[field.attname] = value if value is None or isinstance(value, (bool, int, str, dict, list)) else str(value)
    return snapshot


def subscription_from_snapshot(snapshot: dict, **fields) -> Subscription:
    """The unsaved Subscription a snapshot describes, with `fields` set over it (the vendor's ids)."""
    values = {}
    for field in Subscription._meta.concrete_fields:
        if field.attname in snapshot:
            values[field.attname] = field.to_python(snapshot[field.attname])
    values.update(fields)
    return Subscription(**values)
