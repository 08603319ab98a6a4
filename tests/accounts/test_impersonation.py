"""Staff impersonation (django-hijack): from the user page or the user admin; the "Impersonated" badge
and the way back on every portal page; audit entries written meanwhile name both; refusals."""

import pytest
from django.urls import reverse

from accounts.impersonation import IMPERSONATE_INACTIVE, IMPERSONATE_SUPERUSER, impersonation_refusal
from accounts.models import AuditLogEntry, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ACQUIRE = "/hijack/acquire/"
RELEASE = "/hijack/release/"


def impersonate(client, user, next_url="/"):
    return client.post(ACQUIRE, {"user_pk": user.pk, "next": next_url})


def test_staff_impersonate_a_reseller_user_and_see_the_badge_everywhere(staff_client, demo):
    page = staff_client.get(reverse("user_detail", args=[demo.admin_abbie.pk])).content.decode()
    assert f'name="user_pk" value="{demo.admin_abbie.pk}"' in page and "IMPERSONATE" in page

    response = impersonate(staff_client, demo.admin_abbie)
    assert response.status_code == 302
    for url in (
        reverse("company_detail", args=[demo.eritech.account_id]),
        reverse("imports:my_imports"),
        reverse("user_detail", args=[demo.admin_abbie.pk]),
        reverse("search") + "?q=kiosk",
    ):
        html = staff_client.get(url).content.decode()
        assert "Impersonated" in html and "<strong>admin@abbiebox.com</strong>" in html, url
        assert f'action="{RELEASE}"' in html
    # As the user: ANDES CLOUD is out of reach, as for admin@abbiebox.com itself.
    assert staff_client.get(reverse("company_detail", args=[demo.andes.account_id])).status_code == 404

    started = AuditLogEntry.objects.get(action="impersonation.started")
    assert started.actor == demo.staff and started.target_user == demo.admin_abbie
    assert "staff@intcomex.example" in started.message and "admin@abbiebox.com" in started.message


def test_audit_entries_written_while_impersonating_name_both(staff_client, demo):
    impersonate(staff_client, demo.admin_abbie)
    staff_client.post(reverse("user_rename", args=[demo.admin_abbie.pk]), {"first_name": "Carla", "last_name": "M."})
    entry = AuditLogEntry.objects.get(action="user.renamed")
    assert entry.actor == demo.admin_abbie and entry.impersonator == demo.staff
    html = staff_client.get(reverse("company_detail", args=[demo.abbiebox.account_id]), {"tab": "audit"}).content.decode()
    assert "admin@abbiebox.com" in html and "impersonated by staff@intcomex.example" in html

    response = staff_client.post(RELEASE, {"next": reverse("user_detail", args=[demo.admin_abbie.pk])})
    assert response.status_code == 302
    ended = AuditLogEntry.objects.get(action="impersonation.ended")
    assert ended.actor == demo.staff and ended.impersonator is None and ended.target_user == demo.admin_abbie
    # Back as staff: no badge, and what is written now names the staff member alone.
    html = staff_client.get(reverse("user_detail", args=[demo.admin_abbie.pk])).content.decode()
    assert "Impersonated" not in html
    staff_client.post(reverse("user_rename", args=[demo.admin_abbie.pk]), {"first_name": "Carla", "last_name": "Mendoza"})
    last = AuditLogEntry.objects.filter(action="user.renamed").latest("id")
    assert last.actor == demo.staff and last.impersonator is None


def test_superusers_staff_and_inactive_users_cannot_be_impersonated(staff_client, demo):
    superuser = UserFactory(email="root@intcomex.example", company=demo.intcomex, is_staff=True, is_superuser=True)
    other_staff = UserFactory(email="ops@intcomex.example", company=demo.intcomex, is_staff=True)
    inactive = UserFactory(email="gone@abbiebox.com", company=demo.abbiebox, is_active=False)
    for target in (superuser, other_staff, inactive):
        response = impersonate(staff_client, target)
        assert response.status_code == 403, target
        assert "_auth_user_id" in staff_client.session and int(staff_client.session["_auth_user_id"]) == demo.staff.pk
    assert impersonation_refusal(hijacker=demo.staff, hijacked=superuser) == str(IMPERSONATE_SUPERUSER)
    assert impersonation_refusal(hijacker=demo.staff, hijacked=inactive) == str(IMPERSONATE_INACTIVE)
    assert not AuditLogEntry.objects.filter(action="impersonation.started").exists()
    # The user page says why instead of offering the button.
    html = staff_client.get(reverse("user_detail", args=[inactive.pk])).content.decode()
    assert 'name="user_pk"' not in html and "cannot be impersonated" in html


def test_resellers_cannot_impersonate(client, demo):
    client.force_login(demo.admin_abbie)
    colleague = UserFactory(email="ops@abbiebox.com", company=demo.abbiebox)
    assert impersonate(client, colleague).status_code == 403
    assert int(client.session["_auth_user_id"]) == demo.admin_abbie.pk
    assert 'name="user_pk"' not in client.get(reverse("user_detail", args=[colleague.pk])).content.decode()


def test_the_user_admin_offers_impersonation(staff_client, demo):
    html = staff_client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert f'data-hijack-user="{demo.admin_abbie.pk}"' in html
    assert f'data-hijack-user="{demo.staff.pk}"' not in html  # a superuser: no button


def test_impersonation_needs_a_post_with_the_csrf_token(demo):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(demo.staff)
    assert strict.post(ACQUIRE, {"user_pk": demo.admin_abbie.pk}).status_code == 403
    assert User.objects.get(pk=demo.staff.pk).is_staff


def test_impersonating_staff_cannot_take_over_the_users_credentials(staff_client, demo):
    """Resetting the password, creating an API token or changing the password as the user: refused
    with a message while impersonating (nothing written)."""
    from accounts.models import ApiToken

    impersonate(staff_client, demo.admin_abbie)
    new = "Quiet-harbour-4821"
    url = reverse("user_reset_password", args=[demo.admin_abbie.pk])
    response = staff_client.post(url, {"new_password1": new, "new_password2": new, "current_password": new}, follow=True)
    assert "cannot be reset while impersonating" in response.content.decode()
    response = staff_client.post(reverse("user_api_token_create", args=[demo.admin_abbie.pk]), {"name": "x"}, follow=True)
    assert "cannot be created while impersonating" in response.content.decode()
    response = staff_client.post(reverse("password_change"), {"old_password": "x", "new_password1": new,
                                                              "new_password2": new}, follow=True)
    assert "cannot be changed while impersonating" in response.content.decode()
    demo.admin_abbie.refresh_from_db()
    assert not demo.admin_abbie.check_password(new)
    assert not ApiToken.objects.exists()
