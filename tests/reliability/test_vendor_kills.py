"""The vendor path under SIGKILL (issue 25, point 6): real `imports_worker` processes on PostgreSQL place
orders with the Partner Center sandbox (a real process, tests/vendor_sandbox.py), and the whole worker is
killed at each point of a vendor order's life:

(a) after the intent (the VendorOrder, with its request ids) is committed and before any call reaches the
    vendor (the sandbox is down, so no call can do anything);
(b) during the checkout, while the sandbox holds its response (the vendor does the work after the
    worker died: the ledger shows the orders the portal never heard of);
(c) after the answer and before its commit: the answer arrived and the sender waits for its row lock
    (held by this test) to record it; or the answer is lost (the work done, the response never sent,
    lost_response_rate 1.0) and the worker killed after that.

Then a fresh worker finishes every job with the same request ids and cart: every job Completed, the
ledger shows exactly one order (and one cart) per job, and the subscriptions carry the ledger's order ids.
Every wait is for a condition (the database, the ledger, pg_stat_activity) with a deadline.
"""

import psycopg
import pytest

from tests.processes import wait_for

from .conftest import assert_one_vendor_order_per_job, database_url, vendor_burst, vendor_env, vendor_orders_of
from .short import SHORT

pytestmark = [pytest.mark.postgres]

JOBS = 6
TENANTS = 2
# Held long enough to kill inside, short of the read timeout (2 s, vendor_env): a held call is answered.
HELD_MS = 1500


def start(engine, sandbox, name: str):
    return engine.start(name, workers=2, **SHORT, **vendor_env(sandbox))


def carts_recorded(job_ids) -> bool:
    """Every vendor order has its cart: each sender has sent (or is sending) its checkout."""
    orders = vendor_orders_of(job_ids)
    return len(orders) == len(job_ids) and all(vo.cart_id for vo in orders)


def ledger_orders(sandbox) -> int:
    return len(sandbox.ledger()["orders"])


def finish_with_a_fresh_worker(engine, sandbox, job_ids) -> dict:
    """The operator restarts the worker: it takes the open vendor orders once their lease (12 s) or
    backoff ends, and places them with their ids. Bounded: lease + a couple of tries."""
    from .conftest import wait_all_final

    start(engine, sandbox, "fresh")
    wait_all_final(job_ids, seconds=60)
    counts = assert_one_vendor_order_per_job(sandbox, job_ids)
    print("ledger:", counts)
    return counts


def test_a_worker_killed_after_the_intent_is_committed_and_before_the_vendor_is_reached(engine, partner_center):
    jobs = vendor_burst(partner_center, JOBS, companies=TENANTS, due_at=None)
    partner_center.faults(down=True)  # no call can reach the vendor's work
    worker = start(engine, partner_center, "a")
    wait_for(lambda: len(vendor_orders_of(jobs)) == JOBS, seconds=60, what="the batch to commit its vendor intents")
    engine.kill(worker)
    assert ledger_orders(partner_center) == 0
    assert all(not vo.vendor_order_id for vo in vendor_orders_of(jobs))
    partner_center.faults(down=False)
    counts = finish_with_a_fresh_worker(engine, partner_center, jobs)
    assert counts["ledger_orders"] == JOBS


def test_a_worker_killed_while_the_sandbox_holds_the_checkout_the_vendor_placed(engine, partner_center):
    jobs = vendor_burst(partner_center, JOBS, companies=TENANTS)
    partner_center.faults(latency_ms=HELD_MS)
    worker = start(engine, partner_center, "b")
    wait_for(lambda: carts_recorded(jobs), seconds=60, interval=0.05, what="every checkout to be under way")
    engine.kill(worker)  # each checkout is held by the sandbox for 1.5 s: killed during the call
    assert not any(vo.vendor_order_id for vo in vendor_orders_of(jobs))  # the portal never heard an answer
    # The vendor does the work of the held calls all the same: orders the portal does not know about.
    wait_for(lambda: ledger_orders(partner_center) == JOBS, seconds=20, what="the held checkouts to be placed")
    partner_center.faults(latency_ms=0)
    counts = finish_with_a_fresh_worker(engine, partner_center, jobs)
    assert counts["ledger_orders"] == JOBS


def test_a_worker_killed_after_the_answer_arrived_and_before_it_was_committed(engine, partner_center):
    jobs = vendor_burst(partner_center, JOBS, companies=TENANTS)
    partner_center.faults(latency_ms=HELD_MS)
    worker = start(engine, partner_center, "c")
    wait_for(lambda: carts_recorded(jobs), seconds=60, interval=0.05, what="every checkout to be under way")
    # While the checkouts are held, this test locks the vendor orders' rows: the senders that receive their
    # answers then wait for the lock to record them (lock_timeout 2 s, SHORT).
    with psycopg.connect(database_url()) as blocker, psycopg.connect(database_url(), autocommit=True) as watcher:
        blocker.execute("SELECT id FROM imports_vendororder WHERE job_id = ANY(%s) FOR UPDATE", (jobs,))

        def answered_and_waiting() -> bool:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rel-c' AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            return ledger_orders(partner_center) == JOBS and waiting >= 1

        wait_for(answered_and_waiting, seconds=20, interval=0.05, what="an answer waiting for its commit")
        engine.kill(worker)
        blocker.rollback()
    assert not any(vo.vendor_order_id for vo in vendor_orders_of(jobs))  # no answer was recorded
    partner_center.faults(latency_ms=0)
    counts = finish_with_a_fresh_worker(engine, partner_center, jobs)
    assert counts["ledger_orders"] == JOBS


def test_a_worker_killed_after_the_vendor_did_the_work_and_the_answer_was_lost(engine, partner_center):
    jobs = vendor_burst(partner_center, JOBS, companies=TENANTS)
    partner_center.faults(latency_ms=HELD_MS)
    worker = start(engine, partner_center, "c2")
    wait_for(lambda: carts_recorded(jobs), seconds=60, interval=0.05, what="every checkout to be under way")
    partner_center.faults(lost_response_rate=1.0)  # the held checkouts are done and never answered
    wait_for(lambda: ledger_orders(partner_center) == JOBS, seconds=20, what="the checkouts to be placed")
    # The senders saw the connection closed without an answer (an unknown outcome), recorded it as
    # trouble to ask again; the worker dies before that.
    engine.kill(worker)
    assert not any(vo.vendor_order_id for vo in vendor_orders_of(jobs))
    partner_center.faults(latency_ms=0, lost_response_rate=0)
    counts = finish_with_a_fresh_worker(engine, partner_center, jobs)
    assert counts["ledger_orders"] == JOBS
