"""Writes a reseller starts on import jobs: scheduling a provisioning, cancelling a pending job.

Running jobs is the engine's: imports.engine.dispatch (claim, recover), imports.engine.runner (validate, provision,
finish), imports.engine.dispatch (the recurring pass), imports.notify.send (the emails).
"""

import datetime as dt
from dataclasses import dataclass, field, replace

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import company_visible_to
from accounts.text import search_folded
from accounts.services import audit_log_record
from core.stored_messages import rendered, stored
from core.clock import db_now
from orders.changes import states as change_states
from orders.changes.rules import ChangeSpec, change_problems
from orders.fields import format_utc
from orders.models import Order, SubscriptionChange
from orders.services import SubmitResult, order_copy, order_submit
from orders.validation import schedule_time_error

from imports.jobs import states
from imports.models import SEARCH_TEXT_MAX_LENGTH, ImportJob, ImportRetryDraft, ImportRow, Notification, SearchText
from imports.notify.send import emails_send
from imports.webhooks.delivery import webhook_deliveries_record

Status = ImportJob.Status

# Audit entries, stored as a message and its parameters (core.stored_messages): shown in the reader's language.
AUDIT_IMPORT_CANCELLED = _("Import '%(job)s' (due %(due)s UTC) cancelled.")
AUDIT_IMPORT_RESCHEDULED = _("Import '%(job)s' rescheduled from %(old)s to %(new)s (UTC).")
AUDIT_IMPORT_RETRY_OPENED = _("Import '%(job)s' (failed) opened again as a new order, QuoteId %(quote)s.")
JOB_CANCELLED = _("The import %(name)s was cancelled.")
JOB_NOT_CANCELLABLE = _("This import can no longer be cancelled.")
JOB_RESCHEDULED = _("The import %(name)s was rescheduled from %(old)s to %(new)s (UTC).")
# A worker claimed the job between the page and the click: it runs at the old time (or already ran).
RESCHEDULE_TOO_LATE = _("Too late: the import has already started.")
JOB_NOT_RESCHEDULABLE = _("Only a pending import can be rescheduled; this one is %(status)s.")
RESCHEDULE_REQUIRED = _("Enter the new schedule time as YYYY-MM-DD HH:MM (UTC).")
JOB_NOT_RETRYABLE = _("Only a failed scheduled provisioning can be scheduled again; this one is %(status)s.")


def import_job_name_for(order: Order) -> str:
    """The manual's import name: "(NCE) Microsoft 365 Business Basic(Microsoft)"."""
    return f"{order.service.name}({order.service.vendor.name})"


def search_text_for(name: str, products) -> str:
    """SearchText.text: the import name and the distinct (product name, code) of its rows,
    folded (accounts.text.search_folded) so that a search compares plain strings: no UPPER() of every
    job on every search, and "perú" finds "PERU"."""
    # A product name already in the import name ("(NCE) Exchange Online Kiosk(Microsoft)") is not
    # repeated: every character here is read by every search.
    seen = dict.fromkeys(" ".join(part for part in pair if part and part not in name) for pair in products)
    return search_folded(" | ".join(text for text in (name, *seen) if text), limit=SEARCH_TEXT_MAX_LENGTH)


def search_entry_for(name: str, products) -> SearchText:
    """ImportJob.search: the shared row of search_text_for(name, products)."""
    return SearchText.objects.for_text(search_text_for(name, products))


def import_job_create_for_order(
    *, order: Order, due_at: dt.datetime, user: User, retry_of: ImportJob | None = None
) -> ImportJob:
    """One Pending "Scheduled provisioning" job with one Product row for the order.

    ImportRow.order is unique, so an order can never be scheduled twice even if two requests got this far.
    """
    notify = [order.company.email] if order.notify_me and order.company.email else []
    with transaction.atomic():
        job = ImportJob.objects.create(
            name=import_job_name_for(order),
            search=search_entry_for(import_job_name_for(order), [(order.service.name, order.service.code)]),
            account_type=ImportJob.AccountType.PRODUCTS,
            source=ImportJob.Source.SCHEDULED,
            status=ImportJob.Status.PENDING,
            due_at=due_at,
            created_by=user,
            company=order.company,
            notify_emails=notify,
            retry_of=retry_of,
        )
        ImportRow.objects.create(
            job=job, position=1, import_type=ImportRow.ImportType.PRODUCT, parent_company=order.company, order=order
        )
    return job


@transaction.atomic
def provisioning_schedule(*, order_id: int, user: User, due_at: dt.datetime | None) -> SubmitResult:
    """The Order review's "Schedule provisioning": submit the draft and create its Pending job, in one
    transaction (if the job cannot be created, the order stays a draft).

    A draft that was already submitted (double click, replayed POST, second tab) returns the earlier
    submission with created=False and creates nothing. Raises what orders.services.order_submit raises.
    """
    result = order_submit(order_id=order_id, user=user, due_at=due_at)
    if result.created:
        # A draft opened by "Schedule again": the new job is linked to the failed one it retries.
        retry = ImportRetryDraft.objects.filter(order=result.order).select_related("failed_job").first()
        job = import_job_create_for_order(
            order=result.order, due_at=result.order.scheduled_for, user=user, retry_of=retry.failed_job if retry else None
        )
        if retry:
            retry.delete()
        _scheduled_notice_queue(job)
    return result


def _scheduled_notice_queue(job: ImportJob) -> None:
    """"Your provisioning is scheduled", unless its creator turned it off: written with the job (in
    the caller's transaction, so a rolled-back scheduling sends nothing), sent after commit."""
    if not job.created_by.notify_scheduled:
        return
    Notification.for_job(job.pk, now=db_now(), kind=Notification.Kind.IMPORT_SCHEDULED).save()
    job_id = job.pk

    def send_scheduled_notice():
        emails_send(job_ids=[job_id])

    # robust: the scheduling has committed; if sending fails here, the next dispatch pass sends it.
    transaction.on_commit(send_scheduled_notice, robust=True)


@transaction.atomic
def import_cancel(*, job_id: int, user: User) -> bool:
    """Pending → Cancelled. False when a worker (or another click) got there first.

    The move is one conditional UPDATE, so a cancel racing a dispatch claim can never both win.
    """
    job = ImportJob.objects.select_related("company").get(pk=job_id)
    if not company_visible_to(user, job.company_id):
        raise PermissionDenied
    now = db_now()  # the job's finished_at and its webhook's first attempt: the engine's clock
    with transaction.atomic():  # the webhook event is written with the cancel or not at all
        won = states.transition(job.pk, Status.PENDING, Status.CANCELLED, finished_at=now)
        if won:
            # A "Scheduled change" job: its change (orders.changes) is cancelled with it, in the same transaction.
            change_states.transition_queryset(
                SubscriptionChange.objects.filter(import_row__job=job), SubscriptionChange.Status.PENDING,
                SubscriptionChange.Status.CANCELLED,
            )
            audit_log_record(
                company=job.company,
                actor=user,
                action="import.cancelled",
                message=stored(AUDIT_IMPORT_CANCELLED, job=job.stored_label(), due=f"{job.due_at:%Y-%m-%d %H:%M}"),
            )
            job.status, job.finished_at = Status.CANCELLED, now
            webhook_deliveries_record([job], now=now)
    return won


# --- Reschedule a pending job ---------------------------------------------------------------------


class JobNotReschedulable(Exception):
    """The job is not Pending (any more); `message` says why, for the reseller."""

    def __init__(self, message: str, *, too_late: bool = False):
        super().__init__(message)
        self.message = message
        self.too_late = too_late


@dataclass(frozen=True)
class RescheduleResult:
    job: ImportJob
    old_due_at: dt.datetime
    # The due-time checks as they would run today (the wizard's pre-check): warnings, not refusals.
    warnings: list[str]


def _require_visible(user: User, job: ImportJob) -> None:
    if not company_visible_to(user, job.company_id):
        raise PermissionDenied


def not_reschedulable_reason(job: ImportJob) -> JobNotReschedulable:
    """Why a job that is no longer Pending cannot move: a worker has it (or had it), or it was cancelled."""
    if job.status == Status.IN_PROGRESS or job.status in ImportJob.RAN_STATUSES:
        return JobNotReschedulable(str(RESCHEDULE_TOO_LATE), too_late=True)
    return JobNotReschedulable(str(JOB_NOT_RESCHEDULABLE % {"status": job.get_status_display()}))


@transaction.atomic
def import_reschedule(*, job_id: int, user: User, due_at: dt.datetime | None, now: dt.datetime | None = None) -> RescheduleResult:
    """Move a Pending job to `due_at` (UTC), under the wizard's rules for the Schedule provisioning field.

    Raises ValidationError for a missing, past or too distant time (orders.validation.schedule_time_error),
    JobNotReschedulable when the job is not Pending. The write is one conditional UPDATE
    (states.update_while): a worker that claimed the job a moment earlier wins, and this call says
    "too late" and changes nothing. The order keeps the time it will really run at; both are audited.
    """
    now = now or timezone.now()
    job = ImportJob.objects.select_related("company").get(pk=job_id)
    _require_visible(user, job)
    if job.status != Status.PENDING:
        raise not_reschedulable_reason(job)
    if due_at is None:
        raise ValidationError(RESCHEDULE_REQUIRED, code="required")
    if error := schedule_time_error(due_at, now=now):
        raise ValidationError(error, code="out_of_range")
    change = _change_rescheduled(job, due_at, now=now)
    old = job.due_at
    if not states.update_while(job.pk, Status.PENDING, due_at=due_at):
        job.refresh_from_db(fields=["status"])
        raise not_reschedulable_reason(job)
    if change is not None:
        SubscriptionChange.objects.filter(pk=change.pk, status=SubscriptionChange.Status.PENDING).update(due_at=due_at)
    Order.objects.filter(import_row__job=job).update(scheduled_for=due_at, updated_at=now)
    job.due_at = due_at
    audit_log_record(
        company=job.company,
        actor=user,
        action="import.rescheduled",
        message=stored(AUDIT_IMPORT_RESCHEDULED, job=job.stored_label(), old=format_utc(old), new=format_utc(due_at)),
    )
    return RescheduleResult(job=job, old_due_at=old, warnings=job.precheck(day=now.date()))


CHANGE_AT_RENEWAL_NOT_RESCHEDULABLE = _("A change at renewal is sent to the vendor at once; it cannot be rescheduled.")


def _change_rescheduled(job: ImportJob, due_at: dt.datetime, *, now: dt.datetime) -> SubscriptionChange | None:
    """A "Scheduled change" job's change, when its rules (orders.changes.rules) allow it at `due_at`:
    else ValidationError with their reasons, or JobNotReschedulable for a change at renewal."""
    if job.source != ImportJob.Source.CHANGE:
        return None
    change = (
        SubscriptionChange.objects.filter(import_row__job=job)
        .select_related("subscription__company", "subscription__service__vendor", "service").first()
    )
    if change is None:
        return None
    if change.when != SubscriptionChange.When.AT:
        raise JobNotReschedulable(str(CHANGE_AT_RENEWAL_NOT_RESCHEDULABLE))
    problems = change_problems(change.subscription, replace(ChangeSpec.of(change), at=due_at), now=now)
    if problems:
        raise ValidationError([rendered(problem) for problem in problems], code="change_rules")
    return change


# --- Schedule again a failed job ------------------------------------------------------------------


class JobNotRetryable(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@transaction.atomic
def import_retry(*, job_id: int, user: User) -> Order:
    """"Schedule again" on a failed scheduled provisioning: a new draft order with the same service
    and configuration, whose review the reseller opens (fresh pre-check, empty schedule field).
    Scheduling it creates a new job linked to this one (provisioning_schedule); this one stays as it
    is, as history. Clicking again reopens the same draft while it is not scheduled.

    Raises JobNotRetryable when the job is not a failed scheduled provisioning, and what
    orders.services.order_copy raises (ValidationError) when NEW SERVICE is refused for the company.
    """
    job = ImportJob.objects.select_related("company").get(pk=job_id)
    _require_visible(user, job)
    row = ImportRow.objects.filter(job=job, order__isnull=False).select_related("order__company", "order__service").first()
    if not job.is_retryable or row is None:
        raise JobNotRetryable(str(JOB_NOT_RETRYABLE % {"status": job.get_status_display()}))
    open_draft = (
        ImportRetryDraft.objects.filter(failed_job=job, order__status=Order.Status.DRAFT, order__created_by=user)
        .select_related("order")
        .first()
    )
    if open_draft is not None:
        return open_draft.order
    draft = order_copy(order=row.order, user=user)
    ImportRetryDraft.objects.create(order=draft, failed_job=job)
    audit_log_record(
        company=job.company,
        actor=user,
        action="import.retry_opened",
        message=stored(AUDIT_IMPORT_RETRY_OPENED, job=job.stored_label(), quote=str(draft.uuid)),
    )
    return draft


# --- Several jobs at once (My imports' selection bar) ---------------------------------------------

REASON_NOT_PENDING = _("#%(number)s is no longer pending")
REASON_GONE = _("#%(number)s was not found")
REASON_OTHER = _("#%(number)s: %(reason)s")


@dataclass
class SelectionResult:
    """What happened to a selection: how many jobs moved, why each other one did not (one line per
    job, in the reader's language), and the pre-check's warnings of those that moved."""

    done: int = 0
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def imports_cancel_selected(*, job_ids: list[int], user: User) -> SelectionResult:
    """import_cancel for each job, each under its own rules: one that is gone or not the user's to see
    is "not found", one a worker (or a click) got to first is "no longer pending"."""
    result = SelectionResult()
    for pk in job_ids:
        try:
            won = import_cancel(job_id=pk, user=user)
        except (ImportJob.DoesNotExist, PermissionDenied):
            result.reasons.append(str(REASON_GONE % {"number": pk}))
            continue
        if won:
            result.done += 1
        else:
            result.reasons.append(str(REASON_NOT_PENDING % {"number": pk}))
    return result


def imports_reschedule_selected(*, job_ids: list[int], user: User, due_at: dt.datetime, now: dt.datetime) -> SelectionResult:
    """import_reschedule for each job to `due_at`, each under its own rules (see imports_cancel_selected)."""
    result = SelectionResult()
    for pk in job_ids:
        try:
            moved = import_reschedule(job_id=pk, user=user, due_at=due_at, now=now)
        except (ImportJob.DoesNotExist, PermissionDenied):
            result.reasons.append(str(REASON_GONE % {"number": pk}))
        except JobNotReschedulable:
            result.reasons.append(str(REASON_NOT_PENDING % {"number": pk}))
        except ValidationError as exc:
            result.reasons.append(str(REASON_OTHER % {"number": pk, "reason": " ".join(exc.messages)}))
        else:
            result.done += 1
            result.warnings += [f"#{pk} {moved.job.display_name}: {warning}" for warning in moved.warnings]
    return result
