"""How fast the sender goes (imports.vendor.pacing), through the Partner Center sandbox over real HTTP: the
tenant budget makes orders wait for their turn without calling, an outage opens the circuit (one probe
at a time, the others parked without calling) and its end releases the parked orders over a window; the
backoff is a random wait within its bound. The sender's clock (db_now) is the test's."""

import datetime as dt
import random

import pytest

from catalog.integrations.budget import SLOT_SECONDS
from catalog.integrations.circuit import circuit_state
from catalog.models import VendorCall
from core.stored_messages import rendered
from imports.models import ImportJob, Notification, VendorOrder
from imports.vendor import finish as vendor_finish
from imports.vendor import pacing
from imports.vendor import recorder as vendor_recorder

from .engine_helpers import (
    due_soon,
    eritech_tenant_at_vendor,
    orders_of,
    run_batch,
    schedule_for,
    send,
    warm_token,
)

pytestmark = pytest.mark.django_db
S = dt.timedelta(seconds=1)
LIMITED = ("cart_create", "cart_checkout")


@pytest.fixture
def tenant(vendor, demo):
    return eritech_tenant_at_vendor(vendor, demo)


@pytest.fixture
def clock(monkeypatch):
    """The sender's database clock, set by the test (the claims' `now` is passed to send())."""
    now = [None]
    # Where the sender reads it during a chunk (imports.vendor.recorder: the circuit's admissions and counts,
    # the tenants' reservations); send() passes the claims' own.
    monkeypatch.setattr(vendor_recorder, "db_now", lambda: now[0])
    return now


def orders_due(demo, tenant, count: int) -> tuple[dt.datetime, list[ImportJob]]:
    due = due_soon()
    jobs = [schedule_for(demo, tenant, due_at=due, quantity=n + 1) for n in range(count)]
    run_batch(due)
    warm_token()
    VendorOrder.objects.filter(job__in=jobs).update(checked_at=due)  # the due time's check passed earlier
    return due, jobs


def orders(jobs) -> list[VendorOrder]:
    return list(VendorOrder.objects.filter(job__in=jobs).order_by("job_id"))


def limited_calls(demo) -> int:
    return VendorCall.objects.filter(company=demo.eritech, operation__in=LIMITED).count()


def send_at(clock, now) -> int:
    clock[0] = now
    return send(now)


def test_a_spent_tenant_budget_makes_orders_wait_for_the_next_slot_without_calling(vendor, demo, tenant, clock, settings):
    settings.VENDOR_TENANT_REQUESTS_PER_MINUTE = 14  # one request a 5 s slot
    due, jobs = orders_due(demo, tenant, 3)
    assert send_at(clock, due + S) == 0
    # The first order's cart took the slot's request; its checkout and the other carts wait.
    assert limited_calls(demo) == 1
    for vendor_order in orders(jobs):
        assert vendor_order.attempts == 0  # not trouble: no backoff
        assert "is limiting our requests" in rendered(vendor_order.last_error)
        assert due + SLOT_SECONDS * S <= vendor_order.next_attempt_at <= due + 2 * SLOT_SECONDS * S  # spread over the next slot
    assert set(ImportJob.objects.filter(pk__in=[job.pk for job in jobs]).values_list("status", flat=True)) == {"waiting"}
    # Round after round, each slot lets one request through until every order is placed.
    now, rounds = due + S, 0
    while VendorOrder.objects.filter(job__in=jobs, outcome="").exists():
        before = limited_calls(demo)
        now += SLOT_SECONDS * S
        send_at(clock, now)
        assert limited_calls(demo) - before <= 1
        rounds += 1
        assert rounds < 20
    assert limited_calls(demo) == 6 and len(orders_of(vendor.ledger(), tenant)) == 3
    assert {vo.outcome for vo in orders(jobs)} == {"done"}


def test_an_outage_opens_the_circuit_one_probe_calls_and_its_end_releases_the_parked_orders_gradually(
    vendor, demo, tenant, clock, settings
):
    settings.VENDOR_CIRCUIT_FAILURES = 3
    settings.VENDOR_CIRCUIT_PROBE_SECONDS = 10
    settings.VENDOR_CIRCUIT_RELEASE_SECONDS = 30
    due, jobs = orders_due(demo, tenant, 6)
    vendor.faults(down=True)
    t1 = due + S
    assert send_at(clock, t1) == 0
    # Three failures opened it; the fourth order waits for the probe time, the others are parked.
    assert limited_calls(demo) == 3
    assert circuit_state("microsoft").opened_at == t1
    first3, probe, parked = orders(jobs)[:3], orders(jobs)[3], orders(jobs)[4:]
    assert [vo.attempts for vo in first3] == [1, 1, 1]
    assert probe.attempts == 0 and probe.next_attempt_at == t1 + 10 * S
    assert {vo.next_attempt_at for vo in parked} == {t1 + 300 * S}
    assert "Microsoft is unavailable, next try at" in rendered(parked[0].last_error)
    assert Notification.objects.filter(job__in=jobs[3:], kind=Notification.Kind.IMPORT_WAITING).count() == 3

    # The probe fails: it waits for the next probe time (twice as far); nobody else calls meanwhile.
    send_at(clock, t1 + 10 * S)
    assert limited_calls(demo) == 4
    assert VendorOrder.objects.get(pk=probe.pk).next_attempt_at == t1 + 30 * S
    send_at(clock, t1 + 20 * S)  # the first three's backoff ended: parked, without calling
    assert limited_calls(demo) == 4
    assert {vo.next_attempt_at for vo in orders(jobs)[:3]} == {t1 + 300 * S}

    # The vendor is back: the probe succeeds and closes the circuit; the parked orders come back spread
    # over the release window, not at once.
    vendor.faults(down=False)
    assert send_at(clock, t1 + 30 * S) == 1
    assert circuit_state("microsoft").opened_at is None
    released = [vo.next_attempt_at for vo in orders(jobs) if vo.outcome == ""]
    assert len(released) == 5 and all(t1 + 30 * S < at <= t1 + 60 * S for at in released)
    assert len(set(released)) > 1
    assert send_at(clock, t1 + 61 * S) == 5
    assert len(orders_of(vendor.ledger(), tenant)) == 6
    assert {vo.outcome for vo in orders(jobs)} == {"done"}


def test_the_backoff_is_a_random_wait_within_its_bound(monkeypatch, settings):
    settings.IMPORT_VENDOR_BACKOFF_SECONDS = 15
    monkeypatch.setattr(pacing.jitter_random, "random", random.Random(26).random)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for attempts, bound in ((1, 15), (2, 30), (3, 60), (10, 900)):
        waits = [(vendor_finish.next_try_at(None, attempts, None, now=now) - now).total_seconds() for _ in range(50)]
        assert all(0 <= wait <= bound for wait in waits)
        assert max(waits) - min(waits) > bound / 2  # spread, not one instant
    # Never before the vendor's Retry-After.
    assert all(vendor_finish.next_try_at(None, 1, 20, now=now) >= now + 20 * S for _ in range(20))
