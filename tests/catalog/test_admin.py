"""Catalog admin: price-list items inline in their price list, vendor integrations as a choice."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import PriceList, PriceListItem, Service, Vendor

pytestmark = pytest.mark.django_db


def inline_management(prefix, total, initial):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


def test_price_list_page_shows_its_items_inline(staff_client, demo):
    url = reverse("admin:catalog_pricelist_change", args=[demo.abbie_price_list.pk])
    response = staff_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('name="items-') > 0
    assert "(NCE) Microsoft 365 Business Basic" in html
    assert "6.02175" in html


def test_add_a_price_list_with_an_item_inline(staff_client, demo):
    basic = Service.objects.get(code="100113_Micros365BusineBasic_14991")
    data = {
        "name": "ABBIE BOX - Promo 2025", "owner": demo.abbiebox.pk, "currency": "USD",
        **inline_management("items", 1, 0),
        "items-0-service": basic.pk, "items-0-term": "P1Y", "items-0-billing_frequency": "monthly",
        "items-0-effective_from": "2025-01-01", "items-0-cost": "4.5", "items-0-selling_price": "5.75",
        "items-0-currency": "USD",
        **inline_management("assignments", 0, 0),
    }
    response = staff_client.post(reverse("admin:catalog_pricelist_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    price_list = PriceList.objects.get(name="ABBIE BOX - Promo 2025")
    item = PriceListItem.objects.get(price_list=price_list)
    assert (item.service, item.effective_from, item.selling_price) == (basic, dt.date(2025, 1, 1), Decimal("5.75"))


def test_negative_price_is_refused_by_the_database_constraint(staff_client, demo):
    basic = Service.objects.get(code="100113_Micros365BusineBasic_14991")
    data = {
        "name": "Broken list", "owner": demo.abbiebox.pk, "currency": "USD",
        **inline_management("items", 1, 0),
        "items-0-service": basic.pk, "items-0-term": "P1Y", "items-0-billing_frequency": "monthly",
        "items-0-effective_from": "2025-01-01", "items-0-cost": "-1", "items-0-selling_price": "5",
        "items-0-currency": "USD",
        **inline_management("assignments", 0, 0),
    }
    response = staff_client.post(reverse("admin:catalog_pricelist_add"), data)
    assert response.status_code == 200
    assert not PriceList.objects.filter(name="Broken list").exists()


def test_vendor_integration_is_chosen_from_the_registered_ones(staff_client, demo):
    url = reverse("admin:catalog_vendor_change", args=[Vendor.objects.get(name="Microsoft").pk])
    html = staff_client.get(url).content.decode()
    assert '<option value="microsoft" selected>microsoft</option>' in html
    response = staff_client.post(reverse("admin:catalog_vendor_add"), {"name": "Acme", "integration": "not-registered"})
    assert response.status_code == 200
    assert not Vendor.objects.filter(name="Acme").exists()
    response = staff_client.post(reverse("admin:catalog_vendor_add"), {"name": "Acme", "integration": ""})
    assert response.status_code == 302
    assert Vendor.objects.get(name="Acme").integration == ""


def test_service_search_and_filters(staff_client, demo):
    url = reverse("admin:catalog_service_changelist")
    html = staff_client.get(url, {"q": "100113_Micros365BusineBasic_14991"}).content.decode()
    assert "(NCE) Microsoft 365 Business Basic" in html and "Azure Plan" not in html
    assert staff_client.get(url, {"active__exact": "1", "vendor__id__exact": "1"}).status_code == 200
