"""The company page's action bar, its confirm pages, + NEW, the BILLING / CUSTOM CHARGE tabs and the
user page's ADDITIONAL INFORMATION / AVAILABLE SERVICES look up only messages of the Spanish catalogue."""

import pytest
from django.urls import reverse

from tests.factories import CompanyFactory, UserFactory
from tests.portal.test_spanish_pages import MessageCollector

pytestmark = pytest.mark.django_db


def test_company_actions_pages_are_translated(abbie_client, demo, monkeypatch):
    abbie_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
    customer = CompanyFactory(parent=demo.abbiebox)
    user = UserFactory(company=demo.eritech)
    company = reverse("company_detail", kwargs={"account_id": 466158})
    pages = {
        "overview": company,
        "billing": f"{company}?tab=billing",
        "custom charge": f"{company}?tab=custom-charge",
        "empty billing": f"/companies/{customer.account_id}/?tab=billing",
        "terminate refused": reverse("company_terminate", kwargs={"account_id": 466158}),
        "terminate": reverse("company_terminate", kwargs={"account_id": customer.account_id}),
        "credentials": reverse("company_credentials", kwargs={"account_id": 466158}),
        "new company": reverse("imports:new_account", kwargs={"account_id": 466158}) + "?kind=company",
        "new user": reverse("imports:new_account", kwargs={"account_id": 466158}) + "?kind=user",
        "user additional": reverse("user_detail", args=[user.pk]) + "?tab=additional",
        "user services": reverse("user_detail", args=[user.pk]) + "?tab=services",
    }
    collector = MessageCollector(monkeypatch)
    untranslated = {}
    for name, url in pages.items():
        collector.looked_up.clear()
        response = abbie_client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        assert '<html lang="es">' in response.content.decode()
        if missing := collector.untranslated():
            untranslated[name] = sorted(missing)
    assert untranslated == {}
    response = abbie_client.post(reverse("company_terminate", kwargs={"account_id": 466158}), follow=True)
    assert "todavía tiene" in response.content.decode()
