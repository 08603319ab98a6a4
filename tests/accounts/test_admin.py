"""Django admin: every registered model's changelist, change and add pages work for staff."""

import pytest
from django.utils import timezone
from django.contrib import admin
from django.urls import reverse

from accounts.users.api_tokens import api_token_create
from accounts.models import (
    COMPANY_BELOW_ITSELF,
    USER_EMAIL_TAKEN,
    AccountNumber,
    AuditLogEntry,
    Company,
    User,
    WebhookEndpoint,
)
from accounts.services import account_ids_allocate, audit_log_record
from accounts.webhooks import new_secret
from catalog.integrations.budget import tenant_request_reserve
from catalog.integrations.circuit import circuit_failed
from catalog.integrations.pauses import tenant_pause
from orders.models import Order, Subscription, SubscriptionChange
from tests.vendor.ui_helpers import vendor_call

pytestmark = pytest.mark.django_db

OUR_APPS = {"accounts", "catalog", "orders"}


@pytest.fixture
def every_model_has_a_row(demo):
    """The demo data plus the rows seed_demo does not write, so every change page can be opened."""
    api_token_create(actor=demo.admin_abbie, user=demo.admin_abbie, name="admin page")
    audit_log_record(company=demo.eritech, actor=demo.admin_abbie, action="test", message="An entry")
    account_ids_allocate(count=1)
    Order.objects.create(company=demo.eritech, created_by=demo.admin_abbie)
    WebhookEndpoint.objects.create(company=demo.abbiebox, url="https://hooks.abbiebox.example/icp", secret=new_secret())
    vendor_call(demo.eritech, at=timezone.now())
    tenant_pause("microsoft", "e0d72b05-fb92-4d65-9424-7b58ea99d5d3", until=timezone.now())
    tenant_request_reserve("microsoft", "e0d72b05-fb92-4d65-9424-7b58ea99d5d3", now=timezone.now())
    circuit_failed("microsoft", now=timezone.now())
    subscription = Subscription.objects.filter(company=demo.eritech).exclude(term="").first()
    SubscriptionChange.objects.get_or_create(
        subscription=subscription, kind=SubscriptionChange.Kind.QUANTITY,
        defaults={"when": SubscriptionChange.When.AT, "due_at": timezone.now(), "quantity": 3, "before": {"quantity": 1}},
    )


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_changelist_and_change_page_answers_200(staff_client, every_model_has_a_row):
    checked_change_pages = set()
    for model, model_admin in admin.site._registry.items():
        response = staff_client.get(admin_url(model, "changelist"))
        assert response.status_code == 200, model
        if model_admin.search_fields:
            for term in ("466158", "abc", "%_'\"<x>"):
                assert staff_client.get(admin_url(model, "changelist"), {"q": term}).status_code == 200, (model, term)
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            response = staff_client.get(admin_url(model, "change", obj.pk))
            assert response.status_code == 200, model
            checked_change_pages.add(model._meta.label)
    ours = {m._meta.label for m in admin.site._registry if m._meta.app_label in OUR_APPS}
    assert ours <= checked_change_pages


def test_every_model_of_our_apps_is_registered():
    from django.apps import apps

    registered = set(admin.site._registry)
    for label in OUR_APPS:
        for model in apps.get_app_config(label).get_models():
            assert model in registered, model


def test_every_add_page_answers_200_where_adding_is_allowed(staff_client, rf, demo):
    request = rf.get("/")
    request.user = demo.staff
    for model, model_admin in admin.site._registry.items():
        response = staff_client.get(admin_url(model, "add"))
        expected = 200 if model_admin.has_add_permission(request) else 403
        assert response.status_code == expected, model


def test_audit_log_and_account_numbers_are_read_only(staff_client, every_model_has_a_row):
    entry = AuditLogEntry.objects.first()
    assert staff_client.get(admin_url(AuditLogEntry, "add")).status_code == 403
    response = staff_client.post(admin_url(AuditLogEntry, "change", entry.pk), {"action": "tampered", "message": "x"})
    assert response.status_code == 403
    assert AuditLogEntry.objects.get(pk=entry.pk).action == "test"
    assert staff_client.post(admin_url(AuditLogEntry, "delete", entry.pk), {"post": "yes"}).status_code == 403
    number = AccountNumber.objects.first()
    assert staff_client.get(admin_url(AccountNumber, "add")).status_code == 403
    assert staff_client.post(admin_url(AccountNumber, "delete", number.pk), {"post": "yes"}).status_code == 403


def test_company_change_page_shows_the_parent_chain(staff_client, demo):
    html = staff_client.get(admin_url(Company, "change", demo.eritech.pk)).content.decode()
    assert "INTCOMEX PERU S.A.C. &gt; ABBIE BOX S.A.C. &gt; ERITECH PERU S.A." in html


def company_form_data(**overrides):
    data = {
        "name": "NUEVO CLIENTE S.A.C.",
        "kind": Company.Kind.CUSTOMER,
        "status": Company.Status.ACTIVE,
        "parent": "",
        "account_id": "",
        "numeric_id": "",
        "language": "English",
        "currency": "USD",
        "send_to_backend": "on",
        "is_billable": "on",
    }
    data.update(overrides)
    return data


def test_add_a_company_in_the_admin(staff_client, demo):
    response = staff_client.post(admin_url(Company, "add"), company_form_data(parent=demo.abbiebox.pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    company = Company.objects.get(name="NUEVO CLIENTE S.A.C.")
    # Ids come from the shared sequence, the path puts it under ABBIE BOX.
    assert company.account_id >= AccountNumber.FIRST_ID and company.numeric_id >= AccountNumber.FIRST_ID
    assert company.account_id != company.numeric_id
    assert [a.name for a in company.ancestors()] == ["INTCOMEX PERU S.A.C.", "ABBIE BOX S.A.C."]
    assert company.subtree().count() == 1
    assert AuditLogEntry.objects.filter(company=company, actor=demo.staff, action="company.created").exists()
    # The reseller now sees it.
    staff_client.force_login(demo.admin_abbie)
    assert staff_client.get(f"/companies/{company.account_id}/").status_code == 200


def test_add_a_company_with_typed_ids(staff_client, demo):
    response = staff_client.post(admin_url(Company, "add"), company_form_data(account_id="123456", numeric_id="654321"))
    assert response.status_code == 302
    company = Company.objects.get(account_id=123456)
    assert company.numeric_id == 654321 and company.parent is None


def test_duplicate_account_id_is_a_form_error(staff_client, demo):
    response = staff_client.post(admin_url(Company, "add"), company_form_data(account_id="466158"))
    assert response.status_code == 200
    assert "Company with this Account id already exists." in response.content.decode()


def test_moving_a_company_below_itself_is_a_form_error(staff_client, demo):
    # Moving ABBIE BOX below its own customer ERITECH.
    data = company_form_data(name=demo.abbiebox.name, kind=demo.abbiebox.kind, parent=demo.eritech.pk,
                             account_id=demo.abbiebox.account_id, numeric_id=demo.abbiebox.numeric_id)
    response = staff_client.post(admin_url(Company, "change", demo.abbiebox.pk), data)
    assert response.status_code == 200
    assert str(COMPANY_BELOW_ITSELF) in response.content.decode()
    demo.abbiebox.refresh_from_db()
    assert demo.abbiebox.parent_id == demo.intcomex.pk


def test_reparenting_in_the_admin_moves_the_subtree(staff_client, demo):
    data = company_form_data(name=demo.abbiebox.name, kind=demo.abbiebox.kind, parent=demo.andes.pk,
                             account_id=demo.abbiebox.account_id, numeric_id=demo.abbiebox.numeric_id)
    assert staff_client.post(admin_url(Company, "change", demo.abbiebox.pk), data).status_code == 302
    eritech = Company.objects.get(pk=demo.eritech.pk)
    assert [a.name for a in eritech.ancestors()] == ["INTCOMEX PERU S.A.C.", "ANDES CLOUD S.A.C.", "ABBIE BOX S.A.C."]
    staff_client.force_login(demo.admin_andes)
    assert staff_client.get("/companies/466158/").status_code == 200


def test_add_a_user_with_email_and_password(staff_client, demo, client):
    response = staff_client.post(
        admin_url(User, "add"),
        {"email": "new.user@abbiebox.com", "company": demo.abbiebox.pk, "usable_password": "true",
         "password1": "A-long-pass-9371", "password2": "A-long-pass-9371"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(email="new.user@abbiebox.com")
    assert user.company == demo.abbiebox and user.check_password("A-long-pass-9371")
    assert not user.is_staff
    staff_client.post("/logout/")
    login = staff_client.post("/login/", {"username": "new.user@abbiebox.com", "password": "A-long-pass-9371"})
    assert login.status_code == 302


def test_add_user_rejects_mismatched_passwords_and_duplicate_email(staff_client, demo):
    response = staff_client.post(
        admin_url(User, "add"),
        {"email": "admin@abbiebox.com", "usable_password": "true", "password1": "A-long-pass-9371", "password2": "other-pass-9371"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert str(USER_EMAIL_TAKEN) in html
    assert "The two password fields didn’t match." in html


def test_user_change_page_edits_without_username(staff_client, demo):
    user = demo.admin_abbie
    html = staff_client.get(admin_url(User, "change", user.pk)).content.decode()
    assert 'name="email"' in html and 'name="username"' not in html
    response = staff_client.post(
        admin_url(User, "change", user.pk),
        {"email": user.email, "first_name": "Carla", "last_name": "Mendoza-Ríos", "company": demo.abbiebox.pk,
         "is_active": "on", "last_login_0": "", "last_login_1": "",
         "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00", "primary_identity": "internal"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    user.refresh_from_db()
    assert user.last_name == "Mendoza-Ríos"
    assert user.check_password("icp-demo-2024")  # the password is untouched


def test_user_password_change_form(staff_client, demo):
    url = reverse("admin:auth_user_password_change", args=[demo.admin_abbie.pk])
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, {"usable_password": "true", "password1": "Brand-new-pass-771", "password2": "Brand-new-pass-771"})
    assert response.status_code == 302
    demo.admin_abbie.refresh_from_db()
    assert demo.admin_abbie.check_password("Brand-new-pass-771")


def test_autocomplete_for_companies(staff_client, demo):
    response = staff_client.get(
        "/admin/autocomplete/", {"app_label": "accounts", "model_name": "user", "field_name": "company", "term": "eritech"}
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["ERITECH PERU S.A."]


def test_autocomplete_fields_are_declared_for_foreign_keys():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS or model in (AuditLogEntry, AccountNumber):
            continue
        foreign_keys = {
            f.name for f in model._meta.get_fields()
            if (f.many_to_one or f.one_to_one or f.many_to_many) and not f.auto_created and f.editable
            and f.name not in ("groups", "user_permissions")
        }
        assert foreign_keys <= set(model_admin.autocomplete_fields), (model, foreign_keys - set(model_admin.autocomplete_fields))


def test_non_staff_cannot_open_the_admin(client, demo):
    client.force_login(demo.admin_abbie)
    response = client.get(admin_url(Company, "changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_subscription_change_page_keeps_captured_prices(staff_client, demo):
    subscription = Subscription.objects.get(account_id=493796)
    html = staff_client.get(admin_url(Subscription, "change", subscription.pk)).content.decode()
    assert 'name="unit_price"' not in html  # read-only once created


# --- Staff with change_user do not become superuser (issue 23) -------------------------------------


@pytest.fixture
def operator_client(client, demo):
    """A staff member (not superuser) allowed to view and change users."""
    from django.contrib.auth.models import Group, Permission

    from tests.factories import UserFactory

    operator = UserFactory(email="ops@intcomex.example", company=demo.intcomex, is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename__in=("view_user", "change_user")))
    Group.objects.create(name="Everything")
    client.force_login(operator)
    client.operator = operator
    return client


def _user_post(user, demo, **extra):
    return {"email": user.email, "first_name": user.first_name, "last_name": user.last_name,
            "company": user.company_id or "", "is_active": "on", "last_login_0": "", "last_login_1": "",
            "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00", "primary_identity": "internal", **extra}


def test_a_non_superuser_cannot_set_a_superusers_password_or_edit_it(operator_client, demo):
    url = reverse("admin:auth_user_password_change", args=[demo.staff.pk])
    assert operator_client.get(url).status_code == 403
    response = operator_client.post(url, {"usable_password": "true", "password1": "Brand-new-pass-771",
                                          "password2": "Brand-new-pass-771"})
    assert response.status_code == 403
    response = operator_client.post(admin_url(User, "change", demo.staff.pk),
                                    _user_post(demo.staff, demo, email="ops-owned@intcomex.example"))
    assert response.status_code == 403
    demo.staff.refresh_from_db()
    assert demo.staff.check_password("icp-demo-2024") and demo.staff.email == "staff@intcomex.example"


def test_a_non_superuser_cannot_grant_itself_privileges(operator_client, demo):
    from django.contrib.auth.models import Group, Permission

    operator = operator_client.operator
    html = operator_client.get(admin_url(User, "change", operator.pk)).content.decode()
    assert 'name="is_superuser"' not in html and 'name="user_permissions"' not in html and 'name="groups"' not in html
    every = Permission.objects.values_list("pk", flat=True)
    response = operator_client.post(
        admin_url(User, "change", operator.pk),
        _user_post(operator, demo, is_staff="on", is_superuser="on", groups=[Group.objects.get().pk],
                   user_permissions=list(every)),
    )
    assert response.status_code == 302
    operator.refresh_from_db()
    assert not operator.is_superuser and not operator.groups.exists()
    assert set(operator.user_permissions.values_list("codename", flat=True)) == {"view_user", "change_user"}
    # Nor to a reseller user.
    operator_client.post(admin_url(User, "change", demo.admin_abbie.pk),
                         _user_post(demo.admin_abbie, demo, is_staff="on", is_superuser="on"))
    demo.admin_abbie.refresh_from_db()
    assert not demo.admin_abbie.is_staff and not demo.admin_abbie.is_superuser


def test_a_password_set_in_the_admin_revokes_the_users_tokens(staff_client, demo):
    from accounts.models import ApiToken

    api_token_create(actor=demo.admin_abbie, user=demo.admin_abbie, name="old")
    url = reverse("admin:auth_user_password_change", args=[demo.admin_abbie.pk])
    staff_client.post(url, {"usable_password": "true", "password1": "Brand-new-pass-771", "password2": "Brand-new-pass-771"})
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
