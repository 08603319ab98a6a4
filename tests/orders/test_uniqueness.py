"""Platform-wide uniqueness of what is unique in reality: a tenant's onmicrosoft.com domain (pre-check,
due-time check, database), a company's domain and a user's email; each with its reason."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import COMPANY_DOMAIN_TAKEN, USER_EMAIL_TAKEN, Company, User
from accounts.services import company_create
from catalog.models import Term
from core.stored_messages import rendered
from devtools.demo import TENANT
from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob
from orders.models import Subscription
from orders.validation import TENANT_DOMAIN_TAKEN, validate_orders
from catalog.models import PriceListAssignment
from tests.factories import CompanyFactory, SubscriptionFactory
from tests.imports.helpers import make_order, schedule

from .conftest import config_data, step_url

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
DUE = dt.datetime(2024, 7, 22, 15, 0, tzinfo=UTC)
TAKEN = str(TENANT_DOMAIN_TAKEN % {"domain": "acme.onmicrosoft.com"})


@pytest.fixture
def acme_tenant_of_another_reseller(demo):
    """ANDES CLOUD's customer CUSCO TECH holds acme.onmicrosoft.com."""
    return SubscriptionFactory(
        company=demo.cusco, service=demo.service(TENANT), name="Microsoft Organization tenant (acme.onmicrosoft.com)",
        attributes={"tenant_id": "a0d72b05-fb92-4d65-9424-7b58ea99d5d3", "domain": "acme.onmicrosoft.com"},
        tenant_domain="acme.onmicrosoft.com",
    )


def tenant_order(demo, domain, company=None):
    return make_order(demo, company=company or demo.norte, code=TENANT, term=Term.P1M, vendor_config={"tenant_domain": domain})


def test_the_checks_refuse_a_tenant_domain_held_anywhere_on_the_platform(demo, acme_tenant_of_another_reseller):
    taken, free = tenant_order(demo, "acme"), tenant_order(demo, "acme2", company=demo.eritech)
    problems = validate_orders([taken, free], day=DUE.date())
    assert TAKEN in [rendered(reason) for reason in problems[taken.pk]]
    assert not any("already taken" in p for p in problems[free.pk])
    assert "CUSCO" not in TAKEN  # the reason does not say who holds it


def test_a_terminated_tenant_keeps_its_domain(demo, acme_tenant_of_another_reseller):
    Subscription.objects.filter(pk=acme_tenant_of_another_reseller.pk).update(status=Subscription.Status.TERMINATED)
    order = tenant_order(demo, "acme")
    assert TAKEN in [rendered(reason) for reason in validate_orders([order], day=DUE.date())[order.pk]]


def test_the_review_pre_check_says_the_domain_is_taken(client, demo, acme_tenant_of_another_reseller):
    client.force_login(demo.admin_abbie)
    client.post(reverse("orders:new", args=[demo.norte.account_id]))
    order = demo.admin_abbie.orders.latest("id")
    client.post(step_url(order, "select"), {"service": demo.service(TENANT).pk})
    response = client.post(step_url(order, "configure"), config_data(billing_type="monthly:P1M", tenant_domain="acme",
                                                                      microsoft_tenant_id=None))
    assert response.status_code == 302
    html = client.get(step_url(order, "review")).content.decode()
    assert TAKEN in html


@freeze_time("2024-07-22 14:15:43")
def test_at_due_time_the_job_fails_with_the_reason(demo, acme_tenant_of_another_reseller):
    job = schedule(demo, due_at=DUE, company=demo.norte, code=TENANT, term=Term.P1M, vendor_config={"tenant_domain": "acme"})
    dispatch_due_imports(now=DUE)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.rows.get().failure_reason == TAKEN
    assert Subscription.objects.filter(tenant_domain="acme.onmicrosoft.com").count() == 1


@freeze_time("2024-07-22 14:15:43")
def test_two_customers_asking_the_same_domain_in_one_batch_get_one(demo):
    first = schedule(demo, due_at=DUE, company=demo.norte, code=TENANT, term=Term.P1M, vendor_config={"tenant_domain": "samename"})
    other_customer = CompanyFactory(parent=demo.abbiebox, name="SUR DIGITAL S.A.C.")
    PriceListAssignment.objects.create(company=other_customer, price_list=demo.abbie_price_list)
    second = schedule(demo, due_at=DUE, company=other_customer, code=TENANT, term=Term.P1M,
                      vendor_config={"tenant_domain": "samename"})
    dispatch_due_imports(now=DUE)
    first.refresh_from_db()
    second.refresh_from_db()
    assert Subscription.objects.filter(tenant_domain="samename.onmicrosoft.com").count() == 1
    assert first.status == ImportJob.Status.COMPLETED
    assert second.status == ImportJob.Status.FAILED
    assert second.rows.get().failure_reason == str(TENANT_DOMAIN_TAKEN % {"domain": "samename.onmicrosoft.com"})


@freeze_time("2024-07-22 14:15:43")
def test_a_provisioned_tenant_holds_its_domain(demo):
    job = schedule(demo, due_at=DUE, company=demo.norte, code=TENANT, term=Term.P1M, vendor_config={"tenant_domain": "nortedigital"})
    dispatch_due_imports(now=DUE)
    assert job.rows.get().subscription.tenant_domain == "nortedigital.onmicrosoft.com"


def test_the_database_refuses_a_second_holder(demo, acme_tenant_of_another_reseller):
    with pytest.raises(IntegrityError), transaction.atomic():
        SubscriptionFactory(company=demo.norte, service=demo.service(TENANT), tenant_domain="acme.onmicrosoft.com")


def test_the_demo_tenant_holds_its_domain(demo):
    assert Subscription.objects.get(account_id=466159).tenant_domain == "eritechperu.onmicrosoft.com"


def test_a_company_domain_belongs_to_one_company(demo):
    with pytest.raises(ValidationError) as error:
        company_create(name="Copycat S.A.C.", parent=demo.abbiebox, domain="EritechPeru.com")
    assert str(COMPANY_DOMAIN_TAKEN) in error.value.messages
    with pytest.raises(IntegrityError), transaction.atomic():
        Company.objects.create(name="Raw", parent=demo.abbiebox, account_id=991, numeric_id=992, domain="ERITECHPERU.COM")
    # No domain is no claim: many companies may have none.
    company_create(name="No domain 1", parent=demo.abbiebox)
    company_create(name="No domain 2", parent=demo.abbiebox)


def test_the_admin_says_why_a_company_domain_is_refused(client, demo):
    client.force_login(demo.staff)
    response = client.post(reverse("admin:accounts_company_change", args=[demo.norte.pk]), {
        "name": demo.norte.name, "kind": "customer", "status": "active", "parent": demo.abbiebox.pk,
        "account_id": demo.norte.account_id, "numeric_id": demo.norte.numeric_id, "domain": "abbiebox.com",
        "language": "English", "currency": "USD", "is_billable": "on", "send_to_backend": "on",
    })
    assert response.status_code == 200
    assert str(COMPANY_DOMAIN_TAKEN) in response.content.decode().replace("&#x27;", "'")


def test_a_user_email_belongs_to_one_user_whatever_its_case(demo):
    user = User(email="ADMIN@abbiebox.com", company=demo.abbiebox)
    user.set_password("x")
    with pytest.raises(ValidationError) as error:
        user.full_clean()
    assert str(USER_EMAIL_TAKEN) in str(error.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="Admin@AbbieBox.com", company=demo.abbiebox)])
