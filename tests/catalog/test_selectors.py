"""catalog.selectors.available_price_items_on: the AVAILABLE SERVICES tab's rows; price_books."""

import datetime as dt
from decimal import Decimal

import pytest

from catalog.models import BillingFrequency, PriceListAssignment, Term, TermsAcceptance
from catalog.selectors import available_price_items_on, price_books
from tests.factories import PriceListFactory, PriceListItemFactory, ServiceFactory
from tests.factories import TreeCompanyFactory as CompanyFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 7, 18)


@pytest.fixture
def price_list():
    return PriceListFactory(owner=CompanyFactory())


def test_no_price_list_means_no_services():
    assert available_price_items_on(price_list=None, day=DAY) == []


def test_items_in_force_on_the_day_only(price_list):
    service = ServiceFactory(name="(NCE) Microsoft 365 Business Basic")
    PriceListItemFactory(price_list=price_list, service=service, effective_from=dt.date(2024, 1, 1), selling_price=Decimal("6.02175"))
    PriceListItemFactory(price_list=price_list, service=service, effective_from=dt.date(2024, 7, 1), selling_price=Decimal("6.5"))
    PriceListItemFactory(price_list=price_list, service=service, effective_from=dt.date(2024, 8, 1), selling_price=Decimal("9"))
    items = available_price_items_on(price_list=price_list, day=DAY)
    assert [(i.service.name, i.selling_price) for i in items] == [(service.name, Decimal("6.5"))]
    assert [i.selling_price for i in available_price_items_on(price_list=price_list, day=dt.date(2024, 6, 30))] == [
        Decimal("6.02175")
    ]
    assert available_price_items_on(price_list=price_list, day=dt.date(2023, 12, 31)) == []


def test_inactive_services_and_other_price_lists_are_left_out(price_list):
    active = ServiceFactory(name="B active")
    inactive = ServiceFactory(name="A inactive", active=False)
    PriceListItemFactory(price_list=price_list, service=active)
    PriceListItemFactory(price_list=price_list, service=inactive)
    PriceListItemFactory(price_list=PriceListFactory(owner=price_list.owner), service=ServiceFactory(name="C elsewhere"))
    assert [i.service.name for i in available_price_items_on(price_list=price_list, day=DAY)] == ["B active"]


def test_ordered_by_service_then_term(price_list):
    zeta, alpha = ServiceFactory(name="Zeta"), ServiceFactory(name="Alpha")
    for service in (zeta, alpha):
        for term in ("P3Y", "P1Y", "P1M"):
            PriceListItemFactory(price_list=price_list, service=service, term=term)
    rows = [(i.service.name, i.term) for i in available_price_items_on(price_list=price_list, day=DAY)]
    assert rows == [("Alpha", "P1M"), ("Alpha", "P1Y"), ("Alpha", "P3Y"), ("Zeta", "P1M"), ("Zeta", "P1Y"), ("Zeta", "P3Y")]


def test_query_count_does_not_grow_with_the_items(price_list, django_assert_num_queries):
    for number in range(15):
        PriceListItemFactory(price_list=price_list, service=ServiceFactory(name=f"S{number:02d}"))
    with django_assert_num_queries(1):
        items = available_price_items_on(price_list=price_list, day=DAY)
        names = [i.service.name for i in items]
    assert len(names) == 15


def test_price_books_for_prices_only_skip_the_terms(price_list, django_assert_num_queries):
    """Renewal previews ask prices only (terms=False): the same items in force, one query fewer."""
    from tests.factories import TermsFactory

    company = PriceListAssignment.objects.create(company=CompanyFactory(), price_list=price_list).company
    service = ServiceFactory(terms=TermsFactory())
    PriceListItemFactory(price_list=price_list, service=service, effective_from=dt.date(2024, 1, 1), selling_price=Decimal("6.5"))
    TermsAcceptance.objects.create(price_list=price_list, service=service, terms=service.terms)
    with django_assert_num_queries(3):
        full = price_books(company_ids=[company.pk], days=[DAY], service_ids=[service.pk])[DAY]
    with django_assert_num_queries(2):
        prices = price_books(company_ids=[company.pk], days=[DAY], service_ids=[service.pk], terms=False)[DAY]
    item = prices.item(company.pk, service.pk, BillingFrequency.MONTHLY, Term.P1Y)
    assert prices.in_force == full.in_force and item is not None and item.selling_price == Decimal("6.5")
    assert full.terms_accepted(company.pk, service) and not prices.terms_accepted(company.pk, service)
