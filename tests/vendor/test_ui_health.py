"""imports_health reports the vendor (issue 25): jobs waiting for it (count, oldest due, next try) and
its error rate over the last minutes, in the command's text and JSON and on the staff page."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog.models import VendorCall
from imports.engine.health import VENDOR_ERROR_WINDOW_SECONDS, imports_health
from tests.vendor.ui_helpers import failed_job, vendor_call, waiting_job

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)


@pytest.fixture
def vendor_world(demo):
    waiting_job(demo, due_at=NOW - dt.timedelta(minutes=20), next_try=NOW + dt.timedelta(minutes=4))
    waiting_job(demo, due_at=NOW - dt.timedelta(minutes=5), next_try=NOW + dt.timedelta(minutes=2))
    failed_job(demo, due_at=NOW - dt.timedelta(minutes=40))  # final: not waiting
    inside = NOW - dt.timedelta(seconds=VENDOR_ERROR_WINDOW_SECONDS - 10)
    for outcome in ("done", "done", "transient", "refused"):
        vendor_call(demo.eritech, at=inside, outcome=outcome)
    # Older than the window: not counted.
    vendor_call(demo.eritech, at=NOW - dt.timedelta(seconds=VENDOR_ERROR_WINDOW_SECONDS + 1), outcome=VendorCall.Outcome.UNKNOWN)


def test_the_selector_counts_waiting_jobs_and_the_vendors_error_rate(vendor_world):
    health = imports_health(now=NOW)
    assert health.vendor_waiting == 2
    assert health.vendor_waiting_oldest_due == NOW - dt.timedelta(minutes=20)
    assert health.vendor_waiting_oldest_due_seconds == 1200
    assert health.vendor_next_try == NOW + dt.timedelta(minutes=2)
    assert (health.vendor_calls, health.vendor_calls_failed, health.vendor_error_rate) == (4, 2, 0.5)
    vendor = health.as_dict()["vendor"]
    assert vendor == {
        "waiting_jobs": 2, "oldest_due": "2024-07-22T15:10:00+00:00", "oldest_due_seconds": 1200,
        "next_try": "2024-07-22T15:32:00+00:00", "window_seconds": VENDOR_ERROR_WINDOW_SECONDS,
        "calls": 4, "calls_not_done": 2, "error_rate": 0.5, "down": [],
    }


def test_no_calls_is_no_rate(db):
    health = imports_health(now=NOW)
    assert (health.vendor_waiting, health.vendor_next_try, health.vendor_error_rate) == (0, None, None)
    assert health.as_dict()["vendor"]["error_rate"] is None


def test_the_command_prints_them_in_text_and_json(vendor_world, monkeypatch):
    from imports.management.commands import imports_health as command

    monkeypatch.setattr(command, "imports_health", lambda **kwargs: imports_health(now=NOW, **kwargs))
    out = io.StringIO()
    with pytest.raises(SystemExit):  # no dispatch tick in this test: unhealthy for that, not for the vendor
        call_command("imports_health", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "waiting for the vendor:     2 (oldest due 2024-07-22 15:10:00 UTC, 1200s ago)" in text
    assert "vendor next try:            2024-07-22 15:32:00 UTC" in text
    assert "vendor errors (last 300s):  50.0% (2 of 4 calls not done)" in text
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("imports_health", "--json", stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue())["vendor"]["error_rate"] == 0.5


def test_the_staff_page_shows_them(staff_client, vendor_world):
    html = staff_client.get(reverse("imports:health")).content.decode()
    assert 'id="health-vendor-waiting"' in html and 'id="health-vendor-errors"' in html


def test_a_vendor_marked_down_by_its_circuit_shows_in_the_selector_the_command_and_the_page(
    vendor_world, staff_client, monkeypatch, settings
):
    from catalog.integrations.circuit import circuit_failed
    from imports.management.commands import imports_health as command

    settings.VENDOR_CIRCUIT_FAILURES, settings.VENDOR_CIRCUIT_PROBE_SECONDS = 2, 10
    assert imports_health(now=NOW).vendor_down == ()
    circuit_failed("microsoft", now=NOW - dt.timedelta(minutes=3), failures=2)
    assert imports_health(now=NOW).as_dict()["vendor"]["down"] == [
        {"integration": "microsoft", "since": "2024-07-22T15:27:00+00:00", "next_probe": "2024-07-22T15:27:10+00:00",
         "failed_probes": 0}
    ]
    monkeypatch.setattr(command, "imports_health", lambda **kwargs: imports_health(now=NOW, **kwargs))
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("imports_health", stdout=out, stderr=io.StringIO())
    assert "vendor circuit:             microsoft down since 2024-07-22 15:27:00 UTC, next probe 2024-07-22 15:27:10 UTC (0 failed)" in out.getvalue()
    html = staff_client.get(reverse("imports:health")).content.decode()
    assert "microsoft is unavailable since 2024-07-22 15:27:00 UTC" in html
