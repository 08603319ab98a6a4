"""Running claimed import jobs: validate each row, provision, finish the job, hand off the email.

The run is idempotent by construction:
- a job is run only by the pass that claimed it (Pending → In progress is exclusive);
- a row provisions through `Subscription.provisioning_key = "import-row:<id>"`, which is UNIQUE,
  so a repeated run can never create a second subscription; a run that finds the key already
  taken adopts that subscription instead of creating one;
- everything a run writes (subscriptions, vendor orders, rows, the jobs' final status or Waiting,
  audit log) commits in one transaction per batch of claimed jobs, so a worker killed half-way
  leaves its jobs In progress with nothing written; lease recovery puts them back to Pending and a later pass
  runs them again.

Transient database trouble (core.transient: a lost connection, a restart, a deadlock, a lock or
statement timeout) is not a verdict: the batch is tried again with backoff for a while
(IMPORT_TRANSIENT_RETRY_SECONDS), then left In progress under its claim for lease recovery. A job
fails only for a reason about its order, for an error that keeps recurring when nothing is wrong
with the database, or once transient trouble has lasted past IMPORT_TRANSIENT_DEADLINE_SECONDS.

Bulk import lines (imports.bulk) run here too, in file order: product lines are submitted orders
like any other; company and user lines are created by imports.bulk.rows, each in a savepoint,
their results written in the same transaction, so a repeated run never creates them twice.

Orders the vendor provisions (Send to backend on and a vendor connector: orders.validation.order_goes_to_vendor)
pass the same checks, and their subscription is built the same way (the price of the creation day),
but not saved: the batch writes a VendorOrder instead (imports.vendor.send.vendor_order_for), with the
request ids its calls will carry, in the same transaction, and the job ends the batch Waiting. Right
after the commit the batch's task places those orders (the fast path, outside any transaction); the
vendor sender finishes the job when its last vendor order is final (imports.jobs.finishing, the one
home of a job's finishing, which the batch uses too). Jobs without one finish here as always.

A batch reads what it needs once (companies, services, OrderFacts: price lists and items, terms
acceptances, live subscriptions) and runs the very due-time checks of orders.validation on it,
so the cost per job stays flat however many jobs are due.
"""

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, User
from accounts.selectors import companies_visible_to
from accounts.services import account_ids_allocate, audit_log_record
from catalog.models import Service
from core.stored_messages import stored
from core.clock import db_now
from core.outbox import Budget
from core.transient import is_transient
from orders.configuration import vendor_defaults_fill
from orders.facts import OrderFacts
from orders.models import Order, Subscription
from orders.provisioning import subscription_build
from orders.validation import order_goes_to_vendor, order_problems

from imports.engine.config import engine_config
from imports.jobs import states
from imports.jobs.finishing import (  # noqa: F401 (the audit messages and LostClaim, re-exported where they were)
    AUDIT_ACCOUNT_CREATED,
    AUDIT_IMPORT_COMPLETED,
    AUDIT_IMPORT_COMPLETED_WITH_ERRORS,
    AUDIT_IMPORT_FAILED,
    AUDIT_IMPORT_NOTHING_CREATED,
    LostClaim,
    final_status as _final_status,
    jobs_finish,
)
from imports.engine.plugins import LINE_TYPE_UNKNOWN, line_runner_for
from imports.models import PROVISIONING_KEY_PREFIX, ImportJob, ImportRow, Notification, VendorOrder
from imports.notify.send import emails_send
from imports.vendor.send import vendor_order_for, vendor_orders_send
from imports.webhooks.delivery import webhook_deliveries_record

# Checked here for every bulk line before its runner (imports.engine.plugins) runs it.
PARENT_NOT_VISIBLE = _("The parent account %(id)s is not one of the companies of the import's creator (any more).")

logger = logging.getLogger(__name__)
UTC = dt.timezone.utc
Status = ImportJob.Status

ROW_NOTHING_TO_PROVISION = _("This import row has no order to provision.")
ROW_NOT_CONFIGURED = _("The order of this import row has no quantity or billing type configured.")
JOB_UNEXPECTED_ERROR = _(
    "The import could not be processed because of an unexpected error. Please contact support."
)
JOB_UNAVAILABLE_TOO_LONG = _(
    "The import could not be processed: the platform was unavailable for too long after its scheduled time. "
    "Please schedule it again."
)
# Waits between tries of a batch after transient trouble; patched by tests.
sleep = time.sleep


@dataclass
class _Batch:
    """What a batch reads once instead of once per job."""

    facts: OrderFacts
    provisioned: dict[str, Subscription]  # by provisioning key: rows an earlier run provisioned
    account_ids: list[int]
    # Written with one bulk INSERT at the end of the batch; later orders see them through facts.hold.
    created: list[Subscription]
    # Bulk import jobs: job id → the parent companies of its rows that its creator may still see.
    visible: dict[int, set[int]] = field(default_factory=dict)
    # Orders whose empty vendor fields took the wizard's default at run time (saved at the end).
    defaulted: list[Order] = field(default_factory=list)
    # Bulk company lines: parent id → the price list a new customer inherits, read once per parent.
    price_lists: dict[int, object] = field(default_factory=dict)
    # Orders the vendor provisions (orders.validation.order_goes_to_vendor): their intent, written with
    # the batch; the rows stay Pending and their jobs Waiting until the vendor sender finishes them.
    vendor_orders: list[VendorOrder] = field(default_factory=list)


def _creation_day(now: dt.datetime) -> dt.date:
    return now.astimezone(UTC).date()


def _load_batch(rows: list[ImportRow], *, now: dt.datetime) -> _Batch:
    pending = [row for row in rows if row.status == ImportRow.Status.PENDING]
    facts = OrderFacts.load([row.order for row in rows if row.order_id], day=_creation_day(now))
    provisioned = {
        sub.provisioning_key: sub
        for sub in Subscription.objects.filter(provisioning_key__in=[row.provisioning_key for row in pending])
    }
    # One INSERT reserves the account ids of the whole batch. Rows that then fail leave gaps in
    # the sequence, which is harmless: account ids must be unique, not dense.
    account_ids = account_ids_allocate(count=sum(1 for row in pending if row.order_id))
    account_ids.reverse()  # pop() hands them out in increasing order
    return _Batch(facts, provisioned, account_ids, [])


def _process_row(row: ImportRow, batch: _Batch, job: ImportJob, *, now: dt.datetime) -> None:
    """Validate, then provision: the row ends Completed (with its account id) or Failed (with why)."""
    row.processed_at = now
    existing = batch.provisioned.get(row.provisioning_key)
    if existing is not None:
        # Provisioned by an earlier run of this row: adopt it, never create a second one.
        row.status, row.subscription, row.result_account_id, row.error = (
            ImportRow.Status.COMPLETED, existing, existing.account_id, ""
        )
        return
    if job.pk in batch.visible and row.parent_company_id not in batch.visible[job.pk]:
        # A bulk line acts for its creator: only on companies the creator may (still) see.
        row.status, row.error = ImportRow.Status.FAILED, stored(PARENT_NOT_VISIBLE, id=row.parent_company.account_id)
        return
    if row.import_type != ImportRow.ImportType.PRODUCT:
        # A bulk import's company or user line: run by the room that registered it (imports.bulk.rows).
        runner = line_runner_for(row.import_type)
        if runner is None:
            row.status, row.error = ImportRow.Status.FAILED, stored(LINE_TYPE_UNKNOWN, type=row.import_type)
            return
        outcome = runner(row, actor=job.created_by, price_lists=batch.price_lists)
        if isinstance(outcome, VendorOrder):  # a line the vendor applies (e.g. a subscription change): its job waits
            batch.vendor_orders.append(outcome)
        return
    order = row.order
    if order is None:
        row.status, row.error = ImportRow.Status.FAILED, stored(ROW_NOTHING_TO_PROVISION)
        return
    if not order.quantity or not order.term or not order.billing_frequency:
        row.status, row.error = ImportRow.Status.FAILED, stored(ROW_NOT_CONFIGURED)
        return
    deferred = row.payload.get("deferred") if isinstance(row.payload, dict) else None
    if deferred and vendor_defaults_fill(order, batch.facts, deferred):
        batch.defaulted.append(order)
    # Every due-time check runs before anything is created, on the creation day.
    reasons = order_problems(order, batch.facts)
    if reasons:
        row.status, row.error = ImportRow.Status.FAILED, "\n".join(reasons)
        return
    outcome = subscription_build(
        order=order, facts=batch.facts, account_id=batch.account_ids.pop(), provisioning_key=row.provisioning_key,
        started_at=now,
    )
    if isinstance(outcome, str):
        row.status, row.error = ImportRow.Status.FAILED, outcome
        return
    if order_goes_to_vendor(order):
        # The vendor creates it: record the intent (request ids, the subscription priced today) instead
        # of the subscription; imports.vendor.send calls the vendor after the batch commits. The
        # subscription stays recorded in the batch's facts (subscription_build), so later orders of the
        # batch see it held, as later batches do through the open vendor order (imports.vendor.held).
        batch.vendor_orders.append(vendor_order_for(row, job, order, outcome, now=now))
        return
    batch.created.append(outcome)
    row.status, row.subscription, row.result_account_id, row.error = (
        ImportRow.Status.COMPLETED, outcome, outcome.account_id, ""
    )


def _save_rows(rows: list[ImportRow], *, now: dt.datetime) -> None:
    """Write the rows' results with a few UPDATEs per batch instead of one per row.

    Completed rows take their subscription and account id from the subscription holding their
    provisioning key (a unique index) in one UPDATE; failed rows are grouped by reason.
    """
    completed = [row.pk for row in rows if row.status == ImportRow.Status.COMPLETED and row.import_type == ImportRow.ImportType.PRODUCT]
    accounts = [row for row in rows if row.status == ImportRow.Status.COMPLETED and row.import_type != ImportRow.ImportType.PRODUCT]
    if accounts:  # companies and users created by bulk lines: one row each (they were created one by one too)
        ImportRow.objects.bulk_update(accounts, ["status", "error", "processed_at", "result_account_id", "created"])
    if completed:
        # Unordered: the key is unique, and the model's ordering (by company path) would join the
        # companies into both subqueries for every row.
        by_key = Subscription.objects.filter(
            provisioning_key=Concat(Value(PROVISIONING_KEY_PREFIX), Cast(OuterRef("pk"), CharField()))
        ).order_by()
        ImportRow.objects.filter(pk__in=completed).update(
            status=ImportRow.Status.COMPLETED,
            error="",
            processed_at=now,
            subscription=Subquery(by_key.values("pk")[:1]),
            result_account_id=Subquery(by_key.values("account_id")[:1]),
        )
    failed: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if row.status == ImportRow.Status.FAILED:
            failed[row.error].append(row.pk)
    for error, ids in failed.items():
        ImportRow.objects.filter(pk__in=ids).update(status=ImportRow.Status.FAILED, error=error, processed_at=now)


def _attach_related(jobs: list[ImportJob], rows: list[ImportRow]) -> None:
    """Read the batch's companies, services (with vendor and dependencies) and creators once
    and attach the shared instances, instead of one copy per row through select_related."""
    orders = [row.order for row in rows if row.order_id]
    company_ids = {job.company_id for job in jobs} | {o.company_id for o in orders} | {row.parent_company_id for row in rows}
    companies_qs = Company.objects.filter(pk__in=company_ids)
    if connection.features.has_select_for_update:
        # One batch at a time per company across workers: the once-per-account and dependency
        # checks read the company's subscriptions, and two workers validating two orders of the
        # same company at once could otherwise both pass. Locked in id order, so two batches
        # never deadlock. (SQLite has a single writer: nothing to do.)
        # FOR NO KEY UPDATE: a web request inserting a new job for one of these companies (a foreign
        # key check, FOR KEY SHARE) is not held up by a batch.
        companies_qs = companies_qs.order_by("pk").select_for_update(no_key=True)
    companies = {company.pk: company for company in companies_qs}
    services = (
        Service.objects.select_related("vendor")
        .prefetch_related("dependencies")
        .in_bulk({o.service_id for o in orders if o.service_id})
    )
    users = User.objects.in_bulk({job.created_by_id for job in jobs})
    for order in orders:
        order.company = companies[order.company_id]
        if order.service_id:
            order.service = services[order.service_id]
    for job in jobs:
        job.company, job.created_by = companies[job.company_id], users[job.created_by_id]
    for row in rows:
        row.parent_company = companies[row.parent_company_id]


def _hand_off_emails(job_ids: list[int], *, now: dt.datetime, loaded: dict | None = None) -> None:
    """After commit, send the emails the run just wrote to the outbox (the fast path, unless a
    burst of due jobs waits: imports.notify.priority). If this never runs (worker killed) or fails, the next
    dispatch pass sends them from the outbox; so a failure here is logged (robust) rather than
    raised into the run, which has committed."""

    def send_import_emails():
        emails_send(job_ids=job_ids, loaded=loaded, now=now, yield_to_jobs=True)

    transaction.on_commit(send_import_emails, robust=True)


def _hand_off_vendor_orders(job_ids: list[int], *, now: dt.datetime) -> None:
    """After commit, place the vendor orders the run just wrote (the fast path: several at once, each
    call outside any transaction, imports.vendor.send). If this never runs (worker killed) or fails,
    the outbox lane's senders place them (imports.engine.outbox_lane), with the same request ids."""

    def send_vendor_orders():
        # The batch's clock claims them: they were written due at `now`.
        vendor_orders_send(
            job_ids=job_ids, now=now, concurrency=engine_config().vendor_concurrency,
            budget=Budget(engine_config().outbox_budget_seconds),
        )

    transaction.on_commit(send_vendor_orders, robust=True)


def _claimed(job_ids: list[int], claimed_at: dt.datetime | None):
    """The jobs of `job_ids` still In progress (under the claim made at `claimed_at`, if given:
    a task that arrives after its jobs were handed back and claimed again runs none of them)."""
    jobs_qs = ImportJob.objects.filter(pk__in=job_ids, status=Status.IN_PROGRESS)
    return jobs_qs if claimed_at is None else jobs_qs.filter(claimed_at=claimed_at)


def _run_batch(job_ids: list[int], *, now: dt.datetime, claimed_at: dt.datetime | None = None) -> dict[int, str]:
    """Run claimed jobs inside the caller's transaction; returns job id → final status."""
    jobs_qs = _claimed(job_ids, claimed_at)
    if connection.features.has_select_for_update:
        # Holding the job rows keeps lease recovery away from them until we commit (recovery skips
        # locked rows). A row locked by someone else is skipped here too: another delivery of this
        # very task has it, or recovery is handing it back; either way it is not ours to run now.
        jobs_qs = jobs_qs.select_for_update(skip_locked=True, no_key=True)
    jobs = list(jobs_qs.order_by("due_at", "id"))
    if not jobs:
        return {}
    rows = list(
        ImportRow.objects.filter(job__in=[job.pk for job in jobs]).select_related("order").order_by("job_id", "position")
    )
    _attach_related(jobs, rows)
    batch = _load_batch(rows, now=now)
    rows_of_job: dict[int, list[ImportRow]] = defaultdict(list)
    for row in rows:
        rows_of_job[row.job_id].append(row)
    for job in jobs:
        if job.source == ImportJob.Source.IMPORT:  # one query per bulk job, whatever its size
            parents = {row.parent_company_id for row in rows_of_job[job.pk]}
            batch.visible[job.pk] = set(
                companies_visible_to(job.created_by).filter(pk__in=parents).values_list("pk", flat=True)
            )

    changed: list[ImportRow] = []
    finishing: list[ImportJob] = []
    waiting: list[ImportJob] = []
    for job in jobs:  # oldest due first, so e.g. a tenant scheduled earlier serves a later order
        job_rows = rows_of_job[job.pk]
        with_vendor = len(batch.vendor_orders)
        for row in job_rows:
            if row.status == ImportRow.Status.PENDING:  # rows finished by an earlier run stay as they are
                _process_row(row, batch, job, now=now)
                changed.append(row)
        # A job with an order now at the vendor waits for it (its rows stay Pending): the vendor sender
        # finishes it (imports.jobs.finishing) once its last vendor order is final.
        (waiting if len(batch.vendor_orders) > with_vendor else finishing).append(job)

    if batch.created:
        Subscription.objects.bulk_create(batch.created)
    if batch.vendor_orders:
        VendorOrder.objects.bulk_create(batch.vendor_orders)
    if batch.defaulted:
        Order.objects.bulk_update(batch.defaulted, ["vendor_config"])
    _save_rows(changed, now=now)
    results = jobs_finish(finishing, rows_of_job, now=now, from_status=Status.IN_PROGRESS)
    # One UPDATE per (completed, failed) pair, not one per job: a burst's batch of 100 waiting jobs moves
    # in one or two statements.
    waiting_by_counts: dict[tuple[int, int], list[ImportJob]] = defaultdict(list)
    for job in waiting:
        _, completed, failed = _final_status(rows_of_job[job.pk])
        waiting_by_counts[(completed, failed)].append(job)
    for (completed, failed), jobs_alike in waiting_by_counts.items():
        moved = states.transition_many([job.pk for job in jobs_alike], Status.IN_PROGRESS, Status.WAITING,
                                       imported_count=completed, error_count=failed, lease_expires_at=None)
        if moved != len(jobs_alike):
            raise LostClaim(f"{len(jobs_alike) - moved} import job(s) were no longer in progress; rolling back.")
        for job in jobs_alike:
            job.status, job.imported_count, job.error_count = Status.WAITING, completed, failed
            results[job.pk] = Status.WAITING
    if finishing:
        loaded = {job.pk: (job, rows_of_job[job.pk]) for job in finishing}
        _hand_off_emails([job.pk for job in finishing], now=now, loaded=loaded)
    if waiting:
        _hand_off_vendor_orders([job.pk for job in waiting], now=now)
    return results


def _fail_unexpectedly(
    job_id: int, *, now: dt.datetime, claimed_at: dt.datetime | None, reason=JOB_UNEXPECTED_ERROR
) -> dict[int, str]:
    """A job whose run keeps raising: fail it with a generic reason rather than retrying forever."""
    try:
        with transaction.atomic():
            job = _claimed([job_id], claimed_at).select_related("company", "created_by").first()
            if job is None:
                return {}
            rows = list(job.rows.all())
            pending = [row for row in rows if row.status == ImportRow.Status.PENDING]
            for row in pending:
                row.status, row.error, row.processed_at = ImportRow.Status.FAILED, stored(reason), now
            ImportRow.objects.bulk_update(pending, ["status", "error", "processed_at"])
            status, completed, failed = _final_status(rows)
            status = Status.FAILED
            if not states.transition_queryset(
                _claimed([job_id], claimed_at), Status.IN_PROGRESS, status,
                imported_count=completed, error_count=max(failed, 1), finished_at=now, lease_expires_at=None,
            ):
                return {}
            audit_log_record(
                company=job.company, actor=job.created_by, action="import.failed",
                message=stored(AUDIT_IMPORT_FAILED, job=job.stored_label(), reasons=[stored(reason)]),
            )
            Notification.objects.bulk_create([Notification.for_job(job_id, now=now)])
            job.status, job.imported_count, job.error_count, job.finished_at = status, completed, max(failed, 1), now
            webhook_deliveries_record([job], now=now, rows_of_job={job_id: rows})
            _hand_off_emails([job_id], now=now)
            return {job_id: status}
    except Exception:
        # Left In progress: lease recovery hands it to a later pass.
        logger.exception("Could not mark import job %s as failed.", job_id)
        return {}


class _Transient(Exception):
    """The batch met transient database trouble on every try within the retry budget."""


def _run_batch_retrying(job_ids: list[int], *, now: dt.datetime, claimed_at: dt.datetime | None) -> dict[int, str]:
    """_run_batch in its own transaction, tried again after transient database trouble (0.5, 1, 2 ...
    s apart, for IMPORT_TRANSIENT_RETRY_SECONDS); raises _Transient when the trouble outlasts that,
    and whatever else _run_batch raises at once."""
    budget, wait, waited = engine_config().transient_retry_seconds, 0.5, 0.0
    while True:
        try:
            with transaction.atomic():
                return _run_batch(job_ids, now=now, claimed_at=claimed_at)
        except Exception as exc:
            if not is_transient(exc):
                raise
            if waited + wait > budget:
                raise _Transient() from exc
            logger.warning("Batch of %s import job(s) met transient database trouble (%s); trying again in %ss.",
                           len(job_ids), exc, wait)
        sleep(wait)
        waited += wait
        wait *= 2
        # A connection the server dropped is closed, so the next query opens a new one. (Inside an
        # outer transaction, as in tests, closing would end it: the caller owns that connection.)
        if not connection.in_atomic_block and connection.connection is not None and not connection.is_usable():
            connection.close()


def _leave_to_recovery(job_ids: list[int], *, now: dt.datetime, claimed_at: dt.datetime | None) -> dict[int, str]:
    """Transient trouble outlasted the retries: the jobs stay In progress under their claim and lease
    recovery hands them to a later pass, unless they are already later than the deadline, in which
    case they fail with a reason that says so (if the database lets us write it)."""
    deadline = now - dt.timedelta(seconds=engine_config().transient_deadline_seconds)
    try:
        overdue = list(_claimed(job_ids, claimed_at).filter(due_at__lt=deadline).values_list("pk", flat=True))
    except Exception:
        logger.exception("Could not read the import jobs %s after transient trouble; lease recovery will hand them back.", job_ids)
        return {}
    results: dict[int, str] = {}
    for job_id in overdue:
        results.update(_fail_unexpectedly(job_id, now=now, claimed_at=claimed_at, reason=JOB_UNAVAILABLE_TOO_LONG))
    logger.warning("Left %s import job(s) to lease recovery after transient database trouble.", len(job_ids) - len(results))
    return results


def run_jobs(job_ids: list[int], *, now: dt.datetime, claimed_at: dt.datetime | None = None) -> dict[int, str]:
    """Run claimed jobs as one batch; if the batch raises (not transiently), run them one by one so
    that one broken job cannot hold back the others. With `claimed_at`, only the jobs still held by
    that claim run (see _claimed). Transient trouble never fails a job before its deadline."""
    if not job_ids:
        return {}
    try:
        if len(job_ids) > 1:
            try:
                return _run_batch_retrying(job_ids, now=now, claimed_at=claimed_at)
            except _Transient:
                raise
            except Exception:
                logger.exception("Batch of %s import jobs failed; running them one by one.", len(job_ids))
                results: dict[int, str] = {}
                for job_id in job_ids:
                    results.update(run_jobs([job_id], now=now, claimed_at=claimed_at))
                return results
        # A second attempt sees what a concurrent writer committed in between (e.g. a subscription
        # that already holds this row's provisioning key, which it then adopts).
        for attempt in (1, 2):
            try:
                return _run_batch_retrying(job_ids, now=now, claimed_at=claimed_at)
            except _Transient:
                raise
            except Exception:
                logger.exception("Import job %s failed unexpectedly (attempt %s).", job_ids[0], attempt)
        return _fail_unexpectedly(job_ids[0], now=now, claimed_at=claimed_at)
    except _Transient:
        return _leave_to_recovery(job_ids, now=now, claimed_at=claimed_at)


def run_batch_task(job_ids: list[int], claimed_at: dt.datetime) -> dict[str, int]:
    """The django-q2 task (queued as imports.tasks.run_batch_task) that runs one batch the dispatcher
    claimed at `claimed_at`: a late or repeated delivery runs only what that claim still holds."""
    outcomes = Counter(run_jobs(job_ids, now=db_now(), claimed_at=claimed_at).values())
    return {
        "claimed": len(job_ids), "batches": 1, "completed": outcomes[Status.COMPLETED],
        "completed_with_errors": outcomes[Status.COMPLETED_WITH_ERRORS], "failed": outcomes[Status.FAILED],
        "waiting": outcomes[Status.WAITING],
    }
