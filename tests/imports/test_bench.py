import io
import re

import pytest
from django.core.management import CommandError, call_command

from imports.models import ImportJob
from orders.models import Subscription


# The benchmark runs in a child process on a SQLite file of its own whatever DATABASE_URL says.
@pytest.mark.once
def test_the_benchmark_runs_on_a_database_of_its_own_and_reports_its_figures(db):
    out = io.StringIO()
    call_command("bench_dispatch", "--jobs", "40", "--companies", "4", stdout=out)
    report = out.getvalue()
    assert "jobs: 40  completed: 36  failed: 4  emails sent: 40" in report
    assert re.search(r"dispatch: [\d.]+ s  ->  [\d,]+ jobs/s, \d+ queries = [\d.]+ queries/job", report)
    assert re.search(r"floor \(bulk_create of 40 subscriptions\): [\d.]+ s", report)
    # Nothing was written to the configured database.
    assert not ImportJob.objects.exists()
    assert not Subscription.objects.exists()


def test_the_benchmark_refuses_to_run_on_the_configured_database(db):
    with pytest.raises(CommandError, match="Refusing to run"):
        call_command("bench_dispatch", "--child", "--jobs", "1", stdout=io.StringIO())
