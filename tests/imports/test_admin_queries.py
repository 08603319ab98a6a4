"""The import job's admin page reads its rows' related objects up front, not once per row."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from imports.models import ImportRow

from .helpers import UTC, make_order, schedule

DUE = dt.datetime(2030, 7, 31, 10, 0, tzinfo=UTC)


def _queries(client, job) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("admin:imports_importjob_change", args=[job.pk])).status_code == 200
    return len(ctx.captured_queries)


def test_the_job_page_does_not_query_per_row(client, demo):
    job = schedule(demo, due_at=DUE)
    client.force_login(demo.staff)
    _queries(client, job)  # warm-up: the first request also reads what Django caches per process
    one_row = _queries(client, job)
    for position in (2, 3, 4):
        ImportRow.objects.create(job=job, position=position, parent_company=demo.eritech, order=make_order(demo))
    assert _queries(client, job) == one_row
