import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD


@pytest.fixture
def log_in(page, live_server):
    default_page = page
    """Log in through the real login form as one of the demo users."""

    def log_in_as(email: str, password: str = DEMO_PASSWORD, *, on=None):
        page = on or default_page
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()

    return log_in_as
