"""Users in the company structure, the user page and its actions (RENAME, RESET PASSWORD,
CREDENTIALS TO THIS USER, TERMINATE); a reseller manages the users of its own subtree only."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import AuditLogEntry, User
from accounts.users.services import CANNOT_TERMINATE_SELF
from tests.conftest import DEMO_PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quiet-harbour-4821"


@pytest.fixture
def eritech_user(demo):
    return UserFactory(email="it@eritechperu.com", company=demo.eritech, first_name="Lucía", last_name="Fernández",
                       city="Lima", job_title="IT manager")


def user_url(user, name="user_detail"):
    return reverse(name, kwargs={"user_id": user.pk})


def test_users_appear_in_the_company_structure_under_their_company(abbie_client, demo, eritech_user):
    html = abbie_client.get(reverse("company_detail", args=[demo.abbiebox.account_id])).content.decode()
    assert f'href="{user_url(demo.admin_abbie)}">admin@abbiebox.com</a>' in html
    assert "it@eritechperu.com" not in html  # a customer's users are under the customer
    html = abbie_client.get(reverse("company_detail", args=[demo.eritech.account_id])).content.decode()
    assert f'href="{user_url(eritech_user)}">it@eritechperu.com</a>' in html


def test_the_user_page_shows_the_manuals_tabs_sections_fields_and_action_bar(abbie_client, demo):
    response = abbie_client.get(user_url(demo.admin_abbie))
    assert response.status_code == 200
    html = response.content.decode()
    breadcrumb = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split('class="breadcrumb"')[1].split("</nav>")[0]))
    assert "INTCOMEX PERU S.A.C. &gt; ABBIE BOX S.A.C. &gt; admin@abbiebox.com" in breadcrumb
    for tab in ("USER INFO", "ADDITIONAL INFORMATION", "AVAILABLE SERVICES", "NOTIFICATIONS", "SECURITY", "AUDIT LOG", "USER LOG"):
        assert f">{tab}</a>" in html
    for section in ("NAME", "CONTACT INFORMATION", "LOGIN INFORMATION"):
        assert f"<h2>{section}</h2>" in html
    for label in ("First name", "Last name", "Email", "Address", "City", "Country", "Zip code", "Phone", "Manager",
                  "Fax", "Mobile", "Department", "Office", "Phone (home)", "Job title", "Username",
                  "Primary identity", "Change password in next login", "Password expiration date", "Last login"):
        assert f"<dt>{label}</dt>" in html, label
    assert "<dd>Carla</dd>" in html and "<dd>Internal</dd>" in html
    actions = html.split('class="actionbar"')[1]
    for enabled in ("CREDENTIALS TO THIS USER", "RENAME", "RESET PASSWORD"):
        assert enabled in actions
    for disabled in ("NEW SERVICE", "MOVE"):
        assert re.search(rf'disabled title="[^"]*">{re.escape(disabled)}</button>', actions), disabled
    # + NEW opens the new user form of the user's company (imports.bulk.new_account).
    assert re.search(r'<a class="btn primary" href="/imports/new/\d+/\?kind=user">\+ NEW</a>', actions)
    # A user cannot terminate itself: the button is there, disabled.
    assert re.search(r'disabled title="[^"]*">TERMINATE</button>', actions)


def test_a_reseller_opens_its_customers_users_but_not_another_resellers(abbie_client, demo, eritech_user):
    assert abbie_client.get(user_url(eritech_user)).status_code == 200
    assert abbie_client.get(user_url(demo.admin_andes)).status_code == 404
    assert abbie_client.get(user_url(demo.staff)).status_code == 404  # staff belong to the distributor
    assert abbie_client.get(reverse("user_detail", kwargs={"user_id": 999999})).status_code == 404
    for name in ("user_rename", "user_reset_password", "user_credentials", "user_terminate"):
        assert abbie_client.post(user_url(demo.admin_andes, name), {"first_name": "x"}).status_code == 404
    demo.admin_andes.refresh_from_db()
    assert demo.admin_andes.is_active and demo.admin_andes.first_name == "Jorge"


def test_rename(abbie_client, demo, eritech_user):
    assert abbie_client.get(user_url(eritech_user, "user_rename")).status_code == 200
    response = abbie_client.post(user_url(eritech_user, "user_rename"), {"first_name": " Lucía ", "last_name": "Fernández Ríos"})
    assert response.status_code == 302 and response["Location"] == user_url(eritech_user)
    eritech_user.refresh_from_db()
    assert (eritech_user.first_name, eritech_user.last_name) == ("Lucía", "Fernández Ríos")
    entry = AuditLogEntry.objects.get(action="user.renamed")
    assert entry.actor == demo.admin_abbie and entry.target_user == eritech_user and entry.company == demo.eritech
    response = abbie_client.post(user_url(eritech_user, "user_rename"), {"first_name": "x" * 151, "last_name": ""})
    assert response.status_code == 200 and "at most 150 characters" in response.content.decode()


def test_reset_password_applies_the_validators_and_asks_for_a_change_at_next_login(abbie_client, client, demo, eritech_user):
    url = user_url(eritech_user, "user_reset_password")
    response = abbie_client.post(url, {"new_password1": "12345678", "new_password2": "12345678", "change_at_next_login": "on"})
    assert response.status_code == 200
    assert "This password is entirely numeric." in response.content.decode()
    response = abbie_client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, "change_at_next_login": "on"})
    assert response.status_code == 302
    eritech_user.refresh_from_db()
    assert eritech_user.check_password(NEW_PASSWORD) and eritech_user.must_change_password
    assert AuditLogEntry.objects.filter(action="user.password_reset", target_user=eritech_user).exists()

    # The user logs in with it and must choose its own password before anything else.
    other = type(client)()
    assert other.post("/login/", {"username": eritech_user.email, "password": NEW_PASSWORD}).status_code == 302
    response = other.get(reverse("company_detail", args=[demo.eritech.account_id]))
    assert response.status_code == 302 and response["Location"] == reverse("password_change")
    response = other.post(reverse("password_change"), {
        "old_password": NEW_PASSWORD, "new_password1": "Another-quiet-harbour-77", "new_password2": "Another-quiet-harbour-77",
    })
    assert response.status_code == 302
    eritech_user.refresh_from_db()
    assert not eritech_user.must_change_password
    assert other.get(reverse("company_detail", args=[demo.eritech.account_id])).status_code == 200


def test_credentials_email_has_a_one_time_set_password_link(
    abbie_client, client, demo, eritech_user, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "http://portal.example:8123"
    with django_capture_on_commit_callbacks(execute=True):  # sent after the commit
        response = abbie_client.post(user_url(eritech_user, "user_credentials"))
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["it@eritechperu.com"] and "it@eritechperu.com" in message.body
    link = re.search(r"http://portal\.example:8123(/set-password/\S+/)", message.body).group(1)
    assert AuditLogEntry.objects.filter(action="user.credentials_sent", target_user=eritech_user).exists()

    anonymous = type(client)()
    response = anonymous.get(link, follow=True)
    assert response.status_code == 200 and 'name="new_password1"' in response.content.decode()
    form_url = response.redirect_chain[-1][0]
    response = anonymous.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    eritech_user.refresh_from_db()
    assert eritech_user.check_password(NEW_PASSWORD)

    # Used once, the link no longer works.
    response = type(client)().get(link, follow=True)
    assert "This link is no longer valid" in response.content.decode()


def test_credentials_are_not_sent_to_a_terminated_user(abbie_client, demo, eritech_user):
    User.objects.filter(pk=eritech_user.pk).update(is_active=False)
    response = abbie_client.post(user_url(eritech_user, "user_credentials"), follow=True)
    assert "This user is terminated" in response.content.decode()
    assert mail.outbox == []


def test_terminate_deactivates_the_user_who_can_no_longer_log_in(abbie_client, client, demo, eritech_user):
    page = abbie_client.get(user_url(eritech_user, "user_terminate"))
    assert "Are you sure you want to terminate the user it@eritechperu.com?" in page.content.decode()
    response = abbie_client.post(user_url(eritech_user, "user_terminate"))
    assert response.status_code == 302
    eritech_user.refresh_from_db()
    assert not eritech_user.is_active
    assert AuditLogEntry.objects.filter(action="user.terminated", target_user=eritech_user).exists()
    other = type(client)()
    other.post("/login/", {"username": eritech_user.email, "password": "pw-for-tests-1"})
    assert "_auth_user_id" not in other.session
    html = abbie_client.get(user_url(eritech_user)).content.decode()
    assert "Terminated" in html


def test_a_user_cannot_terminate_itself(abbie_client, demo):
    response = abbie_client.post(user_url(demo.admin_abbie, "user_terminate"), follow=True)
    assert str(CANNOT_TERMINATE_SELF) in response.content.decode()
    demo.admin_abbie.refresh_from_db()
    assert demo.admin_abbie.is_active


def test_terminating_keeps_the_users_pending_jobs(abbie_client, demo):
    import datetime as dt

    from django.utils import timezone

    from imports.models import ImportJob
    from tests.imports.helpers import schedule

    colleague = UserFactory(email="ops@abbiebox.com", company=demo.abbiebox)
    job = schedule(demo, due_at=timezone.now() + dt.timedelta(days=2), user=colleague)
    assert abbie_client.post(user_url(colleague, "user_terminate")).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING and job.created_by == colleague


def test_audit_log_and_user_log_tabs(abbie_client, client, demo, eritech_user):
    abbie_client.post(user_url(eritech_user, "user_rename"), {"first_name": "Ana", "last_name": "Ruiz"})
    html = abbie_client.get(user_url(eritech_user), {"tab": "audit"}).content.decode()
    assert "user.renamed" in html and "admin@abbiebox.com" in html
    # USER LOG: the user's own actions and logins.
    abbie_client.post("/logout/")
    abbie_client.post("/login/", {"username": "admin@abbiebox.com", "password": DEMO_PASSWORD})
    html = abbie_client.get(user_url(demo.admin_abbie), {"tab": "log"}).content.decode()
    assert "user.renamed" in html and "user.logged_in" in html


def test_user_page_refuses_post(abbie_client, demo):
    assert abbie_client.post(user_url(demo.admin_abbie)).status_code == 405


def test_only_a_superuser_may_act_on_staff_accounts(client, demo):
    operator = UserFactory(email="ops@intcomex.example", company=demo.intcomex, is_staff=True)
    client.force_login(operator)
    assert client.get(user_url(demo.staff)).status_code == 200  # staff see everyone
    response = client.post(user_url(demo.staff, "user_reset_password"),
                           {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 403
    demo.staff.refresh_from_db()
    assert demo.staff.check_password(DEMO_PASSWORD)
    # A staff member manages reseller users.
    response = client.post(user_url(demo.admin_andes, "user_rename"), {"first_name": "Jorge", "last_name": "P."})
    assert response.status_code == 302


def test_resetting_ones_own_password_asks_for_the_current_one(abbie_client, demo, eritech_user):
    url = user_url(demo.admin_abbie, "user_reset_password")
    assert 'name="current_password"' in abbie_client.get(url).content.decode()
    # Another user's page does not ask (the manager does not know it).
    assert 'name="current_password"' not in abbie_client.get(user_url(eritech_user, "user_reset_password")).content.decode()
    for current in ("", "wrong-password"):
        response = abbie_client.post(url, {"current_password": current, "new_password1": NEW_PASSWORD,
                                           "new_password2": NEW_PASSWORD})
        assert response.status_code == 200
        demo.admin_abbie.refresh_from_db()
        assert demo.admin_abbie.check_password(DEMO_PASSWORD)
    response = abbie_client.post(url, {"current_password": DEMO_PASSWORD, "new_password1": NEW_PASSWORD,
                                       "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    demo.admin_abbie.refresh_from_db()
    assert demo.admin_abbie.check_password(NEW_PASSWORD)
