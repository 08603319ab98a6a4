"""Reads on the catalog: a company's price list, its services, prices on a given day, terms."""

import datetime as dt

from django.db.models import QuerySet

from accounts.models import Company

from .billing import billing_type_key, billing_type_label
from .models import PriceList, PriceListItem, Service, TermsAcceptance

# Billing types are listed P1M, P1Y, P3Y (then by frequency), as in the manual.
_TERM_ORDER = {"P1M": 0, "P1Y": 1, "P3Y": 2}


def price_list_for(company: Company) -> PriceList | None:
    return PriceList.objects.filter(assignments__company=company).first()


def services_on_price_list(price_list: PriceList | None, *, active_only: bool = True) -> QuerySet[Service]:
    if price_list is None:
        return Service.objects.none()
    services = Service.objects.filter(price_items__price_list=price_list).distinct()
    if active_only:
        services = services.filter(active=True)
    return services.select_related("vendor", "category").prefetch_related("tags").order_by("name")


def price_item_on(
    *, price_list: PriceList, service: Service, frequency: str, term: str, day: dt.date
) -> PriceListItem | None:
    """The item in force on `day`: the latest one effective on or before it."""
    return (
        PriceListItem.objects.filter(
            price_list=price_list, service=service, billing_frequency=frequency, term=term, effective_from__lte=day
        )
        .order_by("-effective_from")
        .first()
    )


def price_items_on(*, price_list: PriceList, day: dt.date) -> list[PriceListItem]:
    """Every item in force on `day`, one per service and billing type."""
    items = (
        PriceListItem.objects.filter(price_list=price_list, effective_from__lte=day)
        .select_related("service")
        .order_by("service__name", "billing_frequency", "term", "-effective_from")
    )
    current: dict[tuple, PriceListItem] = {}
    for item in items:
        current.setdefault((item.service_id, item.billing_frequency, item.term), item)
    return list(current.values())


def billing_types_for(*, price_list: PriceList, service: Service, day: dt.date) -> list[tuple[str, str]]:
    """(key, label) of every billing type the price list sells the service with on `day`."""
    pairs = (
        PriceListItem.objects.filter(price_list=price_list, service=service, effective_from__lte=day)
        .values_list("billing_frequency", "term")
        .distinct()
    )
    return [
        (billing_type_key(freq, term), billing_type_label(freq, term))
        for freq, term in sorted(set(pairs), key=lambda p: (_TERM_ORDER.get(p[1], 9), p[0]))
    ]


def terms_accepted(*, price_list: PriceList, service: Service) -> bool:
    """True when the service has no terms, or its current terms were accepted for the price list."""
    if service.terms_id is None:
        return True
    return TermsAcceptance.objects.filter(price_list=price_list, service=service, terms_id=service.terms_id).exists()


def available_price_items_on(*, price_list: PriceList | None, day: dt.date) -> list[PriceListItem]:
    """AVAILABLE SERVICES of a company page: the items in force on `day` whose service is active,
    ordered by service name, then P1M / P1Y / P3Y."""
    if price_list is None:
        return []
    items = [item for item in price_items_on(price_list=price_list, day=day) if item.service.active]
    return sorted(items, key=lambda i: (i.service.name, _TERM_ORDER.get(i.term, 9), i.billing_frequency))
