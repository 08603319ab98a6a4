"""Placing vendor orders (imports.models.VendorOrder, the vendor outbox) and finishing their jobs.

The batch (imports.engine.runner) decides: an order whose due-time checks pass and that the vendor
provisions (orders.validation.order_goes_to_vendor) gets a VendorOrder (vendor_order_for) in the
batch's transaction, with every id its calls will carry, instead of a Subscription; its job Waits.
Here, after that commit, a sender tries it:

- who: the batch's own task right after its commit (the fast path, imports.engine.runner), and the
  outbox lane's senders (imports.engine.outbox_lane) for what is due later (a retry after the backoff,
  an order whose sender died). Claims (core.outbox) keep two senders apart; a sender holds what it
  claimed for the lease (IMPORT_VENDOR_LEASE_SECONDS, longer than a whole try).
- how: one try of one vendor order happens OUTSIDE any transaction or row lock; each answer is
  recorded in its own short transaction, only while the order is still open:
  a. the vendor checks at the due time (orders.validation.order_vendor_problems), once: `checked_at`
     records that they passed, so a retry after the cart exists does not ask again;
  b. "customer": POST /v1/customers (the new tenant; its id becomes the subscription's tenant_id);
     "cart": the cart (its id recorded at once), then its checkout;
  c. done → the Subscription from the snapshot (the price of the creation day) with the vendor's ids,
     the row Completed, the job finished when it has no open vendor order left (imports.jobs.finishing);
  d. refused → the row Failed with the vendor's reason (the order can be scheduled again);
  e. transient or unknown → tried again after the backoff (never before the vendor's Retry-After) with
     the SAME request ids: Partner Center answers a repeated MS-RequestId with its first answer, and a
     repeated checkout of one cart with its first order. The first trouble announces the waiting
     (imports.vendor.waiting). Past the deadline → expired: the row fails with the last trouble.
- a sender killed at any point (before a call, during it, after the answer and before its commit)
  leaves the order open under its lease; the next sender tries it again with the same ids and cart,
  so the vendor never places two orders for one row. The Subscription's unique provisioning_key is
  the last guard: a sender that finds it taken adopts that subscription.

The sender's rooms, each importing only those to its right: send → place → recorder → finish → outcomes
and updates. This one holds the entry points (vendor_order_for, vendor_orders_send, vendor_orders_send_due,
OPERATIONS) and the delivery (the chunk, its threads, each try's admission); it may import
every module of imports.vendor, and none of them imports it. One try's calls are imports.vendor.place's, the
chunk's database work imports.vendor.recorder's, finishing and the backoff imports.vendor.finish's.
"""

import datetime as dt
import threading
import uuid

from django.conf import settings
from django.db import connection
from django.db.models import Q

from catalog.integrations import get_integration
from catalog.integrations.asking import questions_join, questions_shared
from catalog.integrations.calls import KeptCalls, calls_for, calls_kept
from catalog.integrations.circuit import circuit_admit, circuit_probe_end
from core.clock import db_now
from core.datetimes import utc_text
from core.outbox import Budget, OutboxItem
from core.stored_messages import stored
from orders.facts import OrderFacts
from orders.models import Subscription
from orders.provisioning import subscription_snapshot

from imports.models import ImportJob, ImportRow, VendorOrder
from imports.vendor.finish import Finished, wait_record
from imports.vendor.outbox import VENDOR_ORDERS
from imports.vendor.outcomes import VENDOR_UNAVAILABLE, vendor_name
from imports.vendor.pacing import Wait
from imports.vendor.place import place
from imports.vendor.recorder import Recorder, Tried

UTC = dt.timezone.utc
Pending = OutboxItem.Status.PENDING
Outcome = VendorOrder.Outcome

# Operations another room tries itself, calls and answers (e.g. "change": imports.changes.vendor, registered by
# imports.apps): operation → try(vendor_order, now=, finished=) → the outcome reached, or None while open.
# Tried one by one in the sender's own thread (few: a subscription change is one PATCH).
OPERATIONS: dict = {}


# --- The intent, written by the batch -------------------------------------------------------------


def vendor_order_for(row: ImportRow, job: ImportJob, order, subscription: Subscription, *, now: dt.datetime) -> VendorOrder:
    """The unsaved VendorOrder of a row whose order passed its due-time checks and goes to the vendor:
    fresh request ids, the subscription to create (unsaved, priced on the creation day) as JSON, and
    the deadline (IMPORT_VENDOR_DEADLINE_SECONDS after the job's due time)."""
    integration = get_integration(order.service.vendor.integration)
    provisioning = integration.provisioning()
    if provisioning is None:
        raise ValueError(f"The integration {integration.key!r} has a connector but no provisioning.")
    return VendorOrder(
        row=row,
        job=job,
        company_id=order.company_id,
        integration=integration.key,
        operation=provisioning.operation(order),
        customer_id=provisioning.customer_id(order),
        create_request_id=uuid.uuid4(),
        checkout_request_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        subscription=subscription_snapshot(subscription),
        account_id=subscription.account_id,
        deadline_at=job.due_at + dt.timedelta(seconds=settings.IMPORT_VENDOR_DEADLINE_SECONDS),
        next_attempt_at=now,
        created_at=now,
    )


# --- Sending --------------------------------------------------------------------------------------


def vendor_orders_send(
    *,
    now: dt.datetime | None = None,
    job_ids: list[int] | None = None,
    limit: int | None = None,
    budget: Budget | None = None,
    concurrency: int | None = None,
) -> int:
    """Claim the due vendor orders (of `job_ids` if given) a chunk at a time and try each, up to
    `concurrency` (IMPORT_VENDOR_CONCURRENCY) at once; returns how many the vendor provisioned. Starts no
    try once `budget` is spent (what was claimed and not started is released). `now`: the claim's clock,
    also the clock of the tries' decisions (backoff, deadline); the current time by default."""
    now = now or db_now()
    # No more threads than the connector's pooled connections: one more would wait for a connection, and
    # past MICROSOFT_CONNECT_TIMEOUT give up with transient trouble the vendor never saw.
    concurrency = max(1, min(concurrency or settings.IMPORT_VENDOR_CONCURRENCY, settings.MICROSOFT_MAX_CONNECTIONS))
    if connection.vendor == "sqlite":
        # SQLite has a single writer (and the tests' in-memory database a shared-cache lock per table):
        # threads would only wait on each other. One at a time there.
        concurrency = 1
    return VENDOR_ORDERS.send_due(
        lambda ids: _deliver(ids, now=now, concurrency=concurrency, budget=budget),
        now=now,
        limit=limit,
        within=Q(job_id__in=job_ids) if job_ids is not None else None,
        budget=budget,
    )


def vendor_orders_send_due(*, now: dt.datetime, budget: Budget) -> int:
    """The outbox lane's sender of this kind (imports.engine.outbox_lane.KINDS)."""
    return vendor_orders_send(now=now, budget=budget)


def _deliver(ids: list[int], *, now: dt.datetime, concurrency: int, budget: Budget | None) -> int:
    """The kind's handler (core.outbox.Outbox.send_due): try each claimed vendor order; with several, in
    up to `concurrency` threads that only call the vendor (each mostly waits on its answer) while this
    thread does the chunk's database work (Recorder). The chunk's vendor orders, their orders, what the
    vendor checks read (OrderFacts) and the tenants' pauses are read once for the chunk."""
    finished = Finished()
    try:
        return _deliver_loaded(ids, now=now, concurrency=concurrency, budget=budget, finished=finished)
    finally:
        finished.hand_off(now=now)


def _deliver_loaded(ids: list[int], *, now: dt.datetime, concurrency: int, budget: Budget | None, finished: Finished) -> int:
    loaded = {vendor_order.pk: vendor_order for vendor_order in _open(ids)}
    unchecked = [vo.row.order for vo in loaded.values() if vo.checked_at is None and vo.row.order_id]
    facts = OrderFacts.load(unchecked, day=now.astimezone(UTC).date()) if unchecked else None
    pending = [loaded[pk] for pk in ids if pk in loaded]  # the others were finished meanwhile
    done = 0
    for vendor_order in [vo for vo in pending if vo.operation in OPERATIONS]:
        done += _other_operation(vendor_order, now=now, finished=finished) == Outcome.DONE
    pending = [vo for vo in pending if vo.operation not in OPERATIONS]
    recorder = Recorder(pending, now=now, finished=finished)
    # The due time's vendor checks of the chunk ask about each tenant (or new domain) once: the chunk's
    # orders of one customer tenant share the answer, as they share the batch's facts (at most one
    # question per order, for as long as the claim's lease).
    with questions_shared(max_questions=len(pending), budget_seconds=settings.IMPORT_VENDOR_LEASE_SECONDS) as questions:
        try:
            if concurrency == 1 or len(pending) <= 1:
                with calls_kept(recorder.calls):
                    for vendor_order in pending:
                        recorder.add(_attempt(vendor_order, facts=facts, now=now, budget=budget, recorder=recorder))
            else:
                _deliver_threads(pending, questions, facts=facts, now=now, concurrency=concurrency, budget=budget,
                                 recorder=recorder)
        finally:
            recorder.flush()
    return done + recorder.done


def _other_operation(vendor_order: VendorOrder, *, now: dt.datetime, finished: Finished) -> str | None:
    """A vendor order another room tries (OPERATIONS), behind the integration's circuit like the others."""
    admission = circuit_admit(vendor_order.integration, now=db_now())
    if not admission.call:
        vendor = vendor_name(vendor_order)
        wait = Wait(stored(VENDOR_UNAVAILABLE, vendor=vendor, until=utc_text(admission.until)), admission.until, announce=True)
        return wait_record(vendor_order, wait, now=now, finished=finished)
    if admission.probe:
        circuit_probe_end(vendor_order.integration)  # its one call is counted by the next order's try
    return OPERATIONS[vendor_order.operation](vendor_order, now=now, finished=finished)


def _deliver_threads(pending: list, questions, *, facts, now, concurrency: int, budget, recorder: Recorder) -> None:
    """`concurrency` threads take the chunk's vendor orders one after another and place them (_attempt:
    vendor calls, no database work of their own but the rare tenant pause); this thread meanwhile writes
    what they ask to have written (Recorder.serve): a cart id before its checkout, the answers."""
    lock, todo = threading.Lock(), list(pending)

    def worker() -> None:
        try:
            with questions_join(questions), calls_kept(recorder.calls):
                while True:
                    with lock:
                        if not todo:
                            return
                        vendor_order = todo.pop(0)
                    recorder.put(_attempt(vendor_order, facts=facts, now=now, budget=budget, recorder=recorder))
        finally:
            connection.close()  # this thread's own connection, if it opened one (a tenant pause)

    threads = [
        threading.Thread(target=worker, name=f"vendor-order-{n}", daemon=True) for n in range(min(concurrency, len(pending)))
    ]
    for thread in threads:
        thread.start()
    recorder.serve(threads)


def _attempt(vendor_order: VendorOrder, *, facts: OrderFacts | None, now: dt.datetime, budget: Budget | None,
             recorder: Recorder) -> Tried:
    if budget is not None and budget.spent():
        return Tried(vendor_order, released=True)
    # The integration's circuit (catalog.integrations.circuit): while the vendor is down, one probe calls and
    # the others wait without calling (not a try: no attempt, no backoff).
    admission = recorder.admit(vendor_order)
    if not admission.call:
        vendor = vendor_name(vendor_order)
        wait = Wait(stored(VENDOR_UNAVAILABLE, vendor=vendor, until=utc_text(admission.until)), admission.until, announce=True)
        return Tried(vendor_order, wait)
    kept = KeptCalls()  # this try's own calls: the circuit counts them with its outcome
    try:
        with calls_kept(kept), calls_for(vendor_order.company_id):
            result = place(vendor_order, facts=facts, now=now, recorder=recorder)
        return Tried(vendor_order, result, calls=kept.take(), probe=admission.probe)
    except Exception as exc:
        return Tried(vendor_order, error=exc, calls=kept.take(), probe=admission.probe)


# --- One try --------------------------------------------------------------------------------------


def _open(ids: list[int]):
    return VendorOrder.objects.select_related(
        "row__order__service__vendor", "row__order__company", "row__order__created_by"
    ).filter(pk__in=ids, status=Pending, outcome=Outcome.OPEN)
