"""Login protection (django-axes) on /login/ and /admin/login/: 5 failures for one account or 20 from
one address within 15 minutes lock it for 15 minutes, with a message saying until when."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import User
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

START = dt.datetime(2030, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
ANDES = "admin@andescloud.example"


def log_in(client, username, password, url="/login/"):
    return client.post(url, {"username": username, "password": password})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_the_account_with_a_message_until_the_lock_ends(client, demo):
    with freeze_time(START) as clock:
        for attempt in range(4):
            response = log_in(client, ANDES, f"wrong-{attempt}")
            assert response.status_code == 200  # the login form with its usual error
        clock.tick(60)
        response = log_in(client, ANDES, "wrong-5")
        assert response.status_code == 429
        html = response.content.decode()
        assert "Too many failed login attempts" in html
        assert "try again after 2030-03-01 12:16 (UTC)" in html
        assert 'class="topbar"' in html  # the portal's own page

        # The right password is refused while the lock lasts, and does not extend it.
        clock.tick(dt.timedelta(minutes=10))
        response = log_in(client, ANDES, DEMO_PASSWORD)
        assert response.status_code == 429 and not logged_in(client)
        assert "try again after 2030-03-01 12:16 (UTC)" in response.content.decode()

        clock.tick(dt.timedelta(minutes=5, seconds=1))
        response = log_in(client, ANDES, DEMO_PASSWORD)
        assert response.status_code == 302 and logged_in(client)
        # A successful login clears the count.
        assert not AccessAttempt.objects.filter(username=ANDES).exists()


def test_the_account_is_one_whatever_the_case_of_the_email(client, demo):
    with freeze_time(START):
        for variant in ("Admin@AndesCloud.example", " ADMIN@andescloud.example", ANDES, ANDES.upper(), ANDES):
            response = log_in(client, variant, "wrong")
        assert response.status_code == 429


def test_other_accounts_from_elsewhere_are_not_locked_by_one_account(client, demo):
    with freeze_time(START):
        for _ in range(5):
            log_in(client, ANDES, "wrong")
        other = type(client)(REMOTE_ADDR="10.0.0.9")
        assert log_in(other, "admin@abbiebox.com", DEMO_PASSWORD).status_code == 302


def test_twenty_failures_from_one_address_lock_the_address(client, demo):
    with freeze_time(START):
        for number in range(19):
            response = log_in(client, f"guess{number}@nowhere.example", "wrong")
            assert response.status_code == 200
        response = log_in(client, "guess-last@nowhere.example", "wrong")
        assert response.status_code == 429
        # Even a right password from that address is refused now.
        assert log_in(client, "admin@abbiebox.com", DEMO_PASSWORD).status_code == 429
        # Another address is not concerned.
        other = type(client)(REMOTE_ADDR="10.0.0.9")
        assert log_in(other, "admin@abbiebox.com", DEMO_PASSWORD).status_code == 302


def test_failures_older_than_fifteen_minutes_do_not_count(client, demo):
    with freeze_time(START) as clock:
        for _ in range(4):
            log_in(client, ANDES, "wrong")
        clock.tick(dt.timedelta(minutes=16))
        assert log_in(client, ANDES, "wrong").status_code == 200
        assert log_in(client, ANDES, DEMO_PASSWORD).status_code == 302


def test_a_successful_login_resets_the_count(client, demo):
    with freeze_time(START):
        for _ in range(4):
            log_in(client, ANDES, "wrong")
        assert log_in(client, ANDES, DEMO_PASSWORD).status_code == 302
        client.post("/logout/")
        for _ in range(4):
            assert log_in(client, ANDES, "wrong").status_code == 200


def test_admin_login_is_protected_too(client, demo):
    url = reverse("admin:login")
    with freeze_time(START):
        for _ in range(4):
            assert log_in(client, "staff@intcomex.example", "wrong", url).status_code == 200
        response = log_in(client, "staff@intcomex.example", "wrong", url)
        assert response.status_code == 429
        assert "Too many failed login attempts" in response.content.decode()
        assert log_in(client, "staff@intcomex.example", DEMO_PASSWORD, url).status_code == 429


def test_staff_unblock_an_account_from_the_user_admin(client, demo):
    with freeze_time(START):
        for _ in range(5):
            log_in(client, ANDES, "wrong")
        staff = type(client)(REMOTE_ADDR="10.0.0.2")
        staff.force_login(demo.staff)
        response = staff.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "unlock_login", "_selected_action": [demo.admin_andes.pk]},
        )
        assert response.status_code == 302
        assert not AccessAttempt.objects.filter(username=ANDES).exists()
        assert log_in(client, ANDES, DEMO_PASSWORD).status_code == 302


def test_staff_see_the_failed_attempts_in_admin(client, demo):
    with freeze_time(START):
        log_in(client, ANDES, "wrong")
    client.force_login(demo.staff)
    response = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 200 and ANDES in response.content.decode()


def test_the_password_is_never_stored_with_the_attempt(client, demo):
    log_in(client, ANDES, "my-secret-guess")
    attempt = AccessAttempt.objects.get(username=ANDES)
    assert "my-secret-guess" not in attempt.post_data


def test_password_validators_are_on(settings):
    names = [v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert {"MinimumLengthValidator", "CommonPasswordValidator", "NumericPasswordValidator"} <= set(names)


def test_the_session_expires_after_the_idle_time(client, demo, settings):
    with freeze_time(START) as clock:
        client.force_login(demo.admin_abbie)
        clock.tick(dt.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60))
        assert client.get("/").status_code == 302  # home → own company: still logged in
        assert client.get(reverse("company_detail", args=[demo.abbiebox.account_id])).status_code == 200
        clock.tick(dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 1))
        response = client.get(reverse("company_detail", args=[demo.abbiebox.account_id]))
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_terminated_user_cannot_log_in(client, demo):
    User.objects.filter(pk=demo.admin_abbie.pk).update(is_active=False)
    assert log_in(client, "admin@abbiebox.com", DEMO_PASSWORD).status_code == 200
    assert not logged_in(client)


def test_the_user_page_security_tab_shows_the_lock(client, demo):
    with freeze_time(START):
        for _ in range(5):
            log_in(client, ANDES, "wrong")
        staff = type(client)(REMOTE_ADDR="10.0.0.2")
        staff.force_login(demo.staff)
        html = staff.get(reverse("user_detail", args=[demo.admin_andes.pk]), {"tab": "security"}).content.decode()
        assert "<dd>5</dd>" in html and "2030-03-01 12:15 UTC" in html


def test_a_successful_login_does_not_clear_the_addresss_other_failures(client, demo):
    with freeze_time(START):
        for number in range(19):
            log_in(client, f"guess{number}@nowhere.example", "wrong")
        assert log_in(client, "admin@abbiebox.com", DEMO_PASSWORD).status_code == 302
        client.post("/logout/")
        assert log_in(client, "guess-more@nowhere.example", "wrong").status_code == 429


def test_requests_within_a_minute_write_the_session_once(client, demo, settings):
    """The idle end moves with the requests, but the session is written at most once a minute."""
    with freeze_time(START) as clock:
        client.force_login(demo.admin_abbie)
        url = reverse("company_detail", args=[demo.abbiebox.account_id])
        writes = []
        # Requests at 1, 11, 60, 61 and 121 s after login: the push at 1 s is 59 s old at 60 s
        # (not written) and 60 s old at 61 s (written).
        for seconds in (1, 10, 49, 1, 60):
            clock.tick(dt.timedelta(seconds=seconds))
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            writes.append(sum('UPDATE "django_session"' in q["sql"] for q in queries.captured_queries))
        assert writes == [1, 0, 0, 1, 1]
        stored = Session.objects.get(pk=client.cookies[settings.SESSION_COOKIE_NAME].value)
        assert stored.expire_date == timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)


def test_behind_a_proxy_a_client_that_bypasses_it_cannot_rotate_x_forwarded_for(client, demo, settings):
    """Issue 23: with LOGIN_PROXY_COUNT=1, a client reaching gunicorn directly sent a new
    X-Forwarded-For with every guess and was never locked. Only a trusted proxy's header counts."""
    settings.LOGIN_PROXY_COUNT = 1
    settings.LOGIN_TRUSTED_PROXIES = ["127.0.0.1", "::1"]
    direct = type(client)(REMOTE_ADDR="203.0.113.7")
    with freeze_time(START):
        for number in range(settings.LOGIN_FAILURES_PER_ADDRESS):
            response = direct.post(
                "/login/",
                {"username": f"guess{number}@nowhere.example", "password": "wrong"},
                HTTP_X_FORWARDED_FOR=f"198.51.100.{number}, 192.0.2.{number}",
            )
        assert response.status_code == 429
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
        # Even a right password from that address is refused now, whatever it claims to forward.
        response = direct.post(
            "/login/", {"username": "admin@abbiebox.com", "password": DEMO_PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.200"
        )
        assert response.status_code == 429


def test_through_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(client, demo, settings):
    settings.LOGIN_PROXY_COUNT = 1
    settings.LOGIN_TRUSTED_PROXIES = ["127.0.0.1", "::1"]
    proxy = type(client)(REMOTE_ADDR="127.0.0.1")
    with freeze_time(START):
        for number in range(settings.LOGIN_FAILURES_PER_ADDRESS):
            # The proxy appended the address it saw; what the client sent before it does not count.
            response = proxy.post(
                "/login/",
                {"username": f"guess{number}@nowhere.example", "password": "wrong"},
                HTTP_X_FORWARDED_FOR=f"10.9.9.9, 198.51.100.{number % 2}",
            )
            assert response.status_code == 200
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.0", "198.51.100.1"}
        # Another client behind the same proxy is not concerned; the proxy itself is never the address.
        response = proxy.post(
            "/login/", {"username": "admin@abbiebox.com", "password": DEMO_PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.2"
        )
        assert response.status_code == 302


def test_trusted_proxies_may_be_networks(client, demo, settings):
    settings.LOGIN_PROXY_COUNT = 1
    settings.LOGIN_TRUSTED_PROXIES = ["10.20.0.0/16"]
    via_network = type(client)(REMOTE_ADDR="10.20.3.4")
    via_network.post("/login/", {"username": ANDES, "password": "wrong"}, HTTP_X_FORWARDED_FOR="198.51.100.5")
    outside = type(client)(REMOTE_ADDR="10.21.3.4")
    outside.post("/login/", {"username": ANDES, "password": "wrong"}, HTTP_X_FORWARDED_FOR="198.51.100.6")
    assert sorted(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["10.21.3.4", "198.51.100.5"]
