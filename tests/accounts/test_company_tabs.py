"""The company page's BILLING and CUSTOM CHARGE tabs, the user page's ADDITIONAL INFORMATION and
AVAILABLE SERVICES, and identical subscription names in the COMPANY STRUCTURE: what the data holds."""

import re

import pytest
from django.urls import reverse

from accounts.views import TAB_NOT_AVAILABLE
from tests.factories import CompanyFactory, SubscriptionFactory, UserFactory

pytestmark = pytest.mark.django_db

ERITECH_URL = "/companies/466158/"


def text_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_billing_tab_lists_the_live_subscriptions_with_their_monthly_fee(abbie_client, demo):
    response = abbie_client.get(ERITECH_URL, {"tab": "billing"})
    text = text_of(response)
    assert str(TAB_NOT_AVAILABLE) not in text
    table = re.search(r'<table class="data acc-billing">.*?</table>', response.content.decode(), flags=re.S).group(0)
    assert "493796" in table and "(NCE) Exchange Online Kiosk" in table
    assert "Monthly (with 1-year commitment) - P1Y" in table
    # Kiosk 1 × 2.00, and ERITECH's Microsoft licences (issue 27): Business Basic 1 × 6.02175, Standard 2 × 12.50.
    assert "Total (Monthly) USD 33.02175" in text
    assert "Billing start date 2024-04-01 23:40 (UTC)" in text


def test_billing_and_custom_charge_say_honestly_when_there_is_nothing(abbie_client, demo):
    company = CompanyFactory(parent=demo.abbiebox)
    url = f"/companies/{company.account_id}/"
    assert "This company has no live subscription, so nothing is billed to it." in text_of(abbie_client.get(url, {"tab": "billing"}))
    custom = text_of(abbie_client.get(url, {"tab": "custom-charge"}))
    assert "No custom charges." in custom and str(TAB_NOT_AVAILABLE) not in custom


def test_identical_subscription_names_carry_their_account_id(abbie_client, demo):
    kiosk = demo.service("100113_ExchanOnlineKiosk_61893")
    SubscriptionFactory(company=demo.eritech, service=kiosk, name="(NCE) Exchange Online Kiosk", term="P1Y",
                        billing_frequency="monthly", account_id=493900)
    html = abbie_client.get(ERITECH_URL).content.decode()
    items = re.findall(r'<li class="subscription">(.*?)</li>', html, flags=re.S)
    kiosks = [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items if "Kiosk" in item]
    assert kiosks == ["(NCE) Exchange Online Kiosk (1) Account Id 493796", "(NCE) Exchange Online Kiosk (1) Account Id 493900"]
    # A name seen once stays as the manual shows it.
    assert any(" ".join(re.sub(r"<[^>]+>", " ", i).split()) == "Azure Plan (Eritech Perú)" for i in items)


def test_user_additional_information(abbie_client, demo):
    user = UserFactory(company=demo.eritech, email="ana@eritechperu.com", email_language="es")
    text = text_of(abbie_client.get(reverse("user_detail", args=[user.pk]), {"tab": "additional"}))
    assert "ADDITIONAL INFORMATION" in text and str(TAB_NOT_AVAILABLE) not in text
    assert "Company ERITECH PERU S.A." in text and "Company Account Id 466158" in text
    assert "Emails written in Spanish (the user's choice, NOTIFICATIONS tab)" in text


def test_user_available_services_are_its_companys_offer(abbie_client, demo):
    user = UserFactory(company=demo.eritech, email="ana@eritechperu.com")
    html = abbie_client.get(reverse("user_detail", args=[user.pk]), {"tab": "services"}).content.decode()
    assert '<table class="data acc-services">' in html
    assert "(NCE) Microsoft 365 Business Basic" in html and "6.02175" in html
    # ABBIE BOX (a reseller) has no price list assigned: said so, no table.
    html = abbie_client.get(reverse("user_detail", args=[demo.admin_abbie.pk]), {"tab": "services"}).content.decode()
    assert "has no price list, so this user has no services available." in html
