"""Subscriptions synced with their vendor before (and right after) each renewal, and local renewals (issue 27).

The engine's housekeeping pass (imports.engine.plugins, every IMPORT_RECOVERY_SECONDS) calls
`term_syncs_enqueue`:
- local subscriptions (no vendor) whose term ended renew at once, in the pass (orders.renewals.subscriptions_renew_local:
  a few short transactions, at most LOCAL_RENEWALS_PER_PASS a pass);
- when a vendor subscription is due a sync and the outbox lane has room, one task on that lane (where calls to the
  outside world wait, never a worker a due job needs) syncs a round of them: `subscriptions_sync_due`.

Due (`syncs_due`): the term ends within SYNC_AHEAD (a day) and the subscription was not synced since the day before
its end (the pre-renewal sync, which finds wiped next-term instructions while there is time to send them again);
or the term has ended and it was not synced since (right after the end, then every SYNC_RETRY until the vendor
shows the renewal or the end). Each sync is orders.sync.subscription_sync: its own claim (two syncs of one
subscription never run at once, whoever asks), one GET, one short transaction.

Bounded: at most SYNC_LIMIT a round, SYNC_PER_TENANT of one customer tenant (Partner Center allows 500 requests a
minute per tenant; a round lasts about the lane's budget, and at most IMPORT_OUTBOX_WORKERS rounds run at once), a
tenant paused by a 429 is skipped until its pause ends (catalog.integrations.pauses), SYNC_THREADS calls at once,
and no new sync starts once the lane's time budget is spent (what is left is due again at the next pass).
"""

import datetime as dt
import logging
import threading
import time
from collections import Counter

from django.db import connection
from django.db.models import F, Q, QuerySet

from catalog.integrations import get_integration
from catalog.integrations.pauses import tenant_paused_until
from core.clock import db_now
from core.lanes import OUTBOX, lane_enqueue, lane_waiting
from core.outbox import Budget
from orders.models import Subscription
from orders.renewals import subscriptions_renew_local
from orders.sync import subscription_sync, vendor_customer_id

from imports.engine.config import engine_config

logger = logging.getLogger(__name__)

SYNC_TASK = "imports.tasks.subscriptions_sync_task"
SYNC_AHEAD = dt.timedelta(days=1)
SYNC_RETRY = dt.timedelta(hours=1)
SYNC_LIMIT = 400
SYNC_PER_TENANT = 200
SYNC_THREADS = 8
LOCAL_RENEWALS_PER_PASS = 500


def syncs_due(*, now: dt.datetime) -> QuerySet[Subscription]:
    """Vendor subscriptions due a sync now (see the module's docstring), not held by a sync in progress."""
    before_end = Q(term_end__gt=now, term_end__lte=now + SYNC_AHEAD) & (
        Q(synced_at__isnull=True) | Q(synced_at__lt=F("term_end") - SYNC_AHEAD)
    )
    after_end = Q(term_end__lte=now) & (
        Q(synced_at__isnull=True) | Q(synced_at__lt=F("term_end")) | Q(synced_at__lt=now - SYNC_RETRY)
    )
    return (
        Subscription.objects.live().exclude(vendor_subscription_id="")
        .filter(before_end | after_end)
        .filter(Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lte=now))
    )


def _connected(subscription: Subscription) -> bool:
    integration = get_integration(subscription.service.vendor.integration)
    return bool(integration and integration.connector() is not None)


def _round(*, now: dt.datetime, limit: int) -> list[int]:
    """The round's subscriptions, earliest end first, at most SYNC_PER_TENANT of one tenant, paused tenants left."""
    chosen, per_tenant, paused = [], Counter(), {}
    candidates = syncs_due(now=now).select_related("order", "service__vendor").order_by("term_end", "id")[: limit * 2]
    for subscription in candidates:
        tenant = vendor_customer_id(subscription)
        integration = subscription.service.vendor.integration
        if (integration, tenant) not in paused:
            paused[(integration, tenant)] = tenant_paused_until(integration, tenant, now=now) is not None
        if paused[(integration, tenant)] or per_tenant[tenant] >= SYNC_PER_TENANT or not _connected(subscription):
            continue
        per_tenant[tenant] += 1
        chosen.append(subscription.pk)
        if len(chosen) >= limit:
            break
    return chosen


def subscriptions_sync_due(
    *, now: dt.datetime | None = None, limit: int = SYNC_LIMIT, budget: Budget | None = None, threads: int = SYNC_THREADS
) -> dict[str, int]:
    """Sync one round of the subscriptions due (the outbox lane's task); returns how many were asked, synced,
    found renewed, and their changes that moved."""
    now = now or db_now()
    budget = budget or Budget(engine_config().outbox_budget_seconds)
    pending = _round(now=now, limit=limit)
    totals = Counter(asked=0, synced=0, renewed=0, changes=0)
    lock = threading.Lock()

    def one(subscription_id: int) -> None:
        result = subscription_sync(subscription_id, now=now)  # the round's time (it lasts seconds)
        with lock:
            totals["asked"] += result.status != "busy"
            totals["synced"] += result.ok
            totals["renewed"] += result.renewed
            totals["changes"] += sum(len(ids) for ids in result.moved.values())

    def worker(own_connection: bool) -> None:
        try:
            while not budget.spent():
                with lock:
                    if not pending:
                        return
                    subscription_id = pending.pop(0)
                one(subscription_id)
        finally:
            if own_connection:
                connection.close()  # this thread's own connection

    count = min(threads, len(pending))
    if count <= 1:
        worker(own_connection=False)
    else:
        running = [threading.Thread(target=worker, args=(True,), name=f"term-sync-{n}", daemon=True) for n in range(count)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()
    return dict(totals)


def term_syncs_enqueue(*, now: dt.datetime) -> dict[str, int]:
    """Housekeeping: local renewals now; a sync round on the outbox lane when one is due and the lane has room."""
    renewed = subscriptions_renew_local(now=now, limit=LOCAL_RENEWALS_PER_PASS)
    enqueued = 0
    first = syncs_due(now=now).select_related("service__vendor").first()
    if first is not None and _connected(first) and lane_waiting(OUTBOX) < engine_config().outbox_workers:
        lane_enqueue(OUTBOX, SYNC_TASK, task_name=f"subscriptions sync {time.time():.0f}")
        enqueued = 1
    return {"renewed_locally": renewed, "enqueued": enqueued}
