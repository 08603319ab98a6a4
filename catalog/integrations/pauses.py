"""Pausing a customer tenant for every sender after the vendor's rate limit (catalog.models.VendorTenantPause).

Partner Center limits each customer tenant's subscription requests (500 a minute) and answers 429 with
Retry-After past it. One order meeting that limit pauses its tenant for every worker: the tenant's other
orders wait for the pause to end without calling, so a burst on one tenant does not keep hitting the limit.
Both moves are single statements, safe under concurrent senders; a pause only ever grows.
"""

import datetime as dt

from django.db import IntegrityError, transaction

from catalog.models import VendorTenantPause


def tenant_paused_until(integration: str, customer_id: str, *, now: dt.datetime) -> dt.datetime | None:
    """The end of the tenant's pause, when it is paused at `now`."""
    if not customer_id:
        return None
    return (
        VendorTenantPause.objects.filter(integration=integration, customer_id=customer_id, until__gt=now)
        .values_list("until", flat=True)
        .first()
    )


def tenant_pause(integration: str, customer_id: str, *, until: dt.datetime) -> None:
    """Pause the tenant until `until` (or keep its longer pause)."""
    if not customer_id:
        return
    pauses = VendorTenantPause.objects.filter(integration=integration, customer_id=customer_id)
    if pauses.filter(until__lt=until).update(until=until) or pauses.exists():
        return
    try:
        with transaction.atomic():
            VendorTenantPause.objects.create(integration=integration, customer_id=customer_id, until=until)
    except IntegrityError:  # created meanwhile by another sender: keep the later end
        pauses.filter(until__lt=until).update(until=until)


def tenants_paused_until(integration: str, customer_ids, *, now: dt.datetime) -> dict[str, dt.datetime]:
    """tenant_paused_until for many tenants at once (a sender's chunk): customer id → its pause's end,
    for those paused at `now`."""
    ids = {customer_id for customer_id in customer_ids if customer_id}
    if not ids:
        return {}
    return dict(
        VendorTenantPause.objects.filter(integration=integration, customer_id__in=ids, until__gt=now)
        .values_list("customer_id", "until")
    )
