"""Reads on the catalog: which price list a company buys from, what it offers, the price in force
on a day, and whether terms were accepted.

Each rule is written once, batch-native, in PriceBook: the wizard asks it for one company and one
service, the worker for the companies and services of a whole batch of due jobs (three queries
either way). "The price on a day" is items_in_force, which the company page's list uses too.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import QuerySet

from accounts.models import Company

from .billing import billing_type_key, billing_type_label
from .models import PriceList, PriceListAssignment, PriceListItem, Service, TermsAcceptance

# Billing types are listed P1M, P1Y, P3Y (then by frequency), as in the manual.
_TERM_ORDER = {"P1M": 0, "P1Y": 1, "P3Y": 2}

PriceKey = tuple[int, int, str, str]  # (price list, service, billing frequency, term)


def _billing_type_sort_key(frequency: str, term: str) -> tuple[int, str]:
    return _TERM_ORDER.get(term, 9), frequency


@dataclass
class PriceBook:
    """What some companies' price lists say about some services on one day.

    - the item **in force** on the day is the latest one effective on or before it, per price list,
      service and billing type;
    - a service is **priced** on a list when the list has any item for it (even a future one);
    - a service is **offered** when it is active and priced;
    - terms are **accepted** when the service has none, or its current version was accepted for the
      whole price list.
    """

    day: dt.date
    price_lists: dict[int, PriceList]  # company id → its price list
    in_force: dict[PriceKey, PriceListItem] = field(default_factory=dict)
    priced: set[tuple[int, int]] = field(default_factory=set)  # (price list, service)
    acceptances: set[tuple[int, int, int]] = field(default_factory=set)  # (price list, service, terms)

    def price_list(self, company_id: int) -> PriceList | None:
        return self.price_lists.get(company_id)

    def _list_id(self, company_id: int) -> int | None:
        price_list = self.price_lists.get(company_id)
        return price_list.pk if price_list else None

    def item(self, company_id: int, service_id: int, frequency: str, term: str) -> PriceListItem | None:
        return self.in_force.get((self._list_id(company_id), service_id, frequency, term))

    def is_priced(self, company_id: int, service_id: int) -> bool:
        return (self._list_id(company_id), service_id) in self.priced

    def offers(self, company_id: int, service: Service) -> bool:
        return service.active and self.is_priced(company_id, service.pk)

    def terms_accepted(self, company_id: int, service: Service) -> bool:
        if service.terms_id is None:
            return True
        return (self._list_id(company_id), service.pk, service.terms_id) in self.acceptances

    def billing_types(self, company_id: int, service_id: int) -> list[tuple[str, str]]:
        """(key, label) of every billing type with a price in force, P1M / P1Y / P3Y first."""
        list_id = self._list_id(company_id)
        pairs = {(freq, term) for (pl, sid, freq, term) in self.in_force if pl == list_id and sid == service_id}
        return [
            (billing_type_key(freq, term), billing_type_label(freq, term))
            for freq, term in sorted(pairs, key=lambda p: _billing_type_sort_key(*p))
        ]


def items_in_force(items: Iterable[PriceListItem], *, day: dt.date) -> dict[PriceKey, PriceListItem]:
    """The one rule for "the price on a day": per price list, service and billing type, the latest
    item effective on or before `day` (a later item replaces it from its own day on)."""
    current: dict[PriceKey, PriceListItem] = {}
    for item in sorted(items, key=lambda i: (i.effective_from, i.pk), reverse=True):
        if item.effective_from <= day:
            current.setdefault((item.price_list_id, item.service_id, item.billing_frequency, item.term), item)
    return current


def price_book(*, company_ids: Iterable[int], day: dt.date, service_ids: Iterable[int] | None = None) -> PriceBook:
    """Load a PriceBook for these companies (and services; None = every service): three queries."""
    return price_books(company_ids=company_ids, days=[day], service_ids=service_ids)[day]


def price_books(
    *, company_ids: Iterable[int], days: Iterable[dt.date], service_ids: Iterable[int] | None = None,
    terms: bool = True,
) -> dict[dt.date, PriceBook]:
    """A PriceBook for each of `days` (e.g. the renewal days of the Upcoming view's page), from the
    same three queries as one: each day's items in force are picked from the items read once.
    `terms=False` for a caller that asks prices only (renewal previews): the books then know no
    acceptances (terms_accepted is False for a service with terms), and cost two queries."""
    company_ids, days = set(company_ids), sorted(set(days))
    price_lists = {
        a.company_id: a.price_list
        for a in PriceListAssignment.objects.filter(company_id__in=company_ids).select_related("price_list")
    }
    books = {day: PriceBook(day=day, price_lists=price_lists) for day in days}
    list_ids = {pl.pk for pl in price_lists.values()}
    if not list_ids or not days:
        return books
    items = PriceListItem.objects.filter(price_list_id__in=list_ids).select_related("service")
    acceptances = TermsAcceptance.objects.filter(price_list_id__in=list_ids)
    if service_ids is not None:
        service_ids = set(service_ids)
        items = items.filter(service_id__in=service_ids)
        acceptances = acceptances.filter(service_id__in=service_ids)
    items = list(items)
    priced = {(item.price_list_id, item.service_id) for item in items}
    accepted = set(acceptances.values_list("price_list_id", "service_id", "terms_id")) if terms else set()
    for day, book in books.items():
        book.priced, book.acceptances = priced, accepted
        book.in_force = items_in_force(items, day=day)
    return books


# --- One company ---------------------------------------------------------------------------


def price_list_for(company: Company) -> PriceList | None:
    return PriceList.objects.filter(assignments__company=company).first()


def services_on_price_list(price_list: PriceList | None) -> QuerySet[Service]:
    """The services a price list offers, for listing: PriceBook.offers as a query (active and priced)."""
    if price_list is None:
        return Service.objects.none()
    return (
        Service.objects.filter(price_items__price_list=price_list, active=True)
        .distinct()
        .select_related("vendor", "category")
        .prefetch_related("tags")
        .order_by("name")
    )


def available_price_items_on(*, price_list: PriceList | None, day: dt.date) -> list[PriceListItem]:
    """AVAILABLE SERVICES of a company page: the items in force on `day` whose service is active,
    ordered by service name, then P1M / P1Y / P3Y (one query)."""
    if price_list is None:
        return []
    in_force = items_in_force(PriceListItem.objects.filter(price_list=price_list).select_related("service"), day=day)
    items = [item for item in in_force.values() if item.service.active]
    return sorted(items, key=lambda i: (i.service.name, *_billing_type_sort_key(i.billing_frequency, i.term)))
