import io
import re

import pytest
from django.core.management import CommandError, call_command

from orders.models import Subscription


# The benchmark runs in a child process on a database of its own whatever DATABASE_URL says.
@pytest.mark.once
def test_the_benchmark_runs_on_a_database_of_its_own_and_prints_every_figure(db):
    out = io.StringIO()
    call_command("bench_upcoming", "--items", "60", "--others", "10", "--companies", "4", "--repeat", "1",
                 "--postgres", "", stdout=out)
    report = out.getvalue()
    for label in ["reseller page 1 (30 days)", "reseller deep page (keyset cursor at day 45 of 90)",
                  "reseller one company (90 days)", "API GET /api/v1/upcoming/ (90 days)", "staff page 1 (30 days)",
                  "staff admin change list of Subscription (reference)"]:
        assert re.search(re.escape(label) + r"\s+[\d.]+ ms\s+\d+ queries\s+[\d.]+ KB\n", report), label
    assert "HTTP" not in report
    assert re.search(r"worst Upcoming figure: [\d.]+ ms \(goal < 50 ms\); admin change list of subscriptions: [\d.]+ ms", report)
    assert not Subscription.objects.filter(account_id__gte=20_000_000).exists()


def test_the_benchmark_refuses_to_run_on_the_configured_database(db):
    with pytest.raises(CommandError, match="Refusing to run"):
        call_command("bench_upcoming", "--child", "--items", "1", stdout=io.StringIO())


def test_keep_and_reuse_are_for_a_kept_postgresql_database_only(db):
    with pytest.raises(CommandError, match="need PostgreSQL"):
        call_command("bench_upcoming", "--keep", "--postgres", "", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--reuse takes the name of a database a --keep run left"):
        call_command("bench_upcoming", "--reuse", "icp", "--postgres", "postgres://icp@127.0.0.1/icp", stdout=io.StringIO())
