"""How fast the vendor sender goes: the per-order backoff, the tenant budget, the integration's circuit and
the gradual release of the orders an outage parked. imports.vendor.place (the budget), recorder (the circuit)
and finish (the backoff) use these around each try.

- Backoff with full jitter (per order): after the n-th transient trouble the next try is a random instant
  in [0, min(cap, base * 2^(n-1))] (never before the vendor's Retry-After). Without jitter, orders that
  met the same trouble together (a burst, a blip) would all come back together, again and again.
- The tenant budget (catalog.integrations.budget): a request reserved before each call the vendor counts
  against a customer tenant; no request left → the order waits for the next slot, spread over it,
  without calling and without counting as trouble (no attempt, no backoff).
- The circuit (catalog.integrations.circuit): the vendor's own failures across senders open it; while
  open, one probe order at a time calls and the others are parked, without counting as trouble; the
  call that closes it releases the parked orders over VENDOR_CIRCUIT_RELEASE_SECONDS (parked_release).
"""

import datetime as dt
import random
from dataclasses import dataclass

from django.db.models import F

from catalog.integrations.budget import SLOT_SECONDS, tenant_request_reserve
from catalog.integrations.circuit import circuit_answered, circuit_failed, circuit_probe_end, is_outage, release_seconds
from core.outbox import OutboxItem

from imports.models import VendorOrder

# Random numbers of the jitter; tests seed or replace it.
jitter_random = random.Random()
# Parked orders are released in this many groups spread over the release window.
RELEASE_GROUPS = 20


def full_jitter(wait: dt.timedelta) -> dt.timedelta:
    """A random wait in [0, wait] ("full jitter")."""
    return wait * jitter_random.random()


def spread(until: dt.datetime, seconds: float) -> dt.datetime:
    """A random instant in [until, until + seconds]: waiters of one instant come back one by one."""
    return until + dt.timedelta(seconds=seconds * jitter_random.random())


@dataclass(frozen=True)
class Wait:
    """The order waits without calling (the tenant's budget is spent, or the vendor is down): until `until`
    (spread over `spread_seconds`), the reason shown on the job; not a try: no attempt, no backoff."""

    reason: str
    until: dt.datetime
    spread_seconds: float = 0.0
    announce: bool = False  # a long wait: the job's waiting email and webhook, once

    def next_try(self) -> dt.datetime:
        return spread(self.until, self.spread_seconds) if self.spread_seconds else self.until


def budget_next_slot(vendor_order: VendorOrder, *, now: dt.datetime) -> dt.datetime | None:
    """Reserve one of the tenant's requests for the call about to be made; None when reserved, else the
    next slot's start (the order waits for it)."""
    return tenant_request_reserve(vendor_order.integration, vendor_order.customer_id, now=now)


BUDGET_SPREAD_SECONDS = SLOT_SECONDS


@dataclass(frozen=True)
class Counted:
    released: int = 0  # parked orders this try released (it closed the circuit)
    next_probe: dt.datetime | None = None  # this try was a probe that failed: it probes again then


def circuit_after_try(integration: str, calls: list[tuple[int | None, str]], *, probe: bool, now: dt.datetime) -> Counted:
    """Count a try's calls in the circuit (in order: an answer resets the count, the vendor's failures
    after the last answer add to it); a try that closed it releases the parked orders."""
    answered = [n for n, (status, kind) in enumerate(calls) if not is_outage(status, kind)]
    parked_until = circuit_answered(integration, now=now) if answered else None
    failures = len(calls) - (answered[-1] + 1 if answered else 0)
    next_probe = None
    if failures:
        next_probe = circuit_failed(integration, now=now, failures=failures, probe=probe and not answered)
    elif probe and not calls:
        circuit_probe_end(integration)
    return Counted(released=parked_release(integration, parked_until, now=now), next_probe=next_probe)


def parked_release(integration: str, parked_until: dt.datetime | None, *, now: dt.datetime) -> int:
    """The circuit closed: its parked orders (open, waiting for exactly `parked_until`) come back over the
    release window, a group at a time, instead of all at once. Returns how many."""
    if parked_until is None:
        return 0
    parked = VendorOrder.objects.filter(
        integration=integration, status=OutboxItem.Status.PENDING, outcome=VendorOrder.Outcome.OPEN, next_attempt_at=parked_until
    )
    step = release_seconds() / RELEASE_GROUPS
    released = 0
    for group in range(RELEASE_GROUPS):
        when = now + dt.timedelta(seconds=step * (group + jitter_random.random()))
        released += parked.annotate(_group=F("id") % RELEASE_GROUPS).filter(_group=group).update(next_attempt_at=when)
    return released
