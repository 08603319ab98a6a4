"""The engine's line runner of import_type "change" (registered by imports.apps with
imports.engine.plugins): a scheduled change at its due time, inside the batch's transaction.

1. The change must still be Pending (a cancel moves its job first, so a claimed job's change is).
2. Its rules run again (orders.changes.rules.change_problems, at_due_time): a subscription suspended
   meanwhile, a window that closed, a price gone from the list... fail the row and the change with the
   reason (stored text).
3. Its plan (imports.changes.plan): with the vendor (goes_to_vendor), the row's VendorOrder (operation
   "change", its MS-RequestId recorded before any call) is returned to the batch, which writes it and
   leaves the job Waiting; the vendor sender makes the ONE PATCH (imports.changes.vendor). Otherwise it
   applies here at once (apply_plan), with conditional UPDATEs.

A resend row (no change; payload {"resend": ...}, written when a change the vendor held for the renewal
was cancelled) re-sends what remains the same way.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from catalog.models import Service
from core.stored_messages import stored
from orders.changes import states as change_states
from orders.changes.rules import ChangeSpec, change_problems, facts_for
from orders.models import Subscription, SubscriptionChange

from imports.changes.plan import customer_id, goes_to_vendor, plan_for, resend_plan
from imports.models import ImportJob, ImportRow, VendorOrder

ChangeStatus = SubscriptionChange.Status
# The vendor sender's operation of a change (imports.vendor.send dispatches it to imports.changes.vendor).
OPERATION = "change"

CHANGE_NOT_PENDING = _("The change is no longer pending (it is %(status)s).")
CHANGE_NOT_FOUND = _("The change of this line no longer exists.")
SUBSCRIPTION_CHANGED_MEANWHILE = _("The subscription is no longer active; the change was not applied.")


def _fail(row: ImportRow, reason: str) -> None:
    row.status, row.error = ImportRow.Status.FAILED, reason


def _complete(row: ImportRow, subscription: Subscription) -> None:
    row.status, row.error = ImportRow.Status.COMPLETED, ""
    row.result_account_id, row.created = subscription.account_id, {"name": subscription.name}


def apply_plan(plan: dict, *, now: dt.datetime, strict: bool) -> str | None:
    """Make the plan's local changes: the subscription's fields (one conditional UPDATE: `strict`, only
    while it is active: the local path; the vendor's answer is the truth otherwise) and the change's
    status move (Pending → Applied or Sent). None when done, else why not (stored text)."""
    local = dict(plan.get("local") or {})
    if "service_id" in local:
        local["service"] = Service.objects.get(pk=local.pop("service_id"))
    subscriptions = Subscription.objects.filter(pk=plan["subscription"])
    if strict:
        subscriptions = subscriptions.filter(status=Subscription.Status.ACTIVE)
    if local and not subscriptions.update(**local):
        return stored(SUBSCRIPTION_CHANGED_MEANWHILE)
    change_id, to = plan.get("change"), plan.get("status")
    if change_id and to:
        stamp = {"applied_at": now} if to == ChangeStatus.APPLIED else {"sent_at": now}
        if not change_states.transition(change_id, ChangeStatus.PENDING, to, **stamp):
            status = SubscriptionChange.objects.filter(pk=change_id).values_list("status", flat=True).first()
            return stored(CHANGE_NOT_PENDING, status=dict(ChangeStatus.choices).get(status, status))
    return None


def fail_change(change_id: int | None, reason: str) -> None:
    """The change fails with the row's reason (only while Pending: a conditional UPDATE)."""
    if change_id:
        change_states.transition(change_id, ChangeStatus.PENDING, ChangeStatus.FAILED, reason=reason)


def _vendor_order(row: ImportRow, subscription: Subscription, plan: dict, *, now: dt.datetime) -> VendorOrder:
    """The row's unsaved VendorOrder: the plan and every id its one call will carry, recorded before it."""
    job_due = ImportJob.objects.filter(pk=row.job_id).values_list("due_at", flat=True).get()
    return VendorOrder(
        row=row, job_id=row.job_id, company_id=subscription.company_id,
        integration=subscription.service.vendor.integration, operation=OPERATION,
        customer_id=customer_id(subscription), create_request_id=uuid.uuid4(), checkout_request_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(), subscription=plan, account_id=subscription.account_id,
        vendor_subscription_id=subscription.vendor_subscription_id,
        deadline_at=job_due + dt.timedelta(seconds=settings.IMPORT_VENDOR_DEADLINE_SECONDS),
        next_attempt_at=now, created_at=now, checked_at=now,
    )


def _run_plan(row: ImportRow, subscription: Subscription, plan: dict, *, now: dt.datetime) -> VendorOrder | None:
    if goes_to_vendor(subscription):
        return _vendor_order(row, subscription, plan, now=now)
    reason = apply_plan(plan, now=now, strict=True)
    if reason:
        fail_change(plan.get("change"), reason)
        _fail(row, reason)
    else:
        _complete(row, subscription)
    return None


def _subscriptions():
    return Subscription.objects.select_related("company", "service__vendor", "order")


def change_row_run(row: ImportRow, *, actor=None, price_lists=None) -> VendorOrder | None:
    """Run a "change" line at its due time (the batch's clock: row.processed_at). Returns the VendorOrder
    when the vendor applies it (the batch writes it and its job waits); else the row ends Completed or
    Failed here."""
    now = row.processed_at
    if row.change_id is None:
        return _resend_run(row, now=now)
    change = (
        SubscriptionChange.objects.select_related("service__vendor").filter(pk=row.change_id).first()
    )
    if change is None:
        _fail(row, stored(CHANGE_NOT_FOUND))
        return None
    if change.status != ChangeStatus.PENDING:
        _fail(row, stored(CHANGE_NOT_PENDING, status=change.get_status_display()))
        return None
    subscription = _subscriptions().get(pk=change.subscription_id)
    spec = ChangeSpec.of(change)
    facts = facts_for(subscription, spec, day=now.date())
    problems = change_problems(subscription, spec, now=now, facts=facts, at_due_time=True)
    if problems:
        reason = "\n".join(problems)
        fail_change(change.pk, reason)
        _fail(row, reason)
        return None
    return _run_plan(row, subscription, plan_for(subscription, change, facts=facts), now=now)


def _resend_run(row: ImportRow, *, now: dt.datetime) -> VendorOrder | None:
    resend = (row.payload or {}).get("resend") or {}
    subscription = _subscriptions().filter(pk=resend.get("subscription")).first()
    if subscription is None:
        _fail(row, stored(CHANGE_NOT_FOUND))
        return None
    return _run_plan(row, subscription, resend_plan(subscription, resend.get("kind", "")), now=now)
