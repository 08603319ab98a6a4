"""`make bench-midnight` (issue 26, point 3), tiny: its real processes (the sandbox, the SMTP server, an
imports_worker on temporary PostgreSQL databases of its own) and the shape and consistency of what it prints.
Its figures (seconds) are for the benchmark itself, never asserted here."""

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.postgres]

LAST_LINE = re.compile(
    r"^midnight: (?P<jobs>\d+) jobs in (?P<jobs_s>[\d.]+) s, (?P<emails>\d+) emails by (?P<emails_s>[\d.]+) s, "
    r"(?P<duplicates>\d+) duplicate vendor orders, (?P<over>\d+) tenant-minutes over the limit$"
)
ROW = re.compile(
    r"^(?P<backend>on|off)\s+(?P<jobs>\d+)\s+(?P<final>[\d.]+)\s+(?P<p50>[\d.]+)\s+(?P<p99>[\d.]+)\s+(?P<emails>\d+)\s+"
    r"(?P<last_email>[\d.]+)\s+(?P<email_p99>[\d.]+)\s+(?P<calls>[\d.]+)\s+(?P<cpu_job>[\d.]+)\s+(?P<cpu_email>[\d.]+)\s+",
    re.M,
)


def server_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/postgres"


def test_the_midnight_benchmark_prints_its_line_last_and_figures_that_agree(db):
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark runs on PostgreSQL")
    out = io.StringIO()
    call_command("bench_midnight", "--jobs", "12", "--tenants", "3", "--layout", "1x1", "--latency-ms", "0",
                 "--jitter-ms", "0", "--timeout", "240", "--postgres", server_url(), stdout=out)
    report = out.getvalue()
    lines = report.rstrip("\n").splitlines()
    last = LAST_LINE.match(lines[-1])
    assert last, report
    assert (int(last["jobs"]), int(last["emails"]), int(last["duplicates"]), int(last["over"])) == (12, 12, 0, 0)
    # An email is sent once its job is final: the last email comes no earlier than the last job. (Twelve jobs
    # at no latency can all be final within 50 ms of the due time: "0.0 s" once rounded.)
    assert float(last["emails_s"]) >= float(last["jobs_s"]) >= 0
    rows = {m["backend"]: m for m in ROW.finditer(report)}
    assert set(rows) == {"on", "off"}, report
    on, off = rows["on"], rows["off"]
    # The table's vendor row is the last line's run.
    assert (on["jobs"], on["emails"], on["final"], on["last_email"]) == (last["jobs"], last["emails"], last["jobs_s"], last["emails_s"])
    assert int(off["jobs"]) == int(off["emails"]) == 12
    assert float(on["calls"]) >= 2  # a cart and its checkout per job at least
    assert float(off["calls"]) == 0  # Send to backend off: no vendor call
    assert float(on["p50"]) <= float(on["p99"]) <= float(on["final"])
    assert re.search(r"^goals with Send to backend off \(all final <= 8 s, every email <= 15 s\): (met|MISSED)$", report, re.M)
    assert "statuses {'completed': 12}; sandbox ledger: 12 orders, 0 duplicates; SMTP server accepted 12 messages" in report
    assert "statuses {'completed': 12}; sandbox ledger: 0 orders, 0 duplicates; SMTP server accepted 12 messages" in report
