"""+ NEW on the company page (imports.bulk.new_account): a customer company or a user, held to a bulk
import's line rules, with its errors on the page; 404 outside the subtree."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse

from accounts.models import AuditLogEntry, Company, User
from catalog.selectors import price_list_for
from imports.bulk.checks import CURRENCY_INVALID
from imports.bulk.new_account import new_company_create, new_user_create
from imports.bulk.rows import USER_EMAIL_UNUSABLE
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def new_url(account_id, kind=None):
    url = reverse("imports:new_account", kwargs={"account_id": account_id})
    return f"{url}?kind={kind}" if kind else url


def test_new_company_below_a_reseller_inherits_its_price_list(abbie_client, demo):
    response = abbie_client.post(new_url(demo.abbiebox.account_id), {
        "kind": "company", "name": "LIMA FOODS S.A.C.", "domain": "limafoods.example", "currency": "pen",
        "billing_start_date": "2026-01-01 00:00",
    })
    company = Company.objects.get(name="LIMA FOODS S.A.C.")
    assert response.status_code == 302 and response["Location"] == f"/companies/{company.account_id}/"
    assert (company.parent, company.kind, company.currency) == (demo.abbiebox, Company.Kind.CUSTOMER, "PEN")
    assert company.is_billable is False  # the checkbox left unticked
    assert company.marketplace == demo.abbiebox.marketplace
    assert price_list_for(company) == demo.abbie_price_list
    entry = AuditLogEntry.objects.get(action="company.created", company=company)
    assert entry.actor == demo.admin_abbie


def test_new_company_errors_are_on_the_page(abbie_client, demo):
    response = abbie_client.post(new_url(466158), {"kind": "company", "name": "", "currency": "dollars", "email": "nope"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html and str(CURRENCY_INVALID) in html and "Enter a valid email address." in html
    # A domain another company has: named, as for a Companies line.
    response = abbie_client.post(new_url(466158), {"kind": "company", "name": "COPY S.A.C.", "domain": "ERITECHPERU.com"})
    assert response.status_code == 400
    assert "Another company already has the domain ERITECHPERU.com" in response.content.decode()
    assert not Company.objects.filter(name="COPY S.A.C.").exists()


def test_new_user_gets_the_set_password_email(abbie_client, demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = abbie_client.post(new_url(466158, "user"), {
            "kind": "user", "email": "Ana.Rios@EritechPeru.com", "first_name": "Ana", "last_name": "Ríos",
        })
    user = User.objects.get(email="ana.rios@eritechperu.com")
    assert response.status_code == 302 and response["Location"] == f"/users/{user.pk}/"
    assert user.company == demo.eritech and not user.has_usable_password()
    assert [m.to for m in mail.outbox] == [["ana.rios@eritechperu.com"]] and "/set-password/" in mail.outbox[0].body


def test_a_taken_email_is_said_as_for_a_users_line(abbie_client, demo):
    UserFactory(email="taken@elsewhere.example", company=demo.cusco)  # in another reseller's tenant
    response = abbie_client.post(new_url(466158), {"kind": "user", "email": "taken@elsewhere.example"})
    assert response.status_code == 400
    html = response.content.decode()
    assert str(USER_EMAIL_UNUSABLE % {"email": "taken@elsewhere.example"}) in html
    assert "already" not in html  # nothing says a user has it (issue 23)


def test_no_company_below_the_distributor_nor_below_an_inactive_company(staff_client, demo):
    html = staff_client.get(new_url(demo.intcomex.account_id, "company")).content.decode()
    assert 'aria-disabled="true"' in html and "New companies can be created only below a reseller or a customer" in html
    with pytest.raises(ValidationError):
        new_company_create(actor=demo.staff, parent=demo.intcomex, values={"name": "X"})
    # PACIFICO RETAIL is suspended: neither kind, and the company page greys + NEW out.
    with pytest.raises(ValidationError):
        new_user_create(actor=demo.admin_abbie, company=demo.pacifico, values={"email": "a@pacifico.example"})
    page = staff_client.get(f"/companies/{demo.pacifico.account_id}/").content.decode()
    assert 'disabled title="New companies and users cannot be added here.">+ NEW' in page


def test_outside_the_subtree_is_404(client, demo):
    client.force_login(demo.admin_andes)
    assert client.get(new_url(466158)).status_code == 404
    assert client.post(new_url(466158), {"kind": "user", "email": "x@andes.example"}).status_code == 404
    with pytest.raises(Http404):
        new_user_create(actor=demo.admin_andes, company=demo.eritech, values={"email": "x@andes.example"})
    with pytest.raises(Http404):
        new_company_create(actor=demo.admin_andes, parent=demo.eritech, values={"name": "X"})
    assert not User.objects.filter(email="x@andes.example").exists()
