"""Finishing vendor orders and their jobs, and the backoff, each in a short transaction of its own and only
while the order is still open (open_locked): a placed order gets its Subscription and its row Completed
(finish_done), a refused or expired one its row Failed (finish_failed), and its job finishes when none of
its vendor orders is open any more (finish_jobs_if_done); transient trouble is tried again after the
backoff (trouble_record, next_try_at), a wait without a call when its time comes (wait_record); the
emails of what a sender finished go once it is done (Finished). The lowest of the sender's rooms
(send → place → recorder → finish): of imports.vendor it imports outcomes, updates, outbox, pacing and
waiting, never the rooms above it."""

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from core.datetimes import utc_text
from core.outbox import OutboxItem
from core.stored_messages import stored
from orders.models import Subscription
from orders.provisioning import subscription_from_snapshot

from imports.jobs.finishing import jobs_finish
from imports.models import ImportJob, ImportRow, VendorOrder
from imports.notify.send import emails_send
from imports.vendor.outbox import VENDOR_BACKOFF_BASE_SECONDS, VENDOR_ORDERS
from imports.vendor.outcomes import VENDOR_DEADLINE_PASSED, Placed, Trouble, vendor_name
from imports.vendor.pacing import Wait, full_jitter
from imports.vendor.updates import update_each
from imports.vendor.waiting import waiting_announce

logger = logging.getLogger(__name__)
Pending = OutboxItem.Status.PENDING
Outcome = VendorOrder.Outcome


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


def open_locked(vendor_order: VendorOrder) -> VendorOrder | None:
    return VendorOrder.objects.select_for_update().filter(pk=vendor_order.pk, status=Pending, outcome=Outcome.OPEN).first()


def finish_done(placed: list[tuple[VendorOrder, Placed]], *, now: dt.datetime, finished: Finished) -> int:
    """Record vendor orders the vendor placed, in one short transaction: each one still open (locked; one
    finished by another sender meanwhile is left as it is) gets its Subscription (the snapshot's, with the
    vendor's ids), its row Completed, and its job finished when none of its vendor orders is open any
    more. Returns how many were recorded here."""
    with transaction.atomic():
        locked = {
            vo.pk: vo for vo in VendorOrder.objects.select_for_update().filter(
                pk__in=[vendor_order.pk for vendor_order, _placed in placed], status=Pending, outcome=Outcome.OPEN,
            ).order_by("pk")
        }
        items = [(locked[vendor_order.pk], result) for vendor_order, result in placed if vendor_order.pk in locked]
        if not items:
            return 0
        subscriptions = _subscriptions_save([
            _subscription_of(vendor_order, result) for vendor_order, result in items
        ])
        update_each(
            VendorOrder,
            {
                vendor_order.pk: {
                    "attempts": vendor_order.attempts + 1, "vendor_order_id": result.vendor_order_id,
                    "vendor_subscription_id": result.vendor_subscription_id,
                    "customer_id": result.customer_id or vendor_order.customer_id,
                }
                for vendor_order, result in items
            },
            status=OutboxItem.Status.SENT, sent_at=now, outcome=Outcome.DONE, last_error="",
        )
        update_each(
            ImportRow,
            {
                vendor_order.row_id: {"subscription_id": subscription.pk, "result_account_id": subscription.account_id}
                for (vendor_order, _result), subscription in zip(items, subscriptions)
            },
            status=ImportRow.Status.COMPLETED, error="", processed_at=now,
        )
        done = finish_jobs_if_done({vendor_order.job_id for vendor_order, _result in items}, now=now)
    for job, job_rows in done:
        finished.add(job, job_rows)  # committed: its email goes with the sender's others
    return len(items)


def _subscription_of(vendor_order: VendorOrder, placed: Placed) -> Subscription:
    subscription = subscription_from_snapshot(
        vendor_order.subscription,
        vendor_subscription_id=placed.vendor_subscription_id,
        vendor_order_id=placed.vendor_order_id,
        vendor_status=placed.vendor_status[:30],
    )
    if placed.attributes:
        subscription.attributes = {**subscription.attributes, **placed.attributes}
    return subscription


def _subscriptions_save(subscriptions: list[Subscription]) -> list[Subscription]:
    """Insert the subscriptions (in the caller's transaction); one whose provisioning key (unique) is taken
    already is adopted instead: whoever created it first wins."""
    keys = [s.provisioning_key for s in subscriptions if s.provisioning_key]
    existing = {s.provisioning_key: s for s in Subscription.objects.filter(provisioning_key__in=keys)} if keys else {}
    new = [s for s in subscriptions if s.provisioning_key not in existing]
    try:
        with transaction.atomic():
            Subscription.objects.bulk_create(new)
    except IntegrityError:
        # Created meanwhile by another sender: one at a time, adopting the ones taken.
        for subscription in new:
            try:
                with transaction.atomic():
                    subscription.save(force_insert=True)
            except IntegrityError:
                taken = Subscription.objects.filter(provisioning_key=subscription.provisioning_key).first()
                if taken is None:
                    raise
                existing[subscription.provisioning_key] = taken
    return [existing.get(s.provisioning_key) or s for s in subscriptions]


def finish_failed(vendor_order: VendorOrder, outcome: str, reason: str, *, now: dt.datetime, finished: Finished) -> bool:
    """The row fails with `reason` (stored text): refused by the vendor, or expired at the deadline."""
    with transaction.atomic():
        locked = open_locked(vendor_order)
        if locked is None:
            return False
        VendorOrder.objects.filter(pk=locked.pk).update(
            status=OutboxItem.Status.SENT, sent_at=now, outcome=outcome, reason=reason, attempts=F("attempts") + 1,
        )
        ImportRow.objects.filter(pk=locked.row_id).update(status=ImportRow.Status.FAILED, error=reason, processed_at=now)
        done = finish_jobs_if_done({locked.job_id}, now=now)
    for job, job_rows in done:
        finished.add(job, job_rows)
    return True


def finish_jobs_if_done(job_ids: set[int], *, now: dt.datetime) -> list[tuple[ImportJob, list[ImportRow]]]:
    """Finish the jobs none of whose vendor orders is open any more: their job rows locked (two senders
    finishing two orders of one job take turns, the second sees the first's commit; locked in id order),
    each one's final status from all its rows, the audit entry, email and webhook as the batch writes them
    (imports.jobs.finishing). Returns the jobs that finished and their rows: the caller sends their emails
    after the commit."""
    jobs = list(
        ImportJob.objects.select_for_update(of=("self",), no_key=True).select_related("company", "created_by")
        .filter(pk__in=job_ids, status=ImportJob.Status.WAITING).order_by("pk")
    )
    if not jobs:
        return []
    rows_of_job: dict[int, list[ImportRow]] = {job.pk: [] for job in jobs}
    for row in ImportRow.objects.filter(job_id__in=rows_of_job).select_related("subscription", "order__service").order_by("job_id", "position"):
        rows_of_job[row.job_id].append(row)
    # A Waiting job's rows are final but those still with the vendor (an open vendor order each): one
    # still Pending means another vendor order is open. (Its sender updates the row before it locks the
    # job, so whichever of two senders locks the job second sees the other's row final.)
    ready = [job for job in jobs if not any(row.status == ImportRow.Status.PENDING for row in rows_of_job[job.pk])]
    if not ready:
        return []
    jobs_finish(ready, rows_of_job, now=now, from_status=ImportJob.Status.WAITING)
    return [(job, rows_of_job[job.pk]) for job in ready]


def backoff(attempts: int) -> dt.timedelta:
    """The longest wait after the `attempts`-th trouble: the vendor outbox's backoff (15 s doubling to 15 min)
    scaled to IMPORT_VENDOR_BACKOFF_SECONDS: that long after the first failure, doubling, at most 60 times that."""
    return VENDOR_ORDERS.backoff(attempts) * (float(settings.IMPORT_VENDOR_BACKOFF_SECONDS) / VENDOR_BACKOFF_BASE_SECONDS)


def next_try_at(vendor_order: VendorOrder, attempts: int, retry_after: float | None, *, now: dt.datetime) -> dt.datetime:
    """A random instant within the backoff (full jitter: orders that met trouble together do not come back
    together), never before the vendor's Retry-After."""
    wait = full_jitter(backoff(attempts))
    if retry_after:
        wait = max(wait, dt.timedelta(seconds=retry_after))
    return now + wait


def trouble_record(vendor_order: VendorOrder, trouble: Trouble, *, now: dt.datetime, finished: Finished) -> str | None:
    """Transient trouble: tried again after the backoff (not before Retry-After), the same ids; past the
    deadline, expired. The job's first trouble announces that it waits."""
    if now >= vendor_order.deadline_at:
        reason = stored(
            VENDOR_DEADLINE_PASSED, vendor=vendor_name(vendor_order), deadline=utc_text(vendor_order.deadline_at),
            reason=trouble.reason,
        )
        return Outcome.EXPIRED if finish_failed(vendor_order, Outcome.EXPIRED, reason, now=now, finished=finished) else None
    attempts = vendor_order.attempts + 1
    next_try = next_try_at(vendor_order, attempts, trouble.retry_after, now=now)
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


def wait_record(vendor_order: VendorOrder, wait: Wait, *, now: dt.datetime, finished: Finished) -> str | None:
    """No call was made (the tenant's budget is spent, the vendor is down): the order waits until the wait's
    time, with its reason shown on the job; not a try (attempts and backoff unchanged). Past the deadline,
    expired as after any trouble. A long wait announces the job's waiting, once."""
    if now >= vendor_order.deadline_at:
        return trouble_record(vendor_order, Trouble(wait.reason), now=now, finished=finished)
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


def mark_trouble_by_pk(pk: int, *, now: dt.datetime, error: str) -> None:
    vendor_order = VendorOrder.objects.filter(pk=pk, status=Pending).first()
    if vendor_order is None:
        return
    attempts = vendor_order.attempts + 1
    VendorOrder.objects.filter(pk=pk, status=Pending, next_attempt_at=VENDOR_ORDERS.lease_end(now)).update(
        attempts=attempts, last_error=error[:2000], next_attempt_at=next_try_at(vendor_order, attempts, None, now=now),
    )
