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
"""

import datetime as dt
import logging
import threading
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.integrations import VendorWait, get_integration
from catalog.integrations.asking import questions_join, questions_shared
from catalog.integrations.base import VendorProvisioning
from catalog.integrations.calls import calls_for, calls_seen
from catalog.integrations.circuit import circuit_admit
from catalog.integrations.pauses import tenant_pause, tenant_paused_until
from catalog.integrations.partner_center import Done, Refused, Transient, Unknown
from core.clock import db_now
from core.datetimes import utc_text
from core.outbox import Budget, OutboxItem
from core.stored_messages import stored
from orders.facts import OrderFacts
from orders.models import Subscription
from orders.provisioning import subscription_from_snapshot, subscription_snapshot
from orders.validation import order_vendor_problems

from imports.jobs.finishing import jobs_finish
from imports.models import ImportJob, ImportRow, VendorOrder
from imports.notify.send import emails_send
from imports.vendor.outbox import VENDOR_BACKOFF_BASE_SECONDS, VENDOR_ORDERS
from imports.vendor.pacing import BUDGET_SPREAD_SECONDS, Wait, budget_next_slot, circuit_after_try, full_jitter
from imports.vendor.waiting import waiting_announce

logger = logging.getLogger(__name__)
UTC = dt.timezone.utc
Pending = OutboxItem.Status.PENDING
Outcome = VendorOrder.Outcome

# Stored (core.stored_messages) in last_error and on the failed row; shown in the reader's language.
VENDOR_TROUBLE = _("%(vendor)s could not take the order right now: %(detail)s")
VENDOR_RATE_LIMITED = _("%(vendor)s is limiting our requests for now: %(detail)s")
VENDOR_NO_ANSWER = _(
    "%(vendor)s did not answer after the order was sent; it is asked again with the same request, so it is never placed twice: %(detail)s"
)
VENDOR_TENANT_PAUSED = _(
    "%(vendor)s asked us to slow down for this customer tenant; its orders wait until %(until)s."
)
VENDOR_NOT_CONNECTED = _("The connection to %(vendor)s is turned off; the order waits until it is on again.")
VENDOR_DEADLINE_PASSED = _(
    "%(vendor)s could not take the order before the deadline (%(deadline)s); please schedule it again. Last trouble: %(reason)s"
)
VENDOR_UNEXPECTED = _("The order could not be sent to %(vendor)s because of an unexpected error; it is tried again.")
# Waits without a call (imports.vendor.pacing): the tenant's request budget is spent; the vendor is down.
VENDOR_BUDGET_WAIT = _(
    "%(vendor)s is limiting our requests for this customer tenant; the order waits for its turn, at %(until)s."
)
VENDOR_UNAVAILABLE = _("%(vendor)s is unavailable, next try at %(until)s.")


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
    concurrency = max(1, concurrency or settings.IMPORT_VENDOR_CONCURRENCY)
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
    up to `concurrency` threads (each mostly waits on the vendor), each closing its database connection
    when it ends. The chunk's vendor orders, their orders, and what the vendor checks read (OrderFacts)
    are read once for the chunk."""
    finished = Finished()
    try:
        return _deliver_loaded(ids, now=now, concurrency=concurrency, budget=budget, finished=finished)
    finally:
        finished.hand_off(now=now)


def _deliver_loaded(ids: list[int], *, now: dt.datetime, concurrency: int, budget: Budget | None, finished: "Finished") -> int:
    loaded = {vendor_order.pk: vendor_order for vendor_order in _open(ids)}
    unchecked = [vo.row.order for vo in loaded.values() if vo.checked_at is None and vo.row.order_id]
    facts = OrderFacts.load(unchecked, day=now.astimezone(UTC).date()) if unchecked else None
    pending = [loaded[pk] for pk in ids if pk in loaded]  # the others were finished meanwhile
    # The due time's vendor checks of the chunk ask about each tenant (or new domain) once: the chunk's
    # orders of one customer tenant share the answer, as they share the batch's facts (at most one
    # question per order, for as long as the claim's lease).
    with questions_shared(max_questions=len(pending), budget_seconds=settings.IMPORT_VENDOR_LEASE_SECONDS) as questions:
        if concurrency == 1 or len(pending) <= 1:
            return sum(_try_claimed(vendor_order, facts=facts, now=now, budget=budget, finished=finished) for vendor_order in pending)
        return _deliver_threads(pending, questions, facts=facts, now=now, concurrency=concurrency, budget=budget, finished=finished)


def _deliver_threads(pending: list, questions, *, facts, now, concurrency: int, budget, finished: "Finished") -> int:
    lock, results = threading.Lock(), []

    def worker() -> None:
        try:
            with questions_join(questions):
                while True:
                    with lock:
                        if not pending:
                            return
                        vendor_order = pending.pop(0)
                    results.append(_try_claimed(vendor_order, facts=facts, now=now, budget=budget, finished=finished))
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=worker, name=f"vendor-order-{n}", daemon=True) for n in range(min(concurrency, len(pending)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(results)


def _try_claimed(
    vendor_order: VendorOrder, *, facts: OrderFacts | None, now: dt.datetime, budget: Budget | None, finished: "Finished"
) -> int:
    if budget is not None and budget.spent():
        VENDOR_ORDERS.release([vendor_order.pk], now=now)
        return 0
    try:
        return 1 if _try(vendor_order, facts=facts, now=now, finished=finished) == Outcome.DONE else 0
    except Exception as exc:
        # Anything unexpected (a bug, the database gone): a failed attempt with the backoff, never a
        # verdict on the order; the deadline still ends it.
        logger.exception("Vendor order %s: unexpected error (%s: %s).", vendor_order.pk, type(exc).__name__, exc)
        try:
            _mark_trouble_by_pk(vendor_order.pk, now=now, error=stored(VENDOR_UNEXPECTED, vendor=_vendor_name(vendor_order)))
        except Exception:
            logger.exception("Vendor order %s: could not record the error; its lease hands it to another sender.", vendor_order.pk)
        return 0


class Finished:
    """The jobs a sender finished (their final email) and those it announced as waiting, once committed:
    their emails are sent together when the sender's chunk is done (one rendering for alike emails;
    during a burst of due jobs they wait in the outbox, imports.notify.priority). A sender that dies
    first leaves them to the outbox lane: the Notifications are committed."""

    def __init__(self):
        self.loaded: dict[int, tuple[ImportJob, list[ImportRow]]] = {}
        self.announced: list[int] = []

    def add(self, job: ImportJob, rows: list[ImportRow]) -> None:
        self.loaded[job.pk] = (job, rows)  # (threads: one dict item set at a time)

    def hand_off(self, *, now: dt.datetime) -> None:
        try:
            if self.announced:
                emails_send(job_ids=list(self.announced), now=now)
            if self.loaded:
                emails_send(job_ids=list(self.loaded), now=now, loaded=dict(self.loaded), yield_to_jobs=True)
        except Exception:
            logger.exception("Could not send the emails of finished vendor orders; the outbox lane sends them.")


# --- One try --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Placed:
    vendor_order_id: str = ""
    vendor_subscription_id: str = ""
    vendor_status: str = ""
    customer_id: str = ""
    attributes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Refusal:
    reasons: list[str]


@dataclass(frozen=True)
class _Trouble:
    reason: str
    retry_after: float | None = None


def _open(ids: list[int]):
    return VendorOrder.objects.select_related(
        "row__order__service__vendor", "row__order__company", "row__order__created_by"
    ).filter(pk__in=ids, status=Pending, outcome=Outcome.OPEN)


def _vendor_name(vendor_order: VendorOrder) -> str:
    order = vendor_order.row.order
    return order.service.vendor.name if order is not None and order.service_id else vendor_order.integration


def vendor_order_try(pk: int, *, now: dt.datetime) -> str | None:
    """One try of one vendor order (claimed by the caller): the calls outside any transaction, each
    answer recorded in its own. Returns the outcome it reached (done, refused, expired), or None when it
    stays open (transient trouble) or was not open any more."""
    vendor_order = _open([pk]).first()
    if vendor_order is None:
        return None
    finished = Finished()
    try:
        return _try(vendor_order, facts=None, now=now, finished=finished)
    finally:
        finished.hand_off(now=now)


def _try(vendor_order: VendorOrder, *, facts: OrderFacts | None, now: dt.datetime, finished: "Finished") -> str | None:
    # The integration's circuit (imports.vendor.pacing): while the vendor is down, one probe calls.
    admission = circuit_admit(vendor_order.integration, now=db_now())
    if not admission.call:
        until = utc_text(admission.until)
        return _wait(vendor_order, Wait(stored(VENDOR_UNAVAILABLE, vendor=_vendor_name(vendor_order), until=until),
                                        admission.until, announce=True), now=now, finished=finished)
    with calls_for(vendor_order.company_id), calls_seen() as calls:
        result = _place(vendor_order, facts=facts, now=now)
    result = _counted(vendor_order, result, calls, admission=admission)
    if isinstance(result, Wait):
        return _wait(vendor_order, result, now=now, finished=finished)
    if isinstance(result, _Placed):
        return Outcome.DONE if _finish_done(vendor_order, result, now=now, finished=finished) else None
    if isinstance(result, _Refusal):
        reason = "\n".join(result.reasons)
        return Outcome.REFUSED if _finish_failed(vendor_order, Outcome.REFUSED, reason, now=now, finished=finished) else None
    return _trouble(vendor_order, result, now=now, finished=finished)


def _counted(vendor_order: VendorOrder, result, calls: list, *, admission):
    """The try's calls counted in the circuit; a probe that failed waits for the next probe time. Never
    raises: the circuit's bookkeeping must not lose the vendor's answer."""
    try:
        counted = circuit_after_try(vendor_order.integration, calls, admission=admission, now=db_now())
    except Exception:
        logger.exception("Vendor order %s: could not count its calls in the circuit.", vendor_order.pk)
        return result
    if counted.next_probe is not None and isinstance(result, _Trouble):
        vendor = _vendor_name(vendor_order)
        return Wait(stored(VENDOR_UNAVAILABLE, vendor=vendor, until=utc_text(counted.next_probe)), counted.next_probe, announce=True)
    return result


def _budget_wait(vendor_order: VendorOrder, vendor: str) -> Wait | None:
    """Reserve the tenant's request for the call about to be made (catalog.integrations.budget)."""
    until = budget_next_slot(vendor_order, now=db_now())
    if until is None:
        return None
    return Wait(stored(VENDOR_BUDGET_WAIT, vendor=vendor, until=utc_text(until)), until, spread_seconds=BUDGET_SPREAD_SECONDS)


def _outcome_of(answer, vendor: str) -> _Refusal | _Trouble:
    if isinstance(answer, Refused):
        return _Refusal([answer.reason])
    if isinstance(answer, Unknown):
        return _Trouble(stored(VENDOR_NO_ANSWER, vendor=vendor, detail=answer.reason))
    if isinstance(answer, Transient):
        message = VENDOR_RATE_LIMITED if answer.status == 429 else VENDOR_TROUBLE
        return _Trouble(stored(message, vendor=vendor, detail=answer.reason), answer.retry_after)
    return _Trouble(stored(VENDOR_TROUBLE, vendor=vendor, detail=f"unexpected answer {type(answer).__name__}"))


def _not_done(vendor_order: VendorOrder, answer, vendor: str, *, now: dt.datetime) -> _Refusal | _Trouble:
    """What a call that was not done means for the order; a 429 also pauses its tenant for every sender
    until the vendor's Retry-After (catalog.integrations.pauses)."""
    if isinstance(answer, Transient) and answer.status == 429 and answer.retry_after:
        tenant_pause(vendor_order.integration, vendor_order.customer_id, until=now + dt.timedelta(seconds=answer.retry_after))
    return _outcome_of(answer, vendor)


def _place(vendor_order: VendorOrder, *, facts: OrderFacts | None, now: dt.datetime) -> _Placed | _Refusal | _Trouble | Wait:
    """The calls of one try, in order; stops at the first that is not done."""
    order, vendor = vendor_order.row.order, _vendor_name(vendor_order)
    integration = get_integration(vendor_order.integration)
    client, provisioning = integration.connector(), integration.provisioning()
    if client is None or provisioning is None:
        return _Trouble(stored(VENDOR_NOT_CONNECTED, vendor=vendor))
    paused = tenant_paused_until(vendor_order.integration, vendor_order.customer_id, now=now)
    if paused is not None:  # another order met the tenant's limit: wait with it, without calling
        return _Trouble(stored(VENDOR_TENANT_PAUSED, vendor=vendor, until=utc_text(paused)), (paused - now).total_seconds())
    if vendor_order.checked_at is None:
        problems = order_vendor_problems(order, facts)
        if isinstance(problems, VendorWait):
            return _Trouble(problems.reason, problems.retry_after)
        if problems:
            return _Refusal(list(problems))
        VendorOrder.objects.filter(pk=vendor_order.pk, status=Pending).update(checked_at=now)
    ids = {"request_id": str(vendor_order.create_request_id), "correlation_id": str(vendor_order.correlation_id)}
    if vendor_order.operation == VendorProvisioning.CUSTOMER:
        domain = vendor_order.subscription.get("tenant_domain") or ""
        answer = client.customer_create(provisioning.new_customer(order, domain), **ids)
        if not isinstance(answer, Done):
            return _not_done(vendor_order, answer, vendor, now=now)
        # The new tenant's id is the vendor's customer id (instead of the random id of local provisioning).
        return _Placed(customer_id=answer.result.id, vendor_status="active", attributes={"tenant_id": answer.result.id})
    if not vendor_order.cart_id:
        if wait := _budget_wait(vendor_order, vendor):
            return wait
        answer = client.cart_create(vendor_order.customer_id, provisioning.cart_line_items(order), **ids)
        if not isinstance(answer, Done):
            return _not_done(vendor_order, answer, vendor, now=now)
        # Recorded at once: a sender killed after this checks out this cart, never a second one.
        if VendorOrder.objects.filter(pk=vendor_order.pk, status=Pending, cart_id="").update(cart_id=answer.result.id):
            vendor_order.cart_id = answer.result.id
        else:  # recorded by another sender (the same MS-RequestId: the same cart)
            vendor_order.cart_id = VendorOrder.objects.filter(pk=vendor_order.pk).values_list("cart_id", flat=True).first() or answer.result.id
    if wait := _budget_wait(vendor_order, vendor):
        return wait
    answer = client.cart_checkout(
        vendor_order.customer_id, vendor_order.cart_id,
        request_id=str(vendor_order.checkout_request_id), correlation_id=str(vendor_order.correlation_id),
    )
    if not isinstance(answer, Done):
        return _not_done(vendor_order, answer, vendor, now=now)
    placed = answer.result.orders[0]
    subscriptions = placed.subscription_ids
    return _Placed(
        vendor_order_id=placed.id, vendor_subscription_id=subscriptions[0] if subscriptions else "", vendor_status=placed.status,
    )


# --- Recording the answers, each in a short transaction of its own ---------------------------------


def _open_locked(vendor_order: VendorOrder) -> VendorOrder | None:
    return VendorOrder.objects.select_for_update().filter(pk=vendor_order.pk, status=Pending, outcome=Outcome.OPEN).first()


def _finish_done(vendor_order: VendorOrder, placed: _Placed, *, now: dt.datetime, finished: "Finished") -> bool:
    with transaction.atomic():
        locked = _open_locked(vendor_order)
        if locked is None:
            return False  # finished by another sender meanwhile
        subscription = subscription_from_snapshot(
            locked.subscription,
            vendor_subscription_id=placed.vendor_subscription_id,
            vendor_order_id=placed.vendor_order_id,
            vendor_status=placed.vendor_status[:30],
        )
        if placed.attributes:
            subscription.attributes = {**subscription.attributes, **placed.attributes}
        try:
            with transaction.atomic():
                subscription.save(force_insert=True)
        except IntegrityError:
            # The provisioning key is unique: whoever created it first wins, and we adopt it.
            existing = Subscription.objects.filter(provisioning_key=subscription.provisioning_key).first()
            if existing is None:
                raise
            subscription = existing
        VendorOrder.objects.filter(pk=locked.pk).update(
            status=OutboxItem.Status.SENT, sent_at=now, outcome=Outcome.DONE, attempts=F("attempts") + 1, last_error="",
            vendor_order_id=placed.vendor_order_id, vendor_subscription_id=placed.vendor_subscription_id,
            customer_id=placed.customer_id or locked.customer_id,
        )
        ImportRow.objects.filter(pk=locked.row_id).update(
            status=ImportRow.Status.COMPLETED, subscription=subscription, result_account_id=subscription.account_id,
            error="", processed_at=now,
        )
        done = _finish_job_if_done(locked.job_id, now=now)
    if done:
        finished.add(*done)  # committed: its email goes with the sender's others
    return True


def _finish_failed(vendor_order: VendorOrder, outcome: str, reason: str, *, now: dt.datetime, finished: "Finished") -> bool:
    """The row fails with `reason` (stored text): refused by the vendor, or expired at the deadline."""
    with transaction.atomic():
        locked = _open_locked(vendor_order)
        if locked is None:
            return False
        VendorOrder.objects.filter(pk=locked.pk).update(
            status=OutboxItem.Status.SENT, sent_at=now, outcome=outcome, reason=reason, attempts=F("attempts") + 1,
        )
        ImportRow.objects.filter(pk=locked.row_id).update(status=ImportRow.Status.FAILED, error=reason, processed_at=now)
        done = _finish_job_if_done(locked.job_id, now=now)
    if done:
        finished.add(*done)
    return True


def _finish_job_if_done(job_id: int, *, now: dt.datetime) -> tuple[ImportJob, list[ImportRow]] | None:
    """Finish the job once none of its vendor orders is open: its job row locked (two senders finishing
    two orders of one job take turns, the second sees the first's commit), its final status from all its
    rows, the audit entry, email and webhook as the batch writes them (imports.jobs.finishing). Returns
    the job and its rows when it finished: the caller sends its email after the commit."""
    job = (
        ImportJob.objects.select_for_update(of=("self",), no_key=True).select_related("company", "created_by")
        .filter(pk=job_id, status=ImportJob.Status.WAITING).first()
    )
    if job is None:
        return None
    rows = list(ImportRow.objects.filter(job_id=job_id).select_related("subscription", "order__service").order_by("position"))
    # A Waiting job's rows are final but those still with the vendor (an open vendor order each): one
    # still Pending means another vendor order is open. (Its sender updates the row before it locks the
    # job, so whichever of two senders locks the job second sees the other's row final.)
    if any(row.status == ImportRow.Status.PENDING for row in rows):
        return None
    jobs_finish([job], {job_id: rows}, now=now, from_status=ImportJob.Status.WAITING)
    return job, rows


def _backoff(attempts: int) -> dt.timedelta:
    """The longest wait after the `attempts`-th trouble: the vendor outbox's backoff (15 s doubling to 15 min)
    scaled to IMPORT_VENDOR_BACKOFF_SECONDS: that long after the first failure, doubling, at most 60 times that."""
    return VENDOR_ORDERS.backoff(attempts) * (float(settings.IMPORT_VENDOR_BACKOFF_SECONDS) / VENDOR_BACKOFF_BASE_SECONDS)


def _next_try(vendor_order: VendorOrder, attempts: int, retry_after: float | None, *, now: dt.datetime) -> dt.datetime:
    """A random instant within the backoff (full jitter: orders that met trouble together do not come back
    together), never before the vendor's Retry-After."""
    wait = full_jitter(_backoff(attempts))
    if retry_after:
        wait = max(wait, dt.timedelta(seconds=retry_after))
    return now + wait


def _trouble(vendor_order: VendorOrder, trouble: _Trouble, *, now: dt.datetime, finished: "Finished") -> str | None:
    """Transient trouble: tried again after the backoff (not before Retry-After), the same ids; past the
    deadline, expired. The job's first trouble announces that it waits."""
    if now >= vendor_order.deadline_at:
        reason = stored(
            VENDOR_DEADLINE_PASSED, vendor=_vendor_name(vendor_order), deadline=utc_text(vendor_order.deadline_at),
            reason=trouble.reason,
        )
        return Outcome.EXPIRED if _finish_failed(vendor_order, Outcome.EXPIRED, reason, now=now, finished=finished) else None
    attempts = vendor_order.attempts + 1
    next_try = _next_try(vendor_order, attempts, trouble.retry_after, now=now)
    marked = (
        VendorOrder.objects.filter(pk=vendor_order.pk, status=Pending, outcome=Outcome.OPEN,
                                   next_attempt_at=VENDOR_ORDERS.lease_end(now))
        .update(attempts=attempts, last_error=trouble.reason[:2000], next_attempt_at=next_try)
    )
    if marked and vendor_order.attempts == 0 and waiting_announce(
        vendor_order.job_id, now=now, next_try_at=next_try, reason=trouble.reason
    ):
        finished.announced.append(vendor_order.job_id)
    return None


def _wait(vendor_order: VendorOrder, wait: Wait, *, now: dt.datetime, finished: "Finished") -> str | None:
    """No call was made (the tenant's budget is spent, the vendor is down): the order waits until the wait's
    time, with its reason shown on the job; not a try (attempts and backoff unchanged). Past the deadline,
    expired as after any trouble. A long wait announces the job's waiting, once."""
    if now >= vendor_order.deadline_at:
        return _trouble(vendor_order, _Trouble(wait.reason), now=now, finished=finished)
    # (Never due again within the sender's own claim loop, whose clock is `now`.)
    next_try = max(wait.next_try(), now + dt.timedelta(seconds=1))
    marked = VendorOrder.objects.filter(
        pk=vendor_order.pk, status=Pending, outcome=Outcome.OPEN, next_attempt_at=VENDOR_ORDERS.lease_end(now)
    ).update(last_error=wait.reason[:2000], next_attempt_at=next_try)
    if marked and wait.announce and vendor_order.attempts == 0 and waiting_announce(
        vendor_order.job_id, now=now, next_try_at=next_try, reason=wait.reason
    ):
        finished.announced.append(vendor_order.job_id)
    return None


def _mark_trouble_by_pk(pk: int, *, now: dt.datetime, error: str) -> None:
    vendor_order = VendorOrder.objects.filter(pk=pk, status=Pending).first()
    if vendor_order is None:
        return
    attempts = vendor_order.attempts + 1
    VendorOrder.objects.filter(pk=pk, status=Pending, next_attempt_at=VENDOR_ORDERS.lease_end(now)).update(
        attempts=attempts, last_error=error[:2000], next_attempt_at=_next_try(vendor_order, attempts, None, now=now),
    )
