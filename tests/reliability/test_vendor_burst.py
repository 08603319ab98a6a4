"""A burst of vendor orders through a faulty Partner Center (issue 25, point 6): 20 % 5xx, 10 % lost
responses (the work done, the answer never sent), 10 % 429, on every call (the token's too). Real
`imports_worker` processes on PostgreSQL and the sandbox as a real process.

Every job ends Completed (none failed for transient reasons), with exactly one order in the sandbox's
ledger (0 duplicates), within a bound. The short version runs here (`make test`); the 500-job burst is
the benchmark's (`make bench-vendor`, devtools/bench_vendor.py), which prints its ledger counts.
"""

import pytest

from .conftest import assert_one_vendor_order_per_job, vendor_burst, vendor_env, wait_all_final
from .short import SHORT

pytestmark = [pytest.mark.postgres]

FAULTS = {"error_rate": 0.2, "lost_response_rate": 0.1, "rate_limit_rate": 0.1}


def test_a_burst_through_a_faulty_vendor_completes_every_job_with_one_vendor_order_each(engine, partner_center):
    # 120 jobs over 24 tenants: 5 a tenant, a few calls each, far under 500 requests a minute per tenant.
    jobs = vendor_burst(partner_center, 120, companies=24)
    partner_center.faults(**FAULTS)
    engine.start("a", workers=2, **SHORT, **vendor_env(partner_center))
    # A job meets trouble at about a third of its calls; each retry waits 1 s doubling to 60 s
    # (vendor_env): a job that fails eight times in a row is done within about four minutes.
    wait_all_final(jobs, seconds=300)
    counts = assert_one_vendor_order_per_job(partner_center, jobs)
    requests = partner_center.ledger()
    print("fault burst:", counts)
    assert counts["duplicate_orders"] == 0
    assert counts["vendor_tries"] > len(jobs)  # the faults were met (and retried)
