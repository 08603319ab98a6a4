"""Writes on import jobs: creating, cancelling, claiming, running and recovering them.

Status moves go through imports.states (one conditional UPDATE each). The run of a job is
idempotent by construction:
- a job is run only by the pass that claimed it (Pending → In progress is exclusive);
- a row provisions through `Subscription.provisioning_key = "import-row:<id>"`, which is UNIQUE,
  so a repeated run can never create a second subscription; a run that finds the key already
  taken adopts that subscription instead of creating one;
- everything a run writes (subscriptions, rows, the jobs' final status, audit log) commits in
  one transaction per batch of claimed jobs, so a worker killed half-way leaves its jobs In
  progress with nothing written; lease recovery puts them back to Pending and a later pass
  runs them again.

A dispatch pass claims due jobs in batches (DISPATCH_BATCH_SIZE) and reads what the batch
needs once (companies, services, price lists and items, terms acceptances, subscriptions):
the due-time checks of orders.validation.validate_order run through imports.validation.
BatchValidator, which gives the very same reasons from that data (tests prove it check by
check), so the cost per job stays flat however many jobs are due.
"""

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import CharField, Min, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditLogEntry, Company, User
from accounts.selectors import companies_visible_to
from accounts.services import account_ids_allocate, audit_log_record
from catalog.billing import billing_type_label
from catalog.integrations import get_integration
from catalog.models import Service
from orders.models import Order, Subscription
from orders.validation import NO_PRICE_ON_DAY

from . import states
from .claiming import claim_ids
from .models import PROVISIONING_KEY_PREFIX, ImportJob, ImportRow
from .notifications import import_notifications_send, imports_notify_unsent
from .validation import BatchData, BatchValidator

logger = logging.getLogger(__name__)
UTC = dt.timezone.utc
Status = ImportJob.Status

JOB_CANCELLED = _("The import %(name)s was cancelled.")
JOB_NOT_CANCELLABLE = _("This import can no longer be cancelled.")
ROW_NOTHING_TO_PROVISION = _("This import row has no order to provision.")
ROW_NOT_CONFIGURED = _("The order of this import row has no quantity or billing type configured.")
JOB_UNEXPECTED_ERROR = _(
    "The import could not be processed because of an unexpected error. Please contact support."
)

# Jobs claimed and run together: one transaction, and one query per batch for the companies,
# price lists, price items, existing subscriptions and account ids of all of them. Small enough
# that a batch holds SQLite's write lock for about a second.
DISPATCH_BATCH_SIZE = 250
# How often a watching dispatch task looks for jobs that have just become due.
DISPATCH_POLL_SECONDS = 1.0


# --- creation ---------------------------------------------------------------------------------


def import_job_name_for(order: Order) -> str:
    """The manual's import name: "(NCE) Microsoft 365 Business Basic(Microsoft)"."""
    return f"{order.service.name}({order.service.vendor.name})"


@transaction.atomic
def import_job_create_for_order(*, order: Order, due_at: dt.datetime, user: User) -> ImportJob:
    """One Pending "Scheduled provisioning" job with one Product row for the order.

    Called inside order_schedule's transaction; ImportRow.order is unique, so an order can
    never be scheduled twice even if two requests got this far.
    """
    notify = [order.company.email] if order.notify_me and order.company.email else []
    job = ImportJob.objects.create(
        name=import_job_name_for(order),
        account_type=ImportJob.AccountType.PRODUCTS,
        source=ImportJob.Source.SCHEDULED,
        status=ImportJob.Status.PENDING,
        due_at=due_at,
        created_by=user,
        company=order.company,
        notify_emails=notify,
    )
    ImportRow.objects.create(
        job=job, position=1, import_type=ImportRow.ImportType.PRODUCT, parent_company=order.company, order=order
    )
    return job


# --- cancel -----------------------------------------------------------------------------------


@transaction.atomic
def import_cancel(*, job_id: int, user: User) -> bool:
    """Pending → Cancelled. False when a worker (or another click) got there first.

    The move is one conditional UPDATE, so a cancel racing a dispatch claim can never both win.
    """
    job = ImportJob.objects.select_related("company").get(pk=job_id)
    if not companies_visible_to(user).filter(pk=job.company_id).exists():
        raise PermissionDenied
    won = states.transition(job.pk, Status.PENDING, Status.CANCELLED, finished_at=timezone.now())
    if won:
        audit_log_record(
            company=job.company,
            actor=user,
            action="import.cancelled",
            message=f"Import '{job}' (due {job.due_at:%Y-%m-%d %H:%M} UTC) cancelled.",
        )
    return won


# --- claim and recovery -----------------------------------------------------------------------


def imports_claim_due(*, now: dt.datetime, limit: int) -> list[int]:
    """Pending jobs due at `now` (oldest first, at most `limit`) → In progress with a lease."""
    lease = {"claimed_at": now, "lease_expires_at": now + dt.timedelta(seconds=settings.IMPORT_LEASE_SECONDS)}
    with transaction.atomic():
        due = ImportJob.objects.filter(status=Status.PENDING, due_at__lte=now).order_by("due_at", "id")
        return claim_ids(
            due,
            limit=limit,
            move=lambda ids: states.transition_many(ids, Status.PENDING, Status.IN_PROGRESS, **lease),
            move_one=lambda pk: states.transition(pk, Status.PENDING, Status.IN_PROGRESS, **lease),
        )


def imports_recover_expired(*, now: dt.datetime) -> int:
    """In progress past the lease → Pending, so a later pass runs them again.

    The lease (IMPORT_LEASE_SECONDS) is longer than the task timeout (Q_TIMEOUT), after which
    django-q2 has killed the worker, so a job recovered here has no live worker left.
    """
    recovered = states.transition_queryset(
        ImportJob.objects.filter(lease_expires_at__lt=now),
        Status.IN_PROGRESS,
        Status.PENDING,
        claimed_at=None,
        lease_expires_at=None,
    )
    if recovered:
        logger.warning("Recovered %s import job(s) whose worker lease expired.", recovered)
    return recovered


# --- run --------------------------------------------------------------------------------------


class LostClaim(RuntimeError):
    """A job of the batch was no longer In progress when the run tried to finish it."""


@dataclass
class _Batch:
    """What a batch reads once instead of once per job."""

    data: BatchData
    validator: BatchValidator
    provisioned: dict[str, Subscription]  # by provisioning key: rows an earlier run provisioned
    account_ids: list[int]
    # Subscriptions are written with one bulk INSERT at the end of the batch (the checks of
    # later orders see them through BatchData.hold), unless a check reads the database itself.
    deferred: list[Subscription] | None


def _creation_day(now: dt.datetime) -> dt.date:
    return now.astimezone(UTC).date()


def _load_batch(rows: list[ImportRow], *, now: dt.datetime) -> _Batch:
    pending = [row for row in rows if row.status == ImportRow.Status.PENDING]
    data = BatchData.load([row.order for row in rows if row.order_id], day=_creation_day(now))
    provisioned = {
        sub.provisioning_key: sub
        for sub in Subscription.objects.filter(provisioning_key__in=[row.provisioning_key for row in pending])
    }
    # One INSERT reserves the account ids of the whole batch. Rows that then fail leave gaps in
    # the sequence, which is harmless: account ids must be unique, not dense.
    account_ids = account_ids_allocate(count=sum(1 for row in pending if row.order_id))
    account_ids.reverse()  # pop() hands them out in increasing order
    validator = BatchValidator(data)
    return _Batch(data, validator, provisioned, account_ids, None if validator.reads_database else [])


def _provision(row: ImportRow, batch: _Batch) -> Subscription | str:
    """Create the row's subscription, priced on the creation day; the reason when it cannot."""
    order = row.order
    item = batch.data.price_item(order)
    if item is None:  # validation has just found one; unreachable unless the data is inconsistent
        return str(
            NO_PRICE_ON_DAY
            % {
                "service": order.service.name,
                "billing_type": billing_type_label(order.billing_frequency, order.term),
                "day": batch.data.day,
            }
        )
    integration = get_integration(order.service.vendor.integration)
    attributes = integration.subscription_attributes(batch.data.integration_context(order))
    subscription = Subscription(
        company=order.company,
        service=order.service,
        order=order,
        name=integration.subscription_display_name(order.subscription_name or order.service.name, attributes),
        account_id=batch.account_ids.pop(),
        quantity=order.quantity,
        term=order.term,
        billing_frequency=order.billing_frequency,
        unit_cost=item.cost,
        unit_price=item.selling_price,
        currency=item.currency,
        attributes=attributes,
        provisioning_key=row.provisioning_key,
    )
    # The foreign keys are the validated order's own rows, and uniqueness (account id,
    # provisioning key) is enforced by the INSERT itself: checking them first would add three
    # queries per subscription and still race.
    subscription.full_clean(exclude=["company", "service", "order"], validate_unique=False, validate_constraints=False)
    if batch.deferred is None:
        subscription.save(force_insert=True)
    else:
        batch.deferred.append(subscription)
    batch.data.hold(subscription)  # later orders of the batch for this company see it
    return subscription


def _process_row(row: ImportRow, batch: _Batch, *, now: dt.datetime) -> None:
    """Validate, then provision: the row ends Completed (with its account id) or Failed (with why)."""
    row.processed_at = now
    existing = batch.provisioned.get(row.provisioning_key)
    if existing is not None:
        # Provisioned by an earlier run of this row: adopt it, never create a second one.
        row.status, row.subscription, row.result_account_id, row.error = (
            ImportRow.Status.COMPLETED, existing, existing.account_id, ""
        )
        return
    order = row.order
    if order is None:
        row.status, row.error = ImportRow.Status.FAILED, str(ROW_NOTHING_TO_PROVISION)
        return
    if not order.quantity or not order.term or not order.billing_frequency:
        row.status, row.error = ImportRow.Status.FAILED, str(ROW_NOT_CONFIGURED)
        return
    # Every due-time check of validate_order runs before anything is created, on the creation day.
    reasons = batch.validator.validate(order)
    if reasons:
        row.status, row.error = ImportRow.Status.FAILED, "\n".join(reasons)
        return
    outcome = _provision(row, batch)
    if isinstance(outcome, str):
        row.status, row.error = ImportRow.Status.FAILED, outcome
        return
    row.status, row.subscription, row.result_account_id, row.error = (
        ImportRow.Status.COMPLETED, outcome, outcome.account_id, ""
    )


def _final_status(rows: list[ImportRow]) -> tuple[str, int, int]:
    completed = sum(1 for row in rows if row.status == ImportRow.Status.COMPLETED)
    failed = sum(1 for row in rows if row.status == ImportRow.Status.FAILED)
    # Failed as soon as one row failed, even when others were provisioned: the reseller must
    # look at it (the email and My imports show the reasons), and "Completed" would hide that.
    # Imported accounts (No.) still says how many subscriptions were created.
    return (Status.FAILED if failed else Status.COMPLETED), completed, failed


def _audit_entry(job: ImportJob, rows: list[ImportRow], status: str) -> AuditLogEntry:
    if status == Status.COMPLETED:
        created = ", ".join(f"{row.subscription.name} ({row.result_account_id})" for row in rows if row.subscription)
        action, message = "import.completed", f"Import '{job}' completed: {created or 'nothing to create'}."
    else:
        reasons = "; ".join(row.error.replace("\n", "; ") for row in rows if row.status == ImportRow.Status.FAILED)
        action, message = "import.failed", f"Import '{job}' failed: {reasons}"
    return AuditLogEntry(company=job.company, actor=job.created_by, action=action, message=message)


def _save_rows(rows: list[ImportRow], *, now: dt.datetime) -> None:
    """Write the rows' results with a few UPDATEs per batch instead of one per row.

    Completed rows take their subscription and account id from the subscription holding their
    provisioning key (a unique index) in one UPDATE; failed rows are grouped by reason.
    """
    completed = [row.pk for row in rows if row.status == ImportRow.Status.COMPLETED]
    if completed:
        by_key = Subscription.objects.filter(
            provisioning_key=Concat(Value(PROVISIONING_KEY_PREFIX), Cast(OuterRef("pk"), CharField()))
        )
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
    companies_qs = Company.objects.filter(pk__in={job.company_id for job in jobs} | {o.company_id for o in orders})
    if connection.features.has_select_for_update:
        # One batch at a time per company across workers: the once-per-account and dependency
        # checks read the company's subscriptions, and two workers validating two orders of the
        # same company at once could otherwise both pass. Locked in id order, so two batches
        # never deadlock. (SQLite has a single writer: nothing to do.)
        companies_qs = companies_qs.order_by("pk").select_for_update()
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


def _run_batch(job_ids: list[int], *, now: dt.datetime) -> dict[int, str]:
    """Run claimed jobs inside the caller's transaction; returns job id → final status."""
    jobs_qs = ImportJob.objects.filter(pk__in=job_ids, status=Status.IN_PROGRESS)
    if connection.features.has_select_for_update:
        # Holding the job rows keeps lease recovery (a conditional UPDATE) waiting until we commit.
        jobs_qs = jobs_qs.select_for_update()
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

    changed: list[ImportRow] = []
    finished: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    audit: list[AuditLogEntry] = []
    results: dict[int, str] = {}
    for job in jobs:  # oldest due first, so e.g. a tenant scheduled earlier serves a later order
        job_rows = rows_of_job[job.pk]
        for row in job_rows:
            if row.status == ImportRow.Status.PENDING:  # rows finished by an earlier run stay as they are
                _process_row(row, batch, now=now)
                changed.append(row)
        status, completed, failed = _final_status(job_rows)
        finished[(status, completed, failed)].append(job.pk)
        audit.append(_audit_entry(job, job_rows, status))
        results[job.pk] = status
        # The same values the UPDATE below writes, so the email can be built from memory.
        job.status, job.imported_count, job.error_count, job.finished_at = status, completed, failed, now

    if batch.deferred:
        Subscription.objects.bulk_create(batch.deferred)
    _save_rows(changed, now=now)
    for (status, completed, failed), ids in finished.items():
        moved = states.transition_many(
            ids, Status.IN_PROGRESS, status,
            imported_count=completed, error_count=failed, finished_at=now, lease_expires_at=None,
        )
        if moved != len(ids):
            raise LostClaim(f"{len(ids) - moved} import job(s) were no longer in progress; rolling back.")
    AuditLogEntry.objects.bulk_create(audit)
    loaded = {job.pk: (job, rows_of_job[job.pk]) for job in jobs}
    transaction.on_commit(partial(import_notifications_send, job_ids=list(results), loaded=loaded))
    return results


def _fail_unexpectedly(job_id: int, *, now: dt.datetime) -> dict[int, str]:
    """A job whose run keeps raising: fail it with a generic reason rather than retrying forever."""
    try:
        with transaction.atomic():
            job = ImportJob.objects.select_related("company", "created_by").filter(pk=job_id).first()
            if job is None:
                return {}
            rows = list(job.rows.all())
            pending = [row for row in rows if row.status == ImportRow.Status.PENDING]
            for row in pending:
                row.status, row.error, row.processed_at = ImportRow.Status.FAILED, str(JOB_UNEXPECTED_ERROR), now
            ImportRow.objects.bulk_update(pending, ["status", "error", "processed_at"])
            status, completed, failed = _final_status(rows)
            status = Status.FAILED
            if not states.transition(
                job_id, Status.IN_PROGRESS, status,
                imported_count=completed, error_count=max(failed, 1), finished_at=now, lease_expires_at=None,
            ):
                return {}
            audit_log_record(
                company=job.company, actor=job.created_by, action="import.failed",
                message=f"Import '{job}' failed: {JOB_UNEXPECTED_ERROR}",
            )
            transaction.on_commit(partial(import_notifications_send, job_ids=[job_id]))
            return {job_id: status}
    except Exception:
        # Left In progress: lease recovery hands it to a later pass.
        logger.exception("Could not mark import job %s as failed.", job_id)
        return {}


def _run_jobs(job_ids: list[int], *, now: dt.datetime) -> dict[int, str]:
    """Run claimed jobs as one batch; if the batch raises, run them one by one so that one
    broken job cannot hold back the others."""
    if not job_ids:
        return {}
    if len(job_ids) > 1:
        try:
            with transaction.atomic():
                return _run_batch(job_ids, now=now)
        except Exception:
            logger.exception("Batch of %s import jobs failed; running them one by one.", len(job_ids))
            results: dict[int, str] = {}
            for job_id in job_ids:
                results.update(_run_jobs([job_id], now=now))
            return results
    # A second attempt sees what a concurrent writer committed in between (e.g. a subscription
    # that already holds this row's provisioning key, which it then adopts).
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _run_batch(job_ids, now=now)
        except Exception:
            logger.exception("Import job %s failed unexpectedly (attempt %s).", job_ids[0], attempt)
    return _fail_unexpectedly(job_ids[0], now=now)


def import_run(*, job_id: int, now: dt.datetime) -> str | None:
    """Run one claimed (In progress) job at `now`: validate each row, provision, finish, email.

    Returns the job's final status, or None when the job is not In progress (not claimed, or
    already finished by another run), in which case nothing is written.
    """
    return _run_jobs([job_id], now=now).get(job_id)


# --- dispatch ---------------------------------------------------------------------------------


@dataclass
class DispatchSummary:
    recovered: int = 0
    claimed: int = 0
    completed: int = 0
    failed: int = 0
    notified: int = 0

    def add(self, results: dict[int, str]) -> None:
        counts = Counter(results.values())
        self.completed += counts[Status.COMPLETED]
        self.failed += counts[Status.FAILED]

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"Claimed {self.claimed}, completed {self.completed}, failed {self.failed}, "
            f"recovered {self.recovered}"
        )


def dispatch_budget_seconds() -> float:
    """Stop claiming new batches after this long: a batch claimed then still ends well before
    django-q2 kills the task at Q_TIMEOUT (which would leave its jobs to lease recovery)."""
    return max(settings.Q_TIMEOUT * 0.8, 1.0)


def dispatch_watch_seconds() -> float:
    """How long the every-minute task keeps watching for jobs that become due.

    django-q2's scheduler looks for due schedules only every ~30 s, so the every-minute task
    starts anywhere up to 30 s after its minute. Instead of leaving a job that becomes due
    just after a pass waiting for the next one (up to ~90 s), the task stays for just under a
    minute and runs each job as it becomes due (checking every DISPATCH_POLL_SECONDS, which
    also catches "as soon as possible" jobs scheduled meanwhile). The next task then takes
    over, so a job runs within about a second of its due time, and at worst ~30 s after it
    when the scheduler is late. Bounded by the budget, so it still returns before Q_TIMEOUT.
    IMPORT_DISPATCH_WATCH_SECONDS changes it; 0 turns the watch off.
    """
    return min(settings.IMPORT_DISPATCH_WATCH_SECONDS, dispatch_budget_seconds() / 2)


def _next_pending_due() -> dt.datetime | None:
    return ImportJob.objects.filter(status=Status.PENDING).aggregate(next_due=Min("due_at"))["next_due"]


def dispatch_due_imports(
    *,
    now: dt.datetime | None = None,
    watch_seconds: float = 0.0,
    batch_size: int = DISPATCH_BATCH_SIZE,
    budget_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> DispatchSummary:
    """One dispatch pass: recover expired leases, re-send missed emails, then claim and run due
    jobs batch after batch until none is due (or the time budget is spent).

    `now` fixes the clock for the whole pass (tests, operators); without it the real time is
    read before every batch. With `watch_seconds` (the scheduled task) the pass then keeps
    running jobs as they become due for that long; see dispatch_watch_seconds.
    """
    clock = (lambda: now) if now is not None else timezone.now
    budget = dispatch_budget_seconds() if budget_seconds is None else budget_seconds
    watch_until = min(watch_seconds, budget) if now is None else 0.0
    started = monotonic()
    summary = DispatchSummary()
    summary.recovered = imports_recover_expired(now=clock())
    summary.notified = imports_notify_unsent(now=clock())
    while True:
        while monotonic() - started < budget:
            job_ids = imports_claim_due(now=clock(), limit=batch_size)
            if not job_ids:
                break
            summary.claimed += len(job_ids)
            summary.add(_run_jobs(job_ids, now=clock()))
        # Watching: wait for the next job to become due with plain reads (a claim opens a
        # write transaction, which on SQLite would take the write lock every poll for nothing).
        while True:
            remaining = watch_until - (monotonic() - started)
            if remaining <= 0:
                return summary
            next_due = _next_pending_due()
            current = timezone.now()
            if next_due is not None and next_due <= current:
                break
            wait = DISPATCH_POLL_SECONDS
            if next_due is not None:
                wait = min(wait, (next_due - current).total_seconds())
            sleep(max(min(wait, remaining), 0.01))
