"""Every page that shows user-supplied text, with hostile values in that text: a <script>, a
quote-breaking attribute payload and very long values. Each page answers 200 and shows the text
escaped, never as markup."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditLogEntry, Company, User
from accounts.services import audit_log_record
from devtools.demo import KIOSK
from orders.models import Order, Subscription
from tests.imports.helpers import schedule

pytestmark = pytest.mark.django_db

SCRIPT = "<script>window.hacked=1</script>"
QUOTES = "\"'><img src=x onerror=alert(1)>"
HOSTILE = SCRIPT + QUOTES
LONG = ("A" * (10_000 - len(HOSTILE))) + HOSTILE  # 10,000 characters, the payload at the end


def fit(model, field, text=HOSTILE):
    """The hostile text, cut to what the column holds (the payload first, so it is always whole)."""
    limit = model._meta.get_field(field).max_length
    return text[:limit] if limit else text


def assert_escaped(html: str, where: str):
    for raw in (SCRIPT, "<img src=x onerror", "onerror=alert(1)>"):
        assert raw not in html, (where, raw)


@pytest.fixture
def hostile(demo):
    """Hostile text in every field a reseller or staff can type that a page shows."""
    company_fields = {
        name: fit(Company, name)
        for name in ("name", "vat_id", "sales_manager", "marketplace", "contract_id", "customer_id", "address",
                     "city", "country", "zip_code", "contact_phone", "contact_person", "technical_contact",
                     "technical_account_manager", "bank_name", "bank_identifier_code", "language")
    }
    company_fields["domain"] = "hostile.example"
    Company.objects.filter(pk=demo.eritech.pk).update(**company_fields)
    user_fields = {
        name: fit(User, name)
        for name in ("first_name", "last_name", "address", "city", "country", "zip_code", "phone", "manager", "fax",
                     "mobile", "department", "office", "home_phone", "job_title")
    }
    User.objects.filter(pk=demo.admin_abbie.pk).update(**user_fields)
    eritech = Company.objects.get(pk=demo.eritech.pk)
    Subscription.objects.filter(account_id=493796).update(name=fit(Subscription, "name"))
    audit_log_record(company=eritech, actor=demo.admin_abbie, action="x", message=LONG + HOSTILE,
                     target_user=demo.admin_abbie)
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=1), name=fit(Order, "subscription_name"))
    job.name = fit(type(job), "name")
    job.save(update_fields=["name"])
    draft = Order.objects.create(
        company=eritech, created_by=demo.admin_abbie, service=demo.service(KIOSK),
        subscription_name=fit(Order, "subscription_name"), contract_id=fit(Order, "contract_id"),
    )
    return {"company": eritech, "draft": draft, "job": job}


def test_company_pages_escape_what_users_typed(client, demo, hostile):
    client.force_login(demo.admin_abbie)
    eritech = hostile["company"]
    pages = [reverse("company_detail", args=[eritech.account_id]) + f"?tab={tab}"
             for tab in ("overview", "services", "audit", "billing")]
    pages += [
        reverse("company_detail", args=[demo.abbiebox.account_id]),  # the sidebar lists the hostile child
        reverse("company_detail", args=[eritech.account_id]) + "?structure_q=" + HOSTILE,
        reverse("search") + "?q=script",
        reverse("search") + "?q=" + LONG,
        reverse("orders:subscription_detail", args=[493796]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_escaped(html, url)
    html = client.get(reverse("company_detail", args=[eritech.account_id])).content.decode()
    assert "&lt;script&gt;window.hacked=1&lt;/script&gt;" in html


def test_user_pages_escape_what_users_typed(client, demo, hostile):
    client.force_login(demo.admin_abbie)
    user_url = lambda name: reverse(name, args=[demo.admin_abbie.pk])  # noqa: E731
    pages = [user_url("user_detail") + f"?tab={tab}" for tab in ("info", "audit", "log", "security")]
    pages += [user_url("user_rename"), user_url("user_reset_password")]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content.decode(), url)
    # Renaming to hostile, 10,000 characters long names: a field error, never a 500.
    response = client.post(user_url("user_rename"), {"first_name": LONG, "last_name": HOSTILE})
    assert response.status_code == 200 and "at most 150 characters" in response.content.decode()
    assert_escaped(response.content.decode(), "rename")


def test_staff_impersonating_see_escaped_text_and_the_badge(client, demo, hostile):
    client.force_login(demo.staff)
    client.post("/hijack/acquire/", {"user_pk": demo.admin_abbie.pk, "next": "/"})
    html = client.get(reverse("company_detail", args=[hostile["company"].account_id]) + "?tab=audit").content.decode()
    assert "Impersonated" in html
    assert_escaped(html, "impersonated audit tab")


def test_wizard_and_my_imports_escape_what_users_typed(client, demo, hostile):
    client.force_login(demo.admin_abbie)
    draft = hostile["draft"]
    for url in (
        reverse("orders:select", args=[draft.uuid]) + "?q=" + HOSTILE,
        reverse("orders:terms", args=[draft.uuid]),
        reverse("imports:my_imports"),
        reverse("imports:my_imports") + "?q=" + HOSTILE,
    ):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        assert_escaped(response.content.decode(), url)


def test_login_and_locked_out_pages_escape_the_typed_email(client, demo):
    for _ in range(5):
        response = client.post("/login/", {"username": HOSTILE, "password": "x"})
        assert_escaped(response.content.decode(), "login")
    response = client.post("/login/", {"username": LONG, "password": "x"})
    assert response.status_code in (200, 429)
    assert_escaped(response.content.decode(), "login long")


def test_audit_entries_with_hostile_text_are_stored_as_typed(demo, hostile):
    assert AuditLogEntry.objects.filter(message__contains=SCRIPT).exists()


def test_configuration_and_review_escape_what_the_reseller_typed(client, demo):
    from devtools.demo import BASIC
    from tests.orders.conftest import config_data

    client.force_login(demo.admin_abbie)
    client.post(reverse("orders:new", args=[demo.eritech.account_id]))
    order = Order.objects.filter(created_by=demo.admin_abbie).latest("id")
    client.post(reverse("orders:select", args=[order.uuid]), {"service": demo.service(BASIC).pk})
    client.post(reverse("orders:terms", args=[order.uuid]), {"action": "accept"})
    # Too long, then hostile but valid: both pages show the text escaped.
    response = client.post(reverse("orders:configure", args=[order.uuid]),
                           config_data(subscription_name=LONG, contract_id=HOSTILE, mpn_id=HOSTILE))
    assert response.status_code == 200
    assert_escaped(response.content.decode(), "configuration with errors")
    response = client.post(reverse("orders:configure", args=[order.uuid]),
                           config_data(subscription_name=HOSTILE, contract_id=HOSTILE[:100]))
    assert response.status_code == 302
    for url in (reverse("orders:configure", args=[order.uuid]), reverse("orders:review", args=[order.uuid])):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_escaped(html, url)
        assert "&lt;script&gt;" in html, url
