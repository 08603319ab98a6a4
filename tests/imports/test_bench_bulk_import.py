import io
import re

import pytest
from django.core.management import call_command

from imports.models import ImportJob


# The benchmark runs in a child process on a SQLite file of its own whatever DATABASE_URL says.
@pytest.mark.once
def test_the_bulk_import_benchmark_reports_check_run_and_reference(db):
    out = io.StringIO()
    call_command("bench_bulk_import", "--lines", "30", "--companies", "3", stdout=out)
    report = out.getvalue()
    assert re.search(r"upload check \(read the file, check every line\): [\d.]+ s", report)
    assert re.search(r"bulk run: [\d.]+ s .* completed 27, failed 3", report)
    assert re.search(r"reference \(30 scheduled provisioning jobs, one dispatch pass\): [\d.]+ s .* completed 27, failed 3", report)
    assert not ImportJob.objects.exists()  # the configured database is untouched
