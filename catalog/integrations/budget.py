"""A request budget per customer tenant, shared by every sender of every worker (catalog.models.VendorTenantBudget).

Partner Center counts the subscription, cart and order requests of each customer tenant and answers 429
past 500 a minute. Reacting to the 429 (catalog.integrations.pauses) is the last guard; this budget keeps a
tenant under the limit in the first place: before each call the vendor counts against a tenant, a sender
reserves one request of the tenant's current slot with ONE conditional statement

    INSERT .. VALUES (tenant, slot, 1) ON CONFLICT (tenant, slot) DO UPDATE SET count = count + 1
    WHERE count < cap RETURNING count

(PostgreSQL and SQLite alike: concurrent inserts of one slot wait for each other on the unique key, and the
WHERE is evaluated on the row as committed, so two senders can never both take the last request). A row
back: reserved, call. No row: the slot is full, the order waits for the next slot without calling.

The window math (why `cap` guarantees the limit whatever the alignment of our slots and Microsoft's minute):
- time is cut into slots of SLOT_SECONDS (s = 5 s) on the database's clock (core.clock.db_now: every
  worker's slot is the same one);
- a reserved request reaches the vendor within D <= s of its reservation: the reservation is taken right
  before the call, and in between there is only the connection pool's wait (at most
  MICROSOFT_CONNECT_TIMEOUT, 5 s) and the clocks' agreement (hundredths of a second);
- so the requests that reach the vendor in ANY 60 s window [t, t + 60) were reserved in [t - D, t + 60),
  a span of at most 60 + s seconds, which touches at most 60/s + 2 slots (14 with s = 5);
- a cap of c requests a slot then bounds every 60 s window at the vendor to (60/s + 2) * c. With c =
  floor(L / (60/s + 2)) for L = VENDOR_TENANT_REQUESTS_PER_MINUTE (450): c = 32, at most 448 in any
  window, against Microsoft's 500. Sustained, a tenant gets 60/s * c = 384 requests a minute.
The margin between L and 500 (52 requests) absorbs what the bound leaves out: the rare second send of one
reservation (a token refused once and renewed, partner_center.client) and a token fetched in between
(once an hour per process).

A slot row lives a few minutes: the engine's housekeeping prunes them (tenant_budgets_prune).
"""

import datetime as dt
import math

from django.conf import settings
from django.db import connection

from catalog.models import VendorTenantBudget

UTC = dt.UTC
# The slot's length: short enough to spread a tenant's burst over the minute, long enough that a busy
# tenant's slot is one row among a dozen a minute.
SLOT_SECONDS = 5
# Slots a 60 s window at the vendor can touch, given a request reaches the vendor within one slot of its
# reservation (see the module's math).
SLOTS_PER_WINDOW = 60 // SLOT_SECONDS + 2
# Microsoft's documented limit (requests a minute per customer tenant on the subscription resources).
VENDOR_LIMIT_PER_MINUTE = 500
# Slots kept after they end (for staff reading the admin); older ones are pruned.
KEEP_SECONDS = 120


def requests_per_minute() -> int:
    """The most requests of one tenant we let reach the vendor in any 60 s window."""
    return int(getattr(settings, "VENDOR_TENANT_REQUESTS_PER_MINUTE", 450))


def slot_cap(limit: int | None = None) -> int:
    """Requests one slot may reserve so that any 60 s window holds at most `limit` (see the module's math)."""
    limit = requests_per_minute() if limit is None else limit
    return limit // SLOTS_PER_WINDOW


def window_bound(cap: int) -> int:
    """The most requests of one tenant any 60 s window at the vendor can hold with `cap` a slot."""
    return SLOTS_PER_WINDOW * cap


def slot_of(now: dt.datetime) -> dt.datetime:
    """The start of the slot `now` falls in (a multiple of SLOT_SECONDS since the epoch, UTC)."""
    return dt.datetime.fromtimestamp(math.floor(now.timestamp() / SLOT_SECONDS) * SLOT_SECONDS, UTC)


def next_slot(now: dt.datetime) -> dt.datetime:
    return slot_of(now) + dt.timedelta(seconds=SLOT_SECONDS)


def tenant_request_reserve(integration: str, customer_id: str, *, now: dt.datetime, cap: int | None = None) -> dt.datetime | None:
    """Reserve one request of the tenant's slot at `now` (the database's clock). Returns None when it is
    reserved (call now), else the start of the next slot (wait until then, without calling)."""
    if not customer_id:
        return None
    cap = slot_cap() if cap is None else cap
    slot = slot_of(now)
    if cap <= 0:
        return slot + dt.timedelta(seconds=SLOT_SECONDS)
    reserved = _reserve(integration, customer_id, 1, slot=slot, cap=cap)
    return None if reserved else slot + dt.timedelta(seconds=SLOT_SECONDS)


def tenant_budgets_prune(*, now: dt.datetime) -> int:
    """Forget the slots that ended more than KEEP_SECONDS ago (the engine's housekeeping)."""
    deleted, _ = VendorTenantBudget.objects.filter(slot_start__lt=now - dt.timedelta(seconds=KEEP_SECONDS)).delete()
    return deleted


def tenant_requests_reserve(integration: str, wants: list[tuple[str, int]], *, now: dt.datetime,
                            cap: int | None = None) -> list[dt.datetime | None]:
    """Reserve, for each (customer_id, n) of `wants` in order, n requests of the tenant's slot at `now`; for
    each, None when reserved, else the next slot's start. One statement per tenant when its whole demand
    fits (a vendor sender's chunk: imports.vendor.recorder), then one per want for a tenant whose slot is nearly
    full, so the earliest wants get what is left. Same statement, same guarantee as tenant_request_reserve."""
    cap = slot_cap() if cap is None else cap
    slot = slot_of(now)
    later = slot + dt.timedelta(seconds=SLOT_SECONDS)
    answers: list[dt.datetime | None] = [None] * len(wants)
    by_tenant: dict[str, list[int]] = {}
    for index, (customer_id, n) in enumerate(wants):
        if customer_id and n > 0:
            by_tenant.setdefault(customer_id, []).append(index)
    for customer_id, indexes in by_tenant.items():
        total = sum(wants[i][1] for i in indexes)
        if _reserve(integration, customer_id, total, slot=slot, cap=cap):
            continue
        for i in indexes:
            if not _reserve(integration, customer_id, wants[i][1], slot=slot, cap=cap):
                answers[i] = later
    return answers


def _reserve(integration: str, customer_id: str, n: int, *, slot: dt.datetime, cap: int) -> bool:
    """Take n requests of the tenant's slot when they all fit under `cap` (one conditional statement)."""
    if n > cap:
        return False
    table = connection.ops.quote_name(VendorTenantBudget._meta.db_table)
    # On PostgreSQL, outside a transaction (the senders'), the statement commits without waiting for its WAL
    # to reach the disk (set_config(.., is_local) in its own condition: that statement only): a committed
    # write per reservation, and the flush was 90 % of its time (9.5 ms against 1.2 ms on a busy 2-core
    # machine). Only a crash of the database server itself within a fraction of a second could forget a
    # slot's last reservations, letting at most one slot's cap more through once: 448 + 32 stays under 500.
    # (A WHERE on the SELECT either way: SQLite needs one before ON CONFLICT, to parse it as the upsert's.)
    quick = connection.vendor == "postgresql" and not connection.in_atomic_block
    condition = " WHERE set_config('synchronous_commit', 'off', true) = 'off'" if quick else " WHERE 1 = 1"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (integration, customer_id, slot_start, count) SELECT %s, %s, %s, %s{condition}"
            f" ON CONFLICT (integration, customer_id, slot_start) DO UPDATE SET count = {table}.count + %s"
            f" WHERE {table}.count + %s <= %s RETURNING count",
            [integration, customer_id, connection.ops.adapt_datetimefield_value(slot), n, n, n, cap],
        )
        return cursor.fetchone() is not None
