"""The renewal day's benchmark at a small size: real worker processes, the sandbox, temporary databases on the
PostgreSQL server the test database lives on. Its last line says whether the goal was met."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection


def _server_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/postgres"


@pytest.mark.postgres
def test_a_small_renewal_day_prints_its_figures_and_the_goals_verdict(db):
    out = io.StringIO()
    call_command("bench_renewals", "--subscriptions", "30", "--changes", "6", "--tenants", "3", "--latency-ms", "0",
                 "--layout", "1x1", "--timeout", "240", "--postgres", _server_url(), stdout=out)
    report = out.getvalue()
    assert "synced (renewed as the vendor shows it): 30/30 in" in report
    assert re.search(r"changes applied: 6/6 in [\d.]+ s; changes by status: \{'applied': 6\}", report)
    assert re.search(r"busiest tenant-minute: \d+ requests \(limit 500\); tenant-minutes over it: 0", report)
    assert report.rstrip().splitlines()[-1] == (
        "goal (all synced and changes applied within 600 s, the tenant limit never exceeded): met"
    )


def test_bad_sizes_are_one_message():
    with pytest.raises(CommandError, match="--changes from 0 to --subscriptions"):
        call_command("bench_renewals", "--subscriptions", "5", "--changes", "6", "--postgres", "postgres://x", stdout=io.StringIO())
    with pytest.raises(CommandError, match="CLUSTERSxWORKERS"):
        call_command("bench_renewals", "--layout", "two", "--postgres", "postgres://x", stdout=io.StringIO())
