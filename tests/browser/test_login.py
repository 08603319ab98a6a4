"""In the browser: a wrong password shows the login error; logging out works."""

import pytest
from django.contrib.auth.forms import AuthenticationForm
from playwright.sync_api import expect

from accounts.models import User
from tests.conftest import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INVALID_LOGIN = str(AuthenticationForm.error_messages["invalid_login"] % {"username": User._meta.get_field("email").verbose_name})


def test_wrong_password_shows_the_error(page, live_server, demo):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("admin@abbiebox.com")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_have_text(INVALID_LOGIN)
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_label("Email")).to_have_value("admin@abbiebox.com")
    expect(page.get_by_label("Password")).to_have_value("")


def test_log_in_and_log_out(page, live_server, demo):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("admin@abbiebox.com")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ABBIE BOX S.A.C.")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    page.goto(f"{live_server.url}/companies/466158/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/companies/466158/")
