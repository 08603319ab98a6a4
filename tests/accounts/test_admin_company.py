"""The company admin writes through accounts.services (company_create, company_update): ids are
allocated, the tree path kept and every change audited as for any other caller."""

import pytest
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

import accounts.admin
from accounts.models import COMPANY_BELOW_ITSELF, AccountNumber, AuditLogEntry, Company
from core.stored_messages import rendered
from accounts.services import company_create, company_update

from .test_admin import company_form_data

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:accounts_company_add")


def change_url(company):
    return reverse("admin:accounts_company_change", args=[company.pk])


def current_form_data(company, **changes) -> dict:
    """The change form as the admin fills it for `company`, with `changes` typed over it."""
    data = {}
    for field in Company._meta.concrete_fields:
        if not field.editable or field.primary_key:
            continue
        value = getattr(company, field.attname)
        if isinstance(field, models.BooleanField):
            if value:
                data[field.name] = "on"
        elif isinstance(field, models.DateTimeField):
            value = timezone.localtime(value) if value else None
            data[f"{field.name}_0"] = f"{value:%Y-%m-%d}" if value else ""
            data[f"{field.name}_1"] = f"{value:%H:%M:%S}" if value else ""
        else:
            data[field.name] = "" if value is None else value
    data.update(changes)
    return data


@pytest.fixture
def service_calls(monkeypatch):
    """Records the admin's calls of the company services (and still runs them)."""
    calls = []

    def spy(name, service):
        def wrapper(**kwargs):
            calls.append((name, kwargs))
            return service(**kwargs)

        monkeypatch.setattr(accounts.admin, name, wrapper)

    spy("company_create", company_create)
    spy("company_update", company_update)
    return calls


def test_the_add_form_creates_through_company_create(staff_client, demo, service_calls):
    response = staff_client.post(ADD_URL, company_form_data(parent=demo.abbiebox.pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    company = Company.objects.get(name="NUEVO CLIENTE S.A.C.")
    [(name, kwargs)] = service_calls
    assert name == "company_create" and kwargs["actor"] == demo.staff and kwargs["parent"] == demo.abbiebox
    assert kwargs["account_id"] is None and kwargs["numeric_id"] is None  # left empty: the service allocates
    assert company.account_id >= AccountNumber.FIRST_ID and company.numeric_id >= AccountNumber.FIRST_ID
    allocated = AccountNumber.objects.filter(pk__in=[company.account_id, company.numeric_id])
    assert allocated.count() == 2
    entry = AuditLogEntry.objects.get(company=company)
    assert (entry.action, entry.actor) == ("company.created", demo.staff)
    # The admin's own history points at the new company, and the redirect goes to the list.
    assert response["Location"] == reverse("admin:accounts_company_changelist")


def test_only_the_empty_id_is_allocated(staff_client, demo):
    before = AccountNumber.objects.count()
    response = staff_client.post(ADD_URL, company_form_data(account_id="123456"))
    assert response.status_code == 302
    company = Company.objects.get(account_id=123456)
    assert company.numeric_id >= AccountNumber.FIRST_ID
    assert AccountNumber.objects.count() == before + 1
    # A root company is audited too.
    assert AuditLogEntry.objects.filter(company=company, action="company.created").exists()


def test_save_and_continue_opens_the_new_company(staff_client, demo):
    response = staff_client.post(ADD_URL, {**company_form_data(), "_continue": "1"})
    company = Company.objects.get(name="NUEVO CLIENTE S.A.C.")
    assert response.status_code == 302 and response["Location"].startswith(change_url(company))


def test_the_change_form_updates_through_company_update_and_audits_what_changed(staff_client, demo, service_calls):
    eritech = demo.eritech
    data = current_form_data(eritech, city="Arequipa", email="it@eritech.example")
    response = staff_client.post(change_url(eritech), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [name for name, _ in service_calls] == ["company_update"]
    eritech.refresh_from_db()
    assert (eritech.city, eritech.email) == ("Arequipa", "it@eritech.example")
    entry = AuditLogEntry.objects.filter(company=eritech, action="company.changed").get()
    assert entry.actor == demo.staff
    assert rendered(entry.message) == "Company ERITECH PERU S.A. changed: city, email."


def test_saving_an_unchanged_company_writes_no_audit_entry(staff_client, demo):
    entries = AuditLogEntry.objects.count()
    assert staff_client.post(change_url(demo.eritech), current_form_data(demo.eritech)).status_code == 302
    assert AuditLogEntry.objects.count() == entries


def test_reparenting_through_the_service_moves_the_subtree_and_is_audited(staff_client, demo):
    abbie = demo.abbiebox
    assert staff_client.post(change_url(abbie), current_form_data(abbie, parent=demo.andes.pk)).status_code == 302
    eritech = Company.objects.get(pk=demo.eritech.pk)
    assert [a.name for a in eritech.ancestors()] == ["INTCOMEX PERU S.A.C.", "ANDES CLOUD S.A.C.", "ABBIE BOX S.A.C."]
    assert eritech.depth == 3
    entry = AuditLogEntry.objects.get(company=abbie, action="company.changed")
    assert rendered(entry.message) == "Company ABBIE BOX S.A.C. changed: parent."


def test_an_existing_company_cannot_lose_its_ids(staff_client, demo):
    eritech = demo.eritech
    response = staff_client.post(change_url(eritech), current_form_data(eritech, account_id=""))
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    eritech.refresh_from_db()
    assert eritech.account_id == 466158


def test_company_create_allocates_missing_ids_and_audits(demo):
    company = company_create(name="ROOT S.A.", parent=None, actor=demo.staff, account_id=None)
    assert company.path and company.account_id >= AccountNumber.FIRST_ID and company.numeric_id >= AccountNumber.FIRST_ID
    assert AuditLogEntry.objects.filter(company=company, action="company.created", actor=demo.staff).exists()


def test_company_update_without_changes_writes_nothing(demo):
    entries = AuditLogEntry.objects.count()
    company_update(company=demo.eritech, actor=demo.staff, name=demo.eritech.name, city=demo.eritech.city)
    assert AuditLogEntry.objects.count() == entries


def test_company_update_refuses_a_cycle(demo):
    with pytest.raises(ValidationError) as error:
        company_update(company=demo.abbiebox, actor=demo.staff, parent=demo.eritech)
    assert error.value.message_dict == {"parent": [str(COMPANY_BELOW_ITSELF)]}
    assert Company.objects.get(pk=demo.abbiebox.pk).parent_id == demo.intcomex.pk
