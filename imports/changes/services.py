"""Writes a reseller starts on scheduled changes: schedule one, cancel one, reschedule one.

Every change travels as an import job (Source "Scheduled change") with one row of import_type "change"
pointing at its orders.models.SubscriptionChange; the job is due when the change's one vendor call
happens (orders.changes.rules.job_due_at): the chosen time for "at" changes, at once for "renewal" ones.
The change, its job and row (and its "scheduled" email) are written in one transaction.

Races are settled by conditional UPDATEs:
- two tabs scheduling the same kind: the subscription's row is locked (PostgreSQL; SQLite has one
  writer), and the database holds one open change per kind: the second gets the "replace?" answer;
- a cancel racing the due time: the job's Pending → Cancelled (imports.jobs.services.import_cancel, which
  moves the change with it) and the worker's claim cannot both win; the loser says "too late";
- a cancel of a change the vendor holds for the renewal (Sent): Sent → Cancelled, and a new job due now
  whose one call re-sends what remains of the next-term instructions.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import company_visible_to
from accounts.services import audit_log_record
from catalog.selectors import price_list_for
from catalog.services import terms_accept
from core.clock import db_now
from core.stored_messages import rendered, stored
from orders.changes import states as change_states
from orders.changes.describe import change_text
from orders.changes.rules import (
    ChangeSpec,
    before_values,
    change_problems,
    due_at_for,
    job_due_at,
    notices,
    open_change,
    terms_pending,
)
from orders.models import Subscription, SubscriptionChange

from imports.jobs import states as job_states
from imports.jobs.services import (
    JobNotReschedulable,
    RescheduleResult,
    _scheduled_notice_queue,
    import_cancel,
    import_reschedule,
    search_entry_for,
)
from imports.models import ImportJob, ImportRow
from imports.webhooks.delivery import webhook_deliveries_record

ChangeStatus = SubscriptionChange.Status

AUDIT_CHANGE_SCHEDULED = _("Change scheduled on %(subscription)s: %(change)s.")
AUDIT_CHANGE_REPLACED = _("Change on %(subscription)s replaced: %(old)s, by: %(new)s.")
AUDIT_CHANGE_CANCELLED = _("Change on %(subscription)s cancelled: %(change)s.")
CHANGE_NOT_CANCELLABLE = _("This change can no longer be cancelled: it is %(status)s.")
CHANGE_TOO_LATE = _("Too late: the change has already started.")
CHANGE_NOT_RESCHEDULABLE = _("Only a pending change at a chosen time can be rescheduled; this one is %(status)s, %(when)s.")
# The row of the job that tells the vendor a change it held for the renewal was cancelled.
RESEND_NAME = _("%(subscription)s: next-term instructions sent again")


class ChangeRefused(Exception):
    """The rules refuse the change: `reasons` (stored text), shown in the reader's language."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons

    @property
    def messages(self) -> list[str]:
        return [rendered(reason) for reason in self.reasons]


class ChangeConflict(Exception):
    """A change of the same kind is open (pending or sent): the caller shows both and asks whether the
    new one replaces it (schedule again with replace=True)."""

    def __init__(self, existing: SubscriptionChange):
        super().__init__(f"change {existing.pk} of the same kind is open")
        self.existing = existing


class ChangeNotCancellable(Exception):
    def __init__(self, message: str, *, too_late: bool = False):
        super().__init__(message)
        self.message = message
        self.too_late = too_late


@dataclass
class Scheduled:
    change: SubscriptionChange
    job: ImportJob
    replaced: SubscriptionChange | None = None
    # What the reseller should know (rendered): e.g. the pro-rated credit of a cancellation now.
    notices: list[str] = field(default_factory=list)


def _subscription_locked(subscription_id: int) -> Subscription:
    """The subscription, its row locked for the transaction (two tabs scheduling take turns)."""
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("company", "service__vendor", "order")
        .get(pk=subscription_id)
    )


def change_job_create(
    *, change: SubscriptionChange | None, subscription: Subscription, user: User, due_at: dt.datetime, name: str,
    account_type: str = ImportJob.AccountType.PRODUCTS, payload: dict | None = None,
) -> ImportJob:
    """The Pending "Scheduled change" job of `change` (one row of type "change"), in the caller's transaction."""
    job = ImportJob.objects.create(
        name=name[:255],
        search=search_entry_for(name, [(subscription.service.name, subscription.service.code)]),
        account_type=account_type,
        source=ImportJob.Source.CHANGE,
        status=ImportJob.Status.PENDING,
        due_at=due_at,
        created_by=user,
        company=subscription.company,
    )
    ImportRow.objects.create(
        job=job, position=1, import_type=ImportRow.ImportType.CHANGE, parent_company=subscription.company,
        change=change, payload=payload or {},
    )
    return job


def change_name(subscription: Subscription, change: SubscriptionChange) -> str:
    """The job's Import name on My imports: the subscription and the change's sentence (orders.changes.describe)."""
    return f"{subscription.name}: {change_text(change)}"


def _terms_accept(subscription: Subscription, spec: ChangeSpec, *, user: User, now: dt.datetime) -> None:
    """The terms of what the change leaves charged for, accepted for the company's whole price list (audited by
    catalog), as the order wizard's Accept does."""
    service = terms_pending(subscription, spec, now=now)
    price_list = price_list_for(subscription.company) if service is not None else None
    if price_list is not None:
        terms_accept(price_list=price_list, service=service, user=user, company=subscription.company)


def _replace_open(existing: SubscriptionChange, *, user: User, now: dt.datetime) -> bool:
    """Take an open change out of the way of its replacement: a pending one's job cancelled (not if a
    worker has it), a sent one marked Replaced (the new change, or the resend job, tells the vendor)."""
    if existing.status == ChangeStatus.PENDING:
        job = change_job(existing)
        if job is not None:
            if not job_states.transition(job.pk, ImportJob.Status.PENDING, ImportJob.Status.CANCELLED, finished_at=now):
                return False
            # Its job ends as a cancelled one does (My imports' X): the webhook event, with the cancel.
            job.status, job.finished_at = ImportJob.Status.CANCELLED, now
            webhook_deliveries_record([job], now=now)
        return change_states.transition(existing.pk, ChangeStatus.PENDING, ChangeStatus.REPLACED)
    return change_states.transition(existing.pk, ChangeStatus.SENT, ChangeStatus.REPLACED)


def change_schedule(
    *, subscription_id: int, user: User, spec: ChangeSpec, replace_open: bool = False, now: dt.datetime | None = None,
    account_type: str = ImportJob.AccountType.PRODUCTS, accept_terms: bool = False,
) -> Scheduled:
    """Schedule `spec` on the subscription: the change, its Pending job and row, and the "scheduled"
    email, in one transaction. With `accept_terms` the terms still to accept for it (rules.terms_pending:
    the service it leaves charged for) are accepted at the company's price list first, in that transaction
    (a refusal writes neither).

    Raises PermissionDenied (a subscription the user may not see), ChangeRefused (the rules' reasons),
    ChangeConflict (a change of the kind is open and `replace_open` is False). With `replace_open`, the
    open one is Replaced (its pending job cancelled) and the new one created, in the same transaction;
    too late to replace (its job already started) is a ChangeRefused."""
    now = now or db_now()
    with transaction.atomic():
        subscription = _subscription_locked(subscription_id)
        if not company_visible_to(user, subscription.company_id):
            raise PermissionDenied
        if accept_terms:
            _terms_accept(subscription, spec, user=user, now=now)
        problems = change_problems(subscription, spec, now=now)
        if problems:
            raise ChangeRefused(problems)
        existing = open_change(subscription, spec.kind)
        if existing is not None:
            if not replace_open:
                raise ChangeConflict(existing)
            if not _replace_open(existing, user=user, now=now):
                raise ChangeRefused([stored(CHANGE_TOO_LATE)])
        due_at = due_at_for(subscription, spec, now=now)
        change = SubscriptionChange(
            subscription=subscription, kind=spec.kind, when=spec.when, due_at=due_at,
            before=before_values(subscription), created_by=user, **spec.values(),
        )
        try:
            with transaction.atomic():
                change.save(force_insert=True)
        except IntegrityError:
            # Another request opened one of this kind between our read and our write (SQLite reads
            # without the row lock): the same answer as if we had seen it.
            other = open_change(subscription, spec.kind)
            if other is None:
                raise
            raise ChangeConflict(other) from None
        job = change_job_create(
            change=change, subscription=subscription, user=user, due_at=job_due_at(spec, due_at, now=now),
            name=change_name(subscription, change), account_type=account_type,
        )
        if existing is not None:
            SubscriptionChange.objects.filter(pk=existing.pk).update(replaced_by=change)
            audit_log_record(
                company=subscription.company, actor=user, action="change.replaced",
                message=stored(AUDIT_CHANGE_REPLACED, subscription=subscription.name, old=change_text(existing), new=change_text(change)),
            )
            if existing.status == ChangeStatus.SENT and spec.when != SubscriptionChange.When.RENEWAL:
                # The vendor still holds the replaced change's instructions, and the new change will
                # not send any: tell it what remains.
                resend_job_create(subscription, existing, user=user, now=now)
        audit_log_record(
            company=subscription.company, actor=user, action="change.scheduled",
            message=stored(AUDIT_CHANGE_SCHEDULED, subscription=subscription.name, change=change_text(change)),
        )
        _scheduled_notice_queue(job)
    return Scheduled(change=change, job=job, replaced=existing, notices=[rendered(text) for text in notices(spec)])


def resend_job_create(subscription: Subscription, cancelled: SubscriptionChange, *, user: User, now: dt.datetime) -> ImportJob:
    """A job due now whose one vendor call re-sends what remains for the renewal after `cancelled` left, or
    after our own mid-term change wiped the vendor's copy (imports.changes.vendor): the merged instructions of
    the open renewal changes, or auto-renew back on (imports.changes.runner)."""
    name = rendered(stored(RESEND_NAME, subscription=subscription.name))
    return change_job_create(
        change=None, subscription=subscription, user=user, due_at=now, name=name,
        payload={"resend": {"subscription": subscription.pk, "kind": cancelled.kind, "change": cancelled.pk}},
    )


def _change_for(user: User, change_id: int) -> SubscriptionChange:
    change = SubscriptionChange.objects.select_related("subscription__company", "subscription__service").get(pk=change_id)
    if not company_visible_to(user, change.subscription.company_id):
        raise PermissionDenied
    return change


def change_job(change: SubscriptionChange) -> ImportJob | None:
    row = ImportRow.objects.filter(change=change).select_related("job").first()
    return row.job if row is not None else None


def change_cancel(*, change_id: int, user: User, now: dt.datetime | None = None) -> SubscriptionChange:
    """Cancel an open change. Pending: its job cancelled, and the change with it (import_cancel), unless a
    worker has it (ChangeNotCancellable, too late). Sent (the vendor holds it for the renewal): Cancelled,
    and a new job due now re-sends what remains to the vendor. Raises SubscriptionChange.DoesNotExist,
    PermissionDenied, ChangeNotCancellable."""
    now = now or db_now()
    change = _change_for(user, change_id)
    if change.status == ChangeStatus.PENDING:
        job = change_job(change)
        if job is None or not import_cancel(job_id=job.pk, user=user):
            change.refresh_from_db(fields=["status"])
            if change.status == ChangeStatus.CANCELLED:
                return change  # cancelled by another click meanwhile: the same outcome
            raise ChangeNotCancellable(str(CHANGE_TOO_LATE), too_late=True)
        change.refresh_from_db(fields=["status"])
        return change
    if change.status == ChangeStatus.SENT:
        with transaction.atomic():
            if not change_states.transition(change.pk, ChangeStatus.SENT, ChangeStatus.CANCELLED):
                change.refresh_from_db(fields=["status"])
                raise ChangeNotCancellable(str(CHANGE_NOT_CANCELLABLE % {"status": change.get_status_display()}))
            subscription = _subscription_locked(change.subscription_id)
            resend_job_create(subscription, change, user=user, now=now)
            audit_log_record(
                company=subscription.company, actor=user, action="change.cancelled",
                message=stored(AUDIT_CHANGE_CANCELLED, subscription=subscription.name, change=change_text(change)),
            )
        change.status = ChangeStatus.CANCELLED
        return change
    raise ChangeNotCancellable(str(CHANGE_NOT_CANCELLABLE % {"status": change.get_status_display()}))


def change_reschedule(*, change_id: int, user: User, due_at: dt.datetime | None, now: dt.datetime | None = None) -> RescheduleResult:
    """Move a pending "at" change (and its job) to `due_at`: import_reschedule, which re-checks the change's
    rules at the new time (imports.jobs.services). Raises what it raises, and JobNotReschedulable for a
    change that is not pending or is at renewal."""
    now = now or db_now()
    change = _change_for(user, change_id)
    job = change_job(change)
    if change.status != ChangeStatus.PENDING or change.when != SubscriptionChange.When.AT or job is None:
        raise JobNotReschedulable(str(CHANGE_NOT_RESCHEDULABLE % {
            "status": change.get_status_display(), "when": change.get_when_display(),
        }))
    return import_reschedule(job_id=job.pk, user=user, due_at=due_at, now=now)
