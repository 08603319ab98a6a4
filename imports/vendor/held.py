"""Open vendor orders count as held (orders.facts.held_elsewhere_register, registered by
imports.apps): while a subscription is with the vendor, a second order of a once-per-account service
for the same company, or of the same new tenant domain, is refused, by the wizard's pre-check and by
the worker alike."""

from django.db.models import Q

from catalog.integrations.base import get_integration, registered_keys
from core.outbox import OutboxItem
from orders.facts import HeldElsewhere, held_elsewhere_register

from imports.models import VendorOrder


def vendor_orders_held(company_ids: set[int], domains: set[str]) -> list[HeldElsewhere]:
    """What the open vendor orders of these companies, or claiming these domains, will create.

    Vendor orders exist only while a vendor has a connector (Microsoft with MICROSOFT_ENABLED): without
    one, no query, so the local path reads exactly what it read before vendor orders existed."""
    for key in registered_keys():
        if get_integration(key).connector() is not None:
            break
    else:
        return []
    where = Q(company_id__in=company_ids)
    if domains:
        where |= Q(subscription__tenant_domain__in=sorted(domains))
    open_orders = VendorOrder.objects.filter(where, status=OutboxItem.Status.PENDING, outcome=VendorOrder.Outcome.OPEN)
    return [
        HeldElsewhere(company_id=company_id, service_id=int(service_id), domain=domain or None)
        for company_id, service_id, domain in open_orders.values_list(
            "company_id", "subscription__service_id", "subscription__tenant_domain"
        )
        if service_id is not None
    ]


def register() -> None:
    held_elsewhere_register("imports.vendor_orders", vendor_orders_held)
