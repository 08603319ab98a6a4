"""The company page's TERMINATE and CREDENTIALS TO ALL USERS (accounts.companies.services), EXPORT
(accounts.companies.export) and their views: refusals, 404 outside the subtree, the throttle, audit."""

import csv
import datetime as dt
import io

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time
from openpyxl import load_workbook

from accounts.company_status import ALREADY_TERMINATED, CANNOT_TERMINATE_OWN, ONLY_CUSTOMERS_TERMINATE
from accounts.companies.services import (
    CHILD_COMPANIES_LIVE,
    CREDENTIALS_ACTION,
    company_credentials_send,
    company_terminate,
)
from accounts.models import AuditLogEntry, Company
from core.stored_messages import rendered
from imports.models import ImportJob
from orders.company_page import LIVE_SUBSCRIPTIONS
from orders.models import Subscription
from tests.factories import CompanyFactory, SubscriptionFactory, UserFactory
from tests.imports.helpers import schedule

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc


@pytest.fixture
def customer(demo):
    """A customer of ABBIE BOX with two active users and a terminated one, and no subscription."""
    company = CompanyFactory(parent=demo.abbiebox, name="LIMA FOODS S.A.C.", kind=Company.Kind.CUSTOMER)
    UserFactory(company=company, email="ana@limafoods.example")
    UserFactory(company=company, email="luis@limafoods.example")
    UserFactory(company=company, email="old@limafoods.example", is_active=False)
    return company


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


# --- TERMINATE -------------------------------------------------------------------------------------


def test_terminate_ends_the_company_its_users_and_its_pending_imports(demo, customer):
    job = schedule(demo, company=customer, due_at=dt.datetime.now(UTC) + dt.timedelta(days=2))
    result = company_terminate(actor=demo.admin_abbie, company=customer)

    customer.refresh_from_db()
    assert customer.status == Company.Status.TERMINATED
    assert sorted(u.email for u in result.users_terminated) == ["ana@limafoods.example", "luis@limafoods.example"]
    assert not customer.users.filter(is_active=True).exists()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert result.notes == ["1 pending import was cancelled."]
    actions = list(AuditLogEntry.objects.filter(company=customer).values_list("action", flat=True))
    assert actions.count("user.terminated") == 2
    assert {"company.terminated", "import.cancelled"} <= set(actions)
    entry = AuditLogEntry.objects.get(action="company.terminated")
    assert entry.actor == demo.admin_abbie and "LIMA FOODS S.A.C." in rendered(entry.message)


def test_terminate_is_refused_while_live_subscriptions_exist(demo):
    with pytest.raises(ValidationError) as refused:
        company_terminate(actor=demo.admin_abbie, company=demo.eritech)
    live = Subscription.objects.live().filter(company=demo.eritech).count()
    assert refused.value.messages == [str(LIVE_SUBSCRIPTIONS % {"company": "ERITECH PERU S.A.", "count": live})]
    demo.eritech.refresh_from_db()
    assert demo.eritech.status == Company.Status.ACTIVE
    assert not AuditLogEntry.objects.filter(action__in=["company.terminated", "user.terminated"]).exists()


def test_a_terminated_subscription_does_not_hold_the_company(demo, customer):
    SubscriptionFactory(company=customer, status=Subscription.Status.TERMINATED)
    company_terminate(actor=demo.admin_abbie, company=customer)
    customer.refresh_from_db()
    assert customer.status == Company.Status.TERMINATED


def test_terminate_is_refused_while_a_company_below_is_live(demo, customer):
    CompanyFactory(parent=customer, kind=Company.Kind.CUSTOMER)
    with pytest.raises(ValidationError) as refused:
        company_terminate(actor=demo.admin_abbie, company=customer)
    assert refused.value.messages == [str(CHILD_COMPANIES_LIVE % {"company": customer.name, "count": 1})]


def test_a_company_outside_the_subtree_is_404(demo, customer):
    with pytest.raises(Http404):
        company_terminate(actor=demo.admin_andes, company=customer)
    with pytest.raises(Http404):
        company_credentials_send(actor=demo.admin_andes, company=customer)
    customer.refresh_from_db()
    assert customer.status == Company.Status.ACTIVE


def test_a_reseller_cannot_terminate_its_own_company_nor_a_reseller(demo, customer):
    with pytest.raises(ValidationError) as own:
        company_terminate(actor=demo.admin_abbie, company=demo.abbiebox)
    assert own.value.messages == [str(CANNOT_TERMINATE_OWN)]
    with pytest.raises(ValidationError) as reseller:
        company_terminate(actor=demo.staff, company=demo.abbiebox)
    assert reseller.value.messages == [str(ONLY_CUSTOMERS_TERMINATE)]
    customer_user = customer.users.first()
    with pytest.raises(ValidationError) as own_customer:
        company_terminate(actor=customer_user, company=customer)
    assert own_customer.value.messages == [str(CANNOT_TERMINATE_OWN)]


def test_terminating_twice_is_refused(demo, customer):
    company_terminate(actor=demo.admin_abbie, company=customer)
    with pytest.raises(ValidationError) as again:
        company_terminate(actor=demo.admin_abbie, company=customer)
    assert again.value.messages == [str(ALREADY_TERMINATED)]


def test_a_suspended_customer_can_be_terminated(demo):
    # PACIFICO RETAIL is suspended in the demo and has no subscriptions.
    assert demo.pacifico.status == Company.Status.SUSPENDED
    company_terminate(actor=demo.admin_abbie, company=demo.pacifico)
    demo.pacifico.refresh_from_db()
    assert demo.pacifico.status == Company.Status.TERMINATED


# --- CREDENTIALS TO ALL USERS ----------------------------------------------------------------------


def test_credentials_to_all_users_mail_every_active_user_once(demo, customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        users = company_credentials_send(actor=demo.admin_abbie, company=customer)
    assert [u.email for u in users] == ["ana@limafoods.example", "luis@limafoods.example"]
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@limafoods.example", "luis@limafoods.example"]
    assert all("/set-password/" in m.body for m in mail.outbox)
    assert AuditLogEntry.objects.filter(action="user.credentials_sent", company=customer).count() == 2
    entry = AuditLogEntry.objects.get(action=CREDENTIALS_ACTION)
    assert entry.company == customer and entry.actor == demo.admin_abbie and "2 active user(s)" in rendered(entry.message)


def test_credentials_to_all_users_is_throttled_per_company(demo, customer, settings):
    settings.COMPANY_CREDENTIALS_THROTTLE_MINUTES = 15
    start = dt.datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
    with freeze_time(start):
        company_credentials_send(actor=demo.admin_abbie, company=customer)
    with freeze_time(start + dt.timedelta(minutes=14)):
        with pytest.raises(ValidationError) as refused:
            company_credentials_send(actor=demo.admin_abbie, company=customer)
        assert refused.value.code == "throttled"
        assert "2025-03-03 12:00" in refused.value.messages[0] and "15 minutes" in refused.value.messages[0]
        # Another company is not held back by this one.
        other = CompanyFactory(parent=demo.abbiebox)
        UserFactory(company=other)
        company_credentials_send(actor=demo.admin_abbie, company=other)
    with freeze_time(start + dt.timedelta(minutes=16)):
        company_credentials_send(actor=demo.admin_abbie, company=customer)
    assert AuditLogEntry.objects.filter(action=CREDENTIALS_ACTION, company=customer).count() == 2


def test_credentials_refused_for_a_terminated_company_or_one_without_active_users(demo, customer):
    empty = CompanyFactory(parent=demo.abbiebox, name="EMPTY S.A.C.")
    with pytest.raises(ValidationError) as no_users:
        company_credentials_send(actor=demo.admin_abbie, company=empty)
    assert no_users.value.code == "no_users"
    company_terminate(actor=demo.admin_abbie, company=customer)
    with pytest.raises(ValidationError) as terminated:
        company_credentials_send(actor=demo.admin_abbie, company=customer)
    assert terminated.value.code == "terminated"


# --- EXPORT ----------------------------------------------------------------------------------------


def test_export_csv_has_the_overview_users_and_subscriptions(abbie_client, demo):
    response = abbie_client.get(reverse("company_export", kwargs={"account_id": 466158, "fmt": "csv"}))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="company-466158-eritech-peru-sa.csv"')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Overview"]
    assert ["COMPANY DETAILS", "Company name", "ERITECH PERU S.A."] in rows
    assert ["COMPANY DETAILS", "Numeric ID", "793131"] in rows
    assert ["Users"] in rows and ["Subscriptions"] in rows
    subscriptions = rows[rows.index(["Subscriptions"]) + 1 :]
    assert subscriptions[0][:2] == ["Subscription", "Account Id"]
    kiosk = next(row for row in subscriptions[1:] if row[1] == "493796")
    assert kiosk[0] == "(NCE) Exchange Online Kiosk" and kiosk[4] == "1" and kiosk[7] == "2.00"


def test_export_xlsx_has_a_sheet_each(abbie_client, demo):
    response = abbie_client.get(reverse("company_export", kwargs={"account_id": 466158, "fmt": "xlsx"}))
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert workbook.sheetnames == ["Overview", "Users", "Subscriptions"]
    overview = [list(row) for row in workbook["Overview"].iter_rows(values_only=True)]
    assert ["COMPANY DETAILS", "Domain", "eritechperu.com"] in overview


def test_export_neutralises_formulas_and_hides_foreign_companies(abbie_client, client, demo):
    company = CompanyFactory(parent=demo.abbiebox, name="=HYPERLINK(\"http://evil\")")
    UserFactory(company=company, email="x@evil.example", first_name="@SUM(A1)")
    response = abbie_client.get(reverse("company_export", kwargs={"account_id": company.account_id, "fmt": "csv"}))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text
    client.force_login(demo.admin_andes)
    assert client.get(reverse("company_export", kwargs={"account_id": 466158, "fmt": "csv"})).status_code == 404
    assert abbie_client.get("/companies/466158/export.pdf").status_code == 404


# --- Views -----------------------------------------------------------------------------------------


def test_terminate_view_confirms_then_terminates(abbie_client, customer):
    url = reverse("company_terminate", kwargs={"account_id": customer.account_id})
    page = abbie_client.get(url).content.decode()
    assert "Are you sure you want to terminate LIMA FOODS S.A.C.?" in page and "YES, DO IT" in page
    response = abbie_client.post(url)
    assert response.status_code == 302 and response["Location"] == f"/companies/{customer.account_id}/"
    assert "LIMA FOODS S.A.C. was terminated." in messages_of(response)
    customer.refresh_from_db()
    assert customer.status == Company.Status.TERMINATED
    html = abbie_client.get(response["Location"]).content.decode()
    assert f'disabled title="{ALREADY_TERMINATED}">TERMINATE' in html


def test_terminate_view_says_why_it_is_refused(abbie_client, demo):
    url = reverse("company_terminate", kwargs={"account_id": 466158})
    page = abbie_client.get(url).content.decode()
    assert "cannot be terminated now" in page and "live subscription" in page and "YES, DO IT" not in page
    response = abbie_client.post(url)
    assert response.status_code == 302
    assert any("live subscriptions" in message for message in messages_of(response))


def test_action_views_answer_404_outside_the_subtree(client, demo):
    client.force_login(demo.admin_andes)
    for name in ("company_terminate", "company_credentials"):
        url = reverse(name, kwargs={"account_id": 466158})
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert Company.objects.get(account_id=466158).status == Company.Status.ACTIVE
    assert not AuditLogEntry.objects.filter(action=CREDENTIALS_ACTION).exists()


def test_action_views_need_the_csrf_token(demo, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo.admin_abbie)
    for name in ("company_terminate", "company_credentials"):
        assert client.post(reverse(name, kwargs={"account_id": customer.account_id})).status_code == 403
    customer.refresh_from_db()
    assert customer.status == Company.Status.ACTIVE


def test_credentials_view_sends_then_refuses_within_the_throttle(abbie_client, customer, django_capture_on_commit_callbacks):
    url = reverse("company_credentials", kwargs={"account_id": customer.account_id})
    assert "Send the credentials email to every active user of LIMA FOODS S.A.C.?" in abbie_client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        first = abbie_client.post(url)
    assert any("to each of the 2 users of LIMA FOODS S.A.C." in m for m in messages_of(first))
    assert len(mail.outbox) == 2
    second = abbie_client.post(url)
    assert any("Credentials were already sent" in m for m in messages_of(second))
    assert len(mail.outbox) == 2


def test_impersonated_actions_name_the_staff_member(client, demo, customer):
    client.force_login(demo.staff)
    client.post("/hijack/acquire/", {"user_pk": demo.admin_abbie.pk, "next": "/"})
    client.post(reverse("company_credentials", kwargs={"account_id": customer.account_id}))
    entry = AuditLogEntry.objects.get(action=CREDENTIALS_ACTION)
    assert entry.actor == demo.admin_abbie and entry.impersonator == demo.staff


def test_the_page_escapes_the_company_name_in_the_dialogs(abbie_client, demo):
    company = CompanyFactory(parent=demo.abbiebox, name="<script>alert(1)</script>")
    html = abbie_client.get(f"/companies/{company.account_id}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "terminate &lt;script&gt;alert(1)&lt;/script&gt;?" in html
