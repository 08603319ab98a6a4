"""Personal API tokens: Bearer authentication, stored hashed, revocable, and the operator command."""

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.users.api_tokens import api_token_revoke
from accounts.models import ApiToken
from accounts.users.api_authentication import TOKEN_INVALID, TOKEN_MALFORMED, TOKEN_MISSING

from .conftest import client_for, token_for

COMPANIES = "/api/v1/companies/"


def test_without_a_token_the_api_answers_401_in_json(demo):
    response = client_for(None).get(COMPANIES)
    assert response.status_code == 401
    assert response.json() == {"detail": str(TOKEN_MISSING), "errors": {}}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Token abc", "Basic dXNlcjpwYXNz"])
def test_a_malformed_authorization_header_is_401(demo, header):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(COMPANIES)
    assert response.status_code == 401
    assert response.json()["detail"] == str(TOKEN_MALFORMED)


def test_a_wrong_token_is_401(demo):
    response = client_for("icp_" + "x" * 43).get(COMPANIES)
    assert response.status_code == 401
    assert response.json()["detail"] == str(TOKEN_INVALID)


def test_a_revoked_token_is_401_from_then_on(demo):
    raw = token_for(demo.admin_abbie)
    client = client_for(raw)
    assert client.get(COMPANIES).status_code == 200
    token = ApiToken.objects.get()
    api_token_revoke(actor=demo.admin_abbie, token_id=token.pk)
    response = client.get(COMPANIES)
    assert response.status_code == 401
    assert response.json()["detail"] == str(TOKEN_INVALID)


def test_a_terminated_users_token_is_401(demo):
    client = client_for(token_for(demo.admin_abbie))
    demo.admin_abbie.is_active = False
    demo.admin_abbie.save()
    assert client.get(COMPANIES).status_code == 401


def test_the_token_is_stored_hashed_and_its_use_recorded(demo):
    raw = token_for(demo.admin_abbie, name="PSA sync")
    token = ApiToken.objects.get()
    assert raw.startswith("icp_") and len(raw) > 40
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (token.key_hash, token.prefix) and raw.startswith(token.prefix)
    assert token.last_used_at is None
    client_for(raw).get(COMPANIES)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_command_creates_a_token_and_prints_it(demo):
    out = StringIO()
    call_command("api_token", "create", "Admin@AbbieBox.com", "--name", "PSA", stdout=out)
    raw = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert (token.user, token.name) == (demo.admin_abbie, "PSA")
    assert client_for(raw).get(COMPANIES).status_code == 200


def test_the_command_refuses_an_unknown_user(demo):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("api_token", "create", "nobody@example.com", "--name", "x")
    assert not ApiToken.objects.exists()


# --- New credentials end the old tokens (issue 23) --------------------------------------------------


def _reset(actor, user, *, change_at_next_login):
    from accounts.users.services import user_password_reset

    user_password_reset(actor=actor, user=user, password="Quiet-harbour-4821", change_at_next_login=change_at_next_login)


@pytest.mark.parametrize("change_at_next_login", [False, True])
def test_a_password_reset_revokes_the_users_tokens(demo, change_at_next_login):
    client = client_for(token_for(demo.admin_abbie))
    assert client.get(COMPANIES).status_code == 200
    _reset(demo.staff, demo.admin_abbie, change_at_next_login=change_at_next_login)
    response = client.get(COMPANIES)
    assert response.status_code == 401 and response.json()["detail"] == str(TOKEN_INVALID)
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
    # A token made later (after choosing a new password) works.
    demo.admin_abbie.refresh_from_db()
    demo.admin_abbie.must_change_password = False
    demo.admin_abbie.save()
    assert client_for(token_for(demo.admin_abbie)).get(COMPANIES).status_code == 200


def test_a_forced_password_change_suspends_the_users_tokens(demo):
    """'Change password in next login' set in the admin: the token is refused until the user has chosen."""
    client = client_for(token_for(demo.admin_abbie))
    demo.admin_abbie.must_change_password = True
    demo.admin_abbie.save()
    assert client.get(COMPANIES).status_code == 401
    demo.admin_abbie.must_change_password = False
    demo.admin_abbie.save()
    assert client.get(COMPANIES).status_code == 200


def test_terminating_revokes_the_users_tokens(demo):
    from accounts.users.services import user_terminate

    client = client_for(token_for(demo.admin_abbie))
    user_terminate(actor=demo.staff, user=demo.admin_abbie)
    demo.admin_abbie.is_active = True  # activated again: the old tokens stay dead
    demo.admin_abbie.save()
    assert client.get(COMPANIES).status_code == 401
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
