import os

import pytest

# live_server tests drive Playwright's sync API, which runs an event loop in this thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
DEMO_PASSWORD = "icp-demo-2024"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium: Playwright cannot download its own browser here."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(autouse=True)
def _skip_without_backend(request):
    """PostgreSQL tests run only when the database is PostgreSQL, Redis tests only with REDIS_URL
    (`make test` runs them in a second pass against the servers it starts)."""
    from django.conf import settings
    from django.db import connection

    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    if request.node.get_closest_marker("redis") and not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """seed_demo hashes three passwords per test; the production hasher's cost is not what tests check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(db):
    """The manual's scenario, built by devtools.demo (what the seed_demo command runs)."""
    from devtools.demo import DemoRefs, seed_demo

    seed_demo(password=DEMO_PASSWORD)
    return DemoRefs.load()


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request in Spanish leaves Spanish active in this thread (LocaleMiddleware activates the
    request's language and nothing resets it); the next test must start in the default language."""
    yield
    from django.utils import translation

    translation.deactivate()
