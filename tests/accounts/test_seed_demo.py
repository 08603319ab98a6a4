"""seed_demo builds the manual's scenario and is idempotent."""

import datetime as dt
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from accounts.models import Company, User
from catalog.models import PriceListItem, Service
from orders.models import Subscription

pytestmark = pytest.mark.django_db

SEEDED_APPS = ("accounts", "catalog", "orders")


def model_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for label in SEEDED_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }


def run_seed(password="icp-demo-2024") -> str:
    out = StringIO()
    call_command("seed_demo", "--password", password, stdout=out)
    return out.getvalue()


def test_second_run_creates_nothing_and_says_so():
    first = run_seed()
    assert "objects created" in first
    after_first = model_counts()
    # The manual's seven, and LIMA FOODS S.A.C., created by the demo's finished Companies import.
    assert after_first["accounts.Company"] == 8
    assert after_first["accounts.User"] == 3

    second = run_seed()
    assert "nothing changed" in second
    assert model_counts() == after_first


def test_second_run_keeps_existing_passwords_and_values():
    run_seed(password="first-pass-123")
    eritech = Company.objects.get(account_id=466158)
    Company.objects.filter(pk=eritech.pk).update(city="Arequipa")  # an operator's later edit survives a reseed
    run_seed(password="another-pass-456")
    assert Company.objects.get(pk=eritech.pk).city == "Arequipa"
    assert User.objects.get(email="admin@abbiebox.com").check_password("first-pass-123")


def test_seed_prints_the_logins():
    output = run_seed()
    for email in ("admin@abbiebox.com", "admin@andescloud.example", "staff@intcomex.example"):
        assert email in output


def test_the_manuals_scenario(demo):
    eritech = demo.eritech
    assert [a.name for a in eritech.ancestors()] == ["INTCOMEX PERU S.A.C.", "ABBIE BOX S.A.C."]
    assert (eritech.account_id, eritech.numeric_id, eritech.parent_numeric_id) == (466158, 793131, 734772)
    assert eritech.billing_start_date.replace(second=0) == dt.datetime(2024, 4, 1, 23, 40, tzinfo=dt.timezone.utc)
    assert sorted(s.display_name for s in Subscription.objects.filter(company=eritech)) == [
        "(NCE) Exchange Online Kiosk (1)",
        "Azure Plan (Eritech Perú)",
        "Microsoft Organization tenant (eritechperu.onmicrosoft.com)",
    ]
    basic = Service.objects.get(code="100113_Micros365BusineBasic_14991")
    p1y = PriceListItem.objects.get(price_list=demo.abbie_price_list, service=basic, term="P1Y")
    p1m = PriceListItem.objects.get(price_list=demo.abbie_price_list, service=basic, term="P1M")
    assert (str(p1y.cost), str(p1y.selling_price)) == ("4.81750", "6.02175")
    assert p1m.selling_price == p1y.selling_price * 12 / 10
    assert demo.pacifico.status == Company.Status.SUSPENDED
    assert demo.staff.is_staff and demo.staff.is_superuser
