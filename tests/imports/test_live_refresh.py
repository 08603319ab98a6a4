"""Live status on My imports: the rows of unfinished jobs refresh themselves (htmx, served from
static/), in place; nothing polls when every job shown is final."""

import datetime as dt
from pathlib import Path

from django.conf import settings

from imports.models import ImportJob

from .helpers import UTC, schedule

DUE = dt.datetime(2024, 7, 31, 10, 0, tzinfo=UTC)


def test_htmx_is_vendored_with_its_licence():
    folder = Path(settings.BASE_DIR) / "static" / "vendor" / "htmx"
    assert (folder / "htmx.min.js").stat().st_size > 10_000
    assert "Zero-Clause BSD" in (folder / "LICENSE").read_text()


def test_a_page_with_unfinished_jobs_polls_only_for_them(abbie_client, demo):
    pending = schedule(demo, due_at=DUE)
    done = schedule(demo, due_at=DUE)
    ImportJob.objects.filter(pk=done.pk).update(status="completed")
    html = abbie_client.get("/imports/").content.decode()
    assert "vendor/htmx/htmx.min.js" in html and "cdn" not in html.lower()
    assert f'hx-get="/imports/live/?page=1&amp;ids={pending.pk}" hx-trigger="every 5s"' in html


def test_nothing_polls_when_every_job_shown_is_final(abbie_client, demo):
    job = schedule(demo, due_at=DUE)
    ImportJob.objects.filter(pk=job.pk).update(status="failed")
    html = abbie_client.get("/imports/").content.decode()
    assert 'id="imports-live"' in html and "hx-trigger" not in html.split('id="imports-live"', 1)[1].split(">", 1)[0]


def test_the_refresh_answers_the_rows_in_place_and_stops_when_they_are_final(abbie_client, demo):
    job = schedule(demo, due_at=DUE)
    other = schedule(demo, due_at=DUE, company=demo.cusco, user=demo.admin_andes, code="100113_AzurePlan_10002",
                     term="P1M", vendor_config={})
    html = abbie_client.get("/imports/live/", {"ids": f"{job.pk},{other.pk},x,-1"}).content.decode()
    assert f'<tr class="imports-main" id="import-main-{job.pk}" data-status="pending" hx-swap-oob="true">' in html
    assert f'id="import-rows-{job.pk}" hx-swap-oob="true"' in html
    assert f"import-main-{other.pk}" not in html  # another reseller's job is never answered
    assert 'hx-trigger="every 5s"' in html
    ImportJob.objects.filter(pk=job.pk).update(status="completed", imported_count=1)
    html = abbie_client.get("/imports/live/", {"ids": str(job.pk)}).content.decode()
    assert '<span class="status completed">Completed</span>' in html
    assert "hx-trigger" not in html  # the poller comes back without a trigger: it stops
