import os

import pytest

# live_server tests drive Playwright's sync API, which runs an event loop in this thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Orders are provisioned locally unless a test starts the Partner Center sandbox and turns Microsoft on
# (tests/vendor); processes the tests start (workers, make run) inherit it.
os.environ.setdefault("MICROSOFT_ENABLED", "false")



def pytest_configure(config):
    """SIGTERM stops the session as Ctrl-C does: KeyboardInterrupt, so every fixture's teardown runs and
    the servers and workers the tests started (in sessions of their own, out of reach of a signal to
    pytest's group) are stopped too. Python's default for SIGTERM is to die on the spot, leaving them
    running. `make test` stops its two passes this way (.ci/side-by-side). Only this process: a child
    forked from it (none today) keeps the default."""
    import signal

    session_pid = os.getpid()

    def interrupt(signum, frame):
        if os.getpid() != session_pid:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


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
    if request.node.get_closest_marker("once") and connection.vendor != "sqlite":
        # Ran in the SQLite pass already, and would run identically here: `make run`/`make serve` and the
        # worker-process tests use a SQLite file of their own, browser tests check the pages' UI.
        pytest.skip("database-independent: runs in the SQLite pass of make test")


FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Tests create users and log in; the production hasher's cost is not what tests check."""
    settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS


@pytest.fixture(autouse=True)
def microsoft_off(settings):
    """Local provisioning (settings were read before the environment above was set); tests that start
    the Partner Center sandbox turn Microsoft on with their own fixture, which runs after this one."""
    settings.MICROSOFT_ENABLED = False


# --- The Partner Center sandbox: one process for the session, started by the first test that asks -------

# The sandbox's faults as it starts: none (tests that set some put these back).
NO_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0, "rate_limit_rate": 0, "lost_response_rate": 0, "down": False}


@pytest.fixture(scope="session")
def vendor_sandbox(tmp_path_factory):
    """The Partner Center sandbox as a real process (tests/vendor_sandbox.py), shared by the session: the
    vendor tests (tests/vendor) and the browser walks that go through it (tests/browser)."""
    from tests.vendor_sandbox import Sandbox

    started = Sandbox(tmp_path_factory.mktemp("vendor"), "vendor", SANDBOX_PROVISIONING_SECONDS=0)
    yield started
    started.stop()


@pytest.fixture
def vendor(vendor_sandbox, settings):
    """The sandbox, with the portal's connector pointed at it and Microsoft on (after the autouse microsoft_off).
    Read timeouts are short so that a held response is an unknown outcome quickly; its faults are put
    back after the test."""
    from catalog.integrations.partner_center import partner_center_reset
    from tests.vendor_sandbox import CLIENT_ID, CLIENT_SECRET

    url = f"http://127.0.0.1:{vendor_sandbox.port}"
    settings.MICROSOFT_ENABLED = True
    settings.MICROSOFT_API_URL = url
    settings.MICROSOFT_TOKEN_URL = f"{url}/sandbox/oauth2/v2.0/token"
    settings.MICROSOFT_CLIENT_ID, settings.MICROSOFT_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.MICROSOFT_READ_TIMEOUT = 2.0
    partner_center_reset()
    vendor_sandbox.faults(**NO_FAULTS)
    yield vendor_sandbox
    vendor_sandbox.faults(**NO_FAULTS)
    partner_center_reset()


@pytest.fixture
def sandbox_clock(vendor):
    """Moves the session sandbox's clock forward (`sandbox_clock(seconds)`: a term's end, a renewal, a closed
    window is reached); put back to the real time after the test (renewals made meanwhile stay)."""

    def advance(seconds):
        response = vendor.request("POST", "/_sandbox/clock", {"advance_seconds": seconds}, auth=False, request_id=False)
        assert response.status == 200, response.body

    yield advance
    vendor.request("POST", "/_sandbox/clock", {"reset": True}, auth=False, request_id=False)


@pytest.fixture(autouse=True)
def vendor_backoff_without_jitter(monkeypatch):
    """A vendor order's backoff is a random wait within its bound (full jitter, imports.vendor.pacing);
    tests read exact times, so the jitter draws its largest value (the bound itself) unless a test of the
    jitter (tests/vendor/test_pacing.py) sets its own."""
    from imports.vendor import pacing

    monkeypatch.setattr(pacing.jitter_random, "random", lambda: 1.0)


# --- The demo world: built once per session, seen only by the tests that ask for `demo` ----------
#
# Most tests start from the manual's scenario (devtools.demo, what the seed_demo command runs). Building
# it for each test was most of the suite's set-up time, so the session builds it once, committed,
# right after pytest-django has created and migrated the test database (django_db_setup below).
# Every `db` test runs inside a transaction rolled back at its end, so the world stays exactly as
# seeded, and the ids it fixes (ERITECH PERU S.A. is account 466158, ...) hold in every test.
#
# - A test that asks for `demo` gets references to it, loaded afresh (a test may change them).
# - A test that does not ask for `demo` sees the database as before: without the world. Its tables
#   are emptied inside the test's own transaction (rolled back with it), before its fixtures run.
# - A transactional test (transaction=True, transactional_db, live_server) empties the database
#   when it ends (pytest-django's flush). pytest-django runs those after every `db` test, and the
#   next one that asks for `demo` builds the world again (committed, as its own writes are).

# ERITECH PERU S.A., the demo's customer: present exactly when the demo world is.
DEMO_COMPANY_ACCOUNT_ID = 466158
# The tables the demo world fills, measured when the session builds it.
DEMO_TABLES: list[str] = []


def demo_world_present() -> bool:
    from accounts.models import Company

    return Company.objects.filter(account_id=DEMO_COMPANY_ACCOUNT_ID).exists()


def build_demo_world() -> None:
    """Build the demo world unless it is there (one indexed query to find out)."""
    from django.test import override_settings

    from devtools.demo import seed_demo

    if demo_world_present():
        return
    with override_settings(PASSWORD_HASHERS=FAST_PASSWORD_HASHERS):
        seed_demo(password=DEMO_PASSWORD)


def delete_demo_world() -> None:
    """Empty the demo's tables, in one transaction (a savepoint inside a test's transaction).
    Foreign keys are checked at commit (Django creates them deferred), so the order is free."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table in DEMO_TABLES:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


def _row_counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        counts = {}
        for table in connection.introspection.django_table_names(only_existing=True):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
        return counts


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database (created and migrated), plus the demo world, committed."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        if demo_world_present():  # a database kept from an earlier session (--reuse-db)
            call_command("flush", interactive=False, verbosity=0)
        before = _row_counts()
        build_demo_world()
        after = _row_counts()
        DEMO_TABLES[:] = sorted(table for table, count in after.items() if count != before[table])
        # Emptying a table must remove the world and nothing else (no migration wrote to it).
        assert all(before[table] == 0 for table in DEMO_TABLES), {t: before[t] for t in DEMO_TABLES}


@pytest.fixture(scope="session", autouse=True)
def _flush_deletes_rows_on_postgresql():
    """After each transactional test Django empties every table (the flush command). On PostgreSQL
    it does so with one TRUNCATE of all of them, which gives each of some 40 tables and their
    indexes new files: about 0.2 s on an idle machine and over 1.5 s beside other database work,
    for tables holding a few rows. For the test session it deletes the rows instead, as it does
    on SQLite: the same empty tables, sequences left as they are (as TRUNCATE without RESTART
    IDENTITY leaves them), in one transaction (flush's own), where the foreign keys, all deferred
    (Django creates them so), are checked at its commit."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        delete = f"{style.SQL_KEYWORD('DELETE')} {style.SQL_KEYWORD('FROM')}"
        return [f"{delete} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True)
def _demo_world_only_when_asked(request):
    """A database test that does not ask for `demo` starts without the world, as it always did:
    counts, searches and "nothing yet" pages mean what they say."""
    names = request.fixturenames
    if "demo" in names:
        return
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db", "live_server"} & set(names)
    if not uses_db:
        return
    request.getfixturevalue("db")  # the test's transaction (or, if transactional, its database) first
    if demo_world_present():
        delete_demo_world()


@pytest.fixture
def demo(db):
    """The manual's scenario: references to its companies and users, loaded for this test."""
    from devtools.demo import DemoRefs

    build_demo_world()
    return DemoRefs.load()


@pytest.fixture
def abbie_client(client, demo):
    """The test client logged in as ABBIE BOX's admin (a reseller)."""
    client.force_login(demo.admin_abbie)
    return client


@pytest.fixture
def staff_client(client, demo):
    """The test client logged in as the distributor's staff member (staff and superuser)."""
    client.force_login(demo.staff)
    return client


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """For the tests whose real processes (workers, clusters) use a SQLite file of their own:
    `manage.py migrate` runs once per session, in a process of its own, and `migrated_sqlite(path)`
    puts a copy of that database at `path` (a migrate takes about 3 s; a copy, milliseconds)."""
    import contextlib
    import sqlite3
    import subprocess
    import sys

    from tests.processes import MANAGE

    template = tmp_path_factory.mktemp("migrated") / "migrated.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{template}", "REDIS_URL": ""}
    subprocess.run([sys.executable, MANAGE, "migrate", "--noinput"], env=env, check=True, capture_output=True, timeout=300)

    def copy(path):
        with contextlib.closing(sqlite3.connect(template)) as source, contextlib.closing(sqlite3.connect(path)) as target:
            source.backup(target)
        return path

    return copy


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request in Spanish leaves Spanish active in this thread (LocaleMiddleware activates the
    request's language and nothing resets it); the next test must start in the default language."""
    yield
    from django.utils import translation

    translation.deactivate()
