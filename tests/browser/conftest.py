import os
from pathlib import Path

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


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where a walk's screenshots go: $ICP_SCREENSHOTS (e.g. /work/screenshots/issue-27) when set, else the
    test's temporary folder."""
    folder = Path(os.environ.get("ICP_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def pytest_collection_modifyitems(config, items):
    """Browser tests check what a reseller sees and clicks; the database behind the pages is checked
    by the view tests on both databases, so these run in the SQLite pass of `make test` only."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.once)
