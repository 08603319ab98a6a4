import io
import re

import pytest
from django.core.management import CommandError, call_command

from imports.models import ImportJob


# The benchmark runs in a child process on a SQLite file of its own whatever DATABASE_URL says.
@pytest.mark.once
def test_the_benchmark_runs_on_a_database_of_its_own_and_prints_every_figure(db):
    out = io.StringIO()
    call_command("bench_my_imports", "--jobs", "60", "--companies", "5", "--repeat", "1", "--bulk-lines", "30", stdout=out)
    report = out.getvalue()
    for label in ["reseller page 1", "reseller deep page 3 (offset)", "reseller deep page 4 (Next link, keyset)",
                  "reseller filtered: Failed, one company", "reseller search: product code", "staff    page 1",
                  "staff    search: company name", "reseller two 30-line bulk imports (?source=import) *",
                  "admin change list of ImportJob (reference)"]:
        assert re.search(re.escape(label) + r"\s+[\d.]+ ms\s+\d+ queries\s+[\d.]+ KB\n", report), label
    assert "HTTP" not in report
    assert re.search(r"worst My imports figure: [\d.]+ ms", report)
    assert not ImportJob.objects.exists()


def test_the_benchmark_refuses_to_run_on_the_configured_database(db):
    with pytest.raises(CommandError, match="Refusing to run"):
        call_command("bench_my_imports", "--child", "--jobs", "1", stdout=io.StringIO())
