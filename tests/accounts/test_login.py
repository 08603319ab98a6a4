"""Login with email and password through the real form; logout by POST."""

import pytest
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import User
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

INVALID_LOGIN = str(AuthenticationForm.error_messages["invalid_login"] % {"username": User._meta.get_field("email").verbose_name})


def test_login_page_renders(client):
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html and "csrfmiddlewaretoken" in html


def test_login_with_email_and_password(client, demo):
    response = client.post("/login/", {"username": "admin@abbiebox.com", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/", follow=True).redirect_chain[-1][0] == f"/companies/{demo.abbiebox.account_id}/"


def test_login_follows_next(client, demo):
    response = client.post("/login/?next=/companies/466158/", {
        "username": "admin@abbiebox.com", "password": DEMO_PASSWORD, "next": "/companies/466158/"
    })
    assert response["Location"] == "/companies/466158/"


def test_login_does_not_follow_an_external_next(client, demo):
    response = client.post("/login/", {"username": "admin@abbiebox.com", "password": DEMO_PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    "username, password",
    [
        ("admin@abbiebox.com", "wrong-password"),
        ("nobody@nowhere.example", DEMO_PASSWORD),
        ("admin@abbiebox.com", ""),
        ("", ""),
        ("<script>alert(1)</script>", "x"),
        ("a" * 500 + "@x.example", "x" * 5000),
    ],
)
def test_wrong_credentials_show_the_error_not_a_500(client, demo, username, password):
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert '_auth_user_id' not in client.session
    if username and password:
        assert INVALID_LOGIN in html.replace("&#x27;", "'")


def test_inactive_user_cannot_log_in(client, demo):
    User.objects.filter(pk=demo.admin_abbie.pk).update(is_active=False)
    response = client.post("/login/", {"username": "admin@abbiebox.com", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(client, demo):
    client.post("/login/", {"username": "admin@abbiebox.com", "password": DEMO_PASSWORD})
    assert client.get("/companies/466158/").status_code == 200
    assert client.get("/logout/").status_code == 405  # a link or a prefetch cannot log the user out
    assert client.get("/companies/466158/").status_code == 200
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/companies/466158/").status_code == 302


def test_logout_needs_the_csrf_token():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/logout/").status_code == 403


def test_pages_show_the_logout_form(client, demo):
    client.force_login(demo.admin_abbie)
    html = client.get("/companies/466158/").content.decode()
    assert 'action="/logout/"' in html and "Log out" in html
