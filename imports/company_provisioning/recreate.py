"""RECREATE PROVISIONING (the company page's action bar, as the manual's button): re-send a company's
vendor provisioning that is waiting or that failed at the vendor.

- Waiting: its vendor orders still open (VendorOrder status Pending, no outcome: transient trouble,
  backing off) become due now, by the vendor outbox's own "Retry now" (imports.vendor.outbox.VENDOR_ORDERS,
  core.outbox.Outbox.retry_now), and after commit a sender is enqueued on the outbox lane
  (imports.engine.outbox_lane.outbox_senders_enqueue: a sender for every kind with something due).
  The orders keep their MS-RequestIds and cart, so the vendor never places a second order for them.
- Failed: its scheduled provisionings that ended Failed because the vendor refused them or stayed
  unavailable until the deadline (VendorOrder outcome refused / expired), and that nobody scheduled
  again yet, are scheduled again as soon as possible through My imports' own "Schedule again"
  (imports.jobs.services.import_retry, then provisioning_schedule with no time): new jobs linked to
  the failed ones (ImportJob.retry_of), with the checks of any new order. A job "Schedule again"
  refuses (a bulk import, whose file is imported again; NEW SERVICE refused for the company) is named
  with the reason and the others still go.

One audit entry says what was re-sent. Nothing to re-send is a result like any other (the page says so).
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, User
from accounts.services import audit_log_record
from core.clock import db_now
from core.stored_messages import rendered, stored

from orders.wizard import WizardStepError

from imports.engine.outbox_lane import outbox_senders_enqueue
from imports.jobs.services import JobNotRetryable, import_retry, provisioning_schedule
from imports.models import ImportJob, VendorOrder
from imports.vendor.outbox import VENDOR_ORDERS

AUDIT_PROVISIONING_RECREATED = _(
    "Provisioning recreated: %(resent)s vendor order(s) waiting for the vendor sent again now, "
    "%(rescheduled)s failed import(s) scheduled again (%(jobs)s)."
)
JOB_NOT_RECREATED = _("#%(number)s %(name)s was not scheduled again: %(reason)s")
BULK_NOT_RECREATED = _("a bulk import is scheduled again by importing its file again")

# What failed at the vendor (not at our own due-time checks, which the reseller fixes first).
VENDOR_FAILURES = (VendorOrder.Outcome.REFUSED, VendorOrder.Outcome.EXPIRED)
FAILED_STATUSES = (ImportJob.Status.FAILED, ImportJob.Status.COMPLETED_WITH_ERRORS)


@dataclass
class RecreateResult:
    resent: int = 0
    # The new jobs, each linked to the failed one it schedules again.
    rescheduled: list[ImportJob] = field(default_factory=list)
    # One line per failed job that could not be scheduled again, in the reader's language.
    refusals: list[str] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not (self.resent or self.rescheduled or self.refusals)


def waiting_vendor_orders(company: Company) -> QuerySet[VendorOrder]:
    """The company's vendor orders still open: sent or backing off, the job Waiting for vendor."""
    return VendorOrder.objects.filter(company=company, status=VendorOrder.Status.PENDING, outcome=VendorOrder.Outcome.OPEN)


def failed_vendor_jobs(company: Company) -> QuerySet[ImportJob]:
    """The company's jobs that failed at the vendor and were not scheduled again yet, oldest first."""
    return (
        ImportJob.objects.filter(company=company, status__in=FAILED_STATUSES, vendor_orders__outcome__in=VENDOR_FAILURES)
        .filter(retries__isnull=True)
        .distinct()
        .order_by("id")
    )


def provisioning_recreate(*, actor: User, company: Company) -> RecreateResult:
    """RECREATE PROVISIONING for `company` (which the caller checked `actor` may see)."""
    result = RecreateResult()
    with transaction.atomic():
        waiting = list(waiting_vendor_orders(company).values_list("pk", flat=True))
        if waiting:
            result.resent = VENDOR_ORDERS.retry_now(waiting, now=db_now())
        for job in failed_vendor_jobs(company):
            refusal = _schedule_again(actor, job, result)
            if refusal:
                result.refusals.append(str(JOB_NOT_RECREATED % {"number": job.pk, "name": job.display_name, "reason": refusal}))
        if result.resent or result.rescheduled:
            audit_log_record(
                company=company,
                actor=actor,
                action="company.provisioning_recreated",
                message=stored(
                    AUDIT_PROVISIONING_RECREATED,
                    resent=result.resent,
                    rescheduled=len(result.rescheduled),
                    jobs=", ".join(f"#{job.retry_of_id} → #{job.pk}" for job in result.rescheduled) or "-",
                ),
            )
        if result.resent:
            # robust: the re-send has committed; if enqueueing fails, the engine's recurring pass enqueues it.
            transaction.on_commit(outbox_senders_enqueue, robust=True)
    return result


def _schedule_again(actor: User, job: ImportJob, result: RecreateResult) -> str:
    """My imports' "Schedule again" for `job`, scheduled at once; the reason when it is refused."""
    if not job.is_retryable:
        return str(BULK_NOT_RECREATED)
    try:
        # A savepoint each: a refused one undoes its own draft only.
        with transaction.atomic():
            draft = import_retry(job_id=job.pk, user=actor)
            submitted = provisioning_schedule(order_id=draft.pk, user=actor, due_at=None)
    except JobNotRetryable as exc:
        return exc.message
    except WizardStepError as exc:
        # The copied order no longer passes a wizard step (e.g. its price is gone): the reseller fixes it
        # through My imports' "Schedule again", which opens that step.
        return " ".join(rendered(message) for message in exc.messages)
    except (ValidationError, PermissionDenied) as exc:
        return " ".join(rendered(message) for message in (getattr(exc, "messages", None) or [str(exc)]))
    new_job = ImportJob.objects.filter(rows__order=submitted.order).first()
    if new_job is not None:
        result.rescheduled.append(new_job)
    return ""
