"""Writes a reseller starts on import jobs: scheduling a provisioning, cancelling a pending job.

Running jobs is the engine's: imports.leases (claim, recover), imports.runner (validate, provision,
finish), imports.dispatch (the recurring pass), imports.notifications (the email).
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import companies_visible_to
from accounts.services import audit_log_record
from orders.models import Order
from orders.services import SubmitResult, order_submit

from . import states
from .models import ImportJob, ImportRow

Status = ImportJob.Status

JOB_CANCELLED = _("The import %(name)s was cancelled.")
JOB_NOT_CANCELLABLE = _("This import can no longer be cancelled.")


def import_job_name_for(order: Order) -> str:
    """The manual's import name: "(NCE) Microsoft 365 Business Basic(Microsoft)"."""
    return f"{order.service.name}({order.service.vendor.name})"


def import_job_create_for_order(*, order: Order, due_at: dt.datetime, user: User) -> ImportJob:
    """One Pending "Scheduled provisioning" job with one Product row for the order.

    ImportRow.order is unique, so an order can never be scheduled twice even if two requests got this far.
    """
    notify = [order.company.email] if order.notify_me and order.company.email else []
    with transaction.atomic():
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


@transaction.atomic
def provisioning_schedule(*, order_id: int, user: User, due_at: dt.datetime | None) -> SubmitResult:
    """The Order review's "Schedule provisioning": submit the draft and create its Pending job, in one
    transaction (if the job cannot be created, the order stays a draft).

    A draft that was already submitted (double click, replayed POST, second tab) returns the earlier
    submission with created=False and creates nothing. Raises what orders.services.order_submit raises.
    """
    result = order_submit(order_id=order_id, user=user, due_at=due_at)
    if result.created:
        import_job_create_for_order(order=result.order, due_at=result.order.scheduled_for, user=user)
    return result


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
