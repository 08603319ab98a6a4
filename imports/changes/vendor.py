"""A change's one vendor call: the vendor sender's operation "change" (imports.vendor.send dispatches a
VendorOrder of this operation here; registered by imports.apps).

One try is ONE PATCH (the connector's subscription_patch) with the plan the batch recorded
(imports.changes.plan) and the vendor order's create_request_id as MS-RequestId, outside any transaction;
a retry (transient trouble, a sender killed after the call) sends the same body with the same id, which
Partner Center answers with its first answer. The answer is recorded in a short transaction of its own,
only while the vendor order is still open:
- done → the plan applied here (the vendor's answer is the truth: not only while active), the change
  Applied (or Sent: at renewal), the row Completed, the job finished;
- refused → the change and the row Failed with the vendor's reason;
- transient or unknown → the vendor sender's own backoff and waiting (imports.vendor.finish); past the
  deadline, the change and the row fail with the last trouble.
"""

import datetime as dt

from django.db import transaction
from django.db.models import F

from catalog.integrations import get_integration
from catalog.integrations.calls import calls_for
from catalog.integrations.pauses import tenant_paused_until
from catalog.integrations.partner_center import Done, Refused
from core.datetimes import utc_text
from core.outbox import OutboxItem
from core.stored_messages import stored
from orders.models import Subscription, SubscriptionChange

from imports.changes.runner import apply_plan, fail_change
from imports.changes.services import resend_job_create
from imports.models import ImportRow, VendorOrder

# The vendor sender's machinery, shared so that a change waits, backs off and expires exactly as an order does.
from imports.vendor.finish import Finished, finish_jobs_if_done, open_locked, trouble_record, wait_record
from imports.vendor.outcomes import VENDOR_BUDGET_WAIT, VENDOR_DEADLINE_PASSED, VENDOR_NOT_CONNECTED, VENDOR_TENANT_PAUSED, Trouble
from imports.vendor.pacing import BUDGET_SPREAD_SECONDS, Wait
from imports.vendor.place import not_done
from imports.vendor.recorder import Recorder

Outcome = VendorOrder.Outcome


def _vendor_name(vendor_order: VendorOrder) -> str:
    name = (
        Subscription.objects.filter(account_id=vendor_order.account_id).values_list("service__vendor__name", flat=True).first()
    )
    return name or vendor_order.integration


def change_try(vendor_order: VendorOrder, *, now: dt.datetime, finished: Finished) -> str | None:
    """One try of a change's vendor order (claimed by the caller): the outcome it reached, or None when it
    stays open (transient trouble) or was finished by another sender meanwhile."""
    vendor = _vendor_name(vendor_order)
    client = get_integration(vendor_order.integration).connector()
    if client is None:
        return trouble_record(vendor_order, Trouble(stored(VENDOR_NOT_CONNECTED, vendor=vendor)), now=now, finished=finished)
    paused = tenant_paused_until(vendor_order.integration, vendor_order.customer_id, now=now)
    if paused is not None:
        trouble = Trouble(stored(VENDOR_TENANT_PAUSED, vendor=vendor, until=utc_text(paused)), (paused - now).total_seconds())
        return trouble_record(vendor_order, trouble, now=now, finished=finished)
    # The tenant's request budget (catalog.integrations.budget), as for an order's cart calls.
    recorder = Recorder([vendor_order], now=now, finished=finished)
    until = recorder.reserve(vendor_order, 1)
    if until is not None:
        wait = Wait(stored(VENDOR_BUDGET_WAIT, vendor=vendor, until=utc_text(until)), until, spread_seconds=BUDGET_SPREAD_SECONDS)
        return wait_record(vendor_order, wait, now=now, finished=finished)
    plan = vendor_order.subscription
    with calls_for(vendor_order.company_id):
        answer = client.subscription_patch(
            vendor_order.customer_id, vendor_order.vendor_subscription_id,
            request_id=str(vendor_order.create_request_id), correlation_id=str(vendor_order.correlation_id),
            **plan["patch"],
        )
    if isinstance(answer, Done):
        return Outcome.DONE if _record_done(vendor_order, now=now, finished=finished) else None
    if isinstance(answer, Refused):
        return Outcome.REFUSED if _record_failed(vendor_order, Outcome.REFUSED, answer.reason, now=now, finished=finished) else None
    trouble = not_done(vendor_order, answer, vendor, now=now, recorder=recorder)
    if now >= vendor_order.deadline_at:
        reason = stored(VENDOR_DEADLINE_PASSED, vendor=vendor, deadline=utc_text(vendor_order.deadline_at), reason=trouble.reason)
        return Outcome.EXPIRED if _record_failed(vendor_order, Outcome.EXPIRED, reason, now=now, finished=finished) else None
    return trouble_record(vendor_order, trouble, now=now, finished=finished)


# Partner Center wipes a subscription's next-term instructions on any mid-term change of these.
MID_TERM_PATCH_KEYS = frozenset({"quantity", "billing_cycle", "term_duration", "offer_id"})


def _instructions_restore(vendor_order: VendorOrder, *, now: dt.datetime) -> None:
    """After our own mid-term change, the renewal changes the vendor held for this subscription (Sent) are
    sent again at once (a resend job, due now, in this transaction): Partner Center wiped them with our
    PATCH, and the reseller must not lose them to a change of its own (the sync would report them Wiped)."""
    plan = vendor_order.subscription
    if not MID_TERM_PATCH_KEYS & set(plan.get("patch") or {}):
        return
    held = (
        SubscriptionChange.objects.filter(
            subscription_id=plan.get("subscription"), status=SubscriptionChange.Status.SENT,
            when=SubscriptionChange.When.RENEWAL,
        )
        .exclude(kind=SubscriptionChange.Kind.CANCEL)
        .order_by("pk")
        .first()
    )
    if held is None:
        return
    subscription = Subscription.objects.select_related("company", "service").get(pk=held.subscription_id)
    resend_job_create(subscription, held, user=vendor_order.job.created_by, now=now)


def _record_done(vendor_order: VendorOrder, *, now: dt.datetime, finished: Finished) -> bool:
    with transaction.atomic():
        locked = open_locked(vendor_order)
        if locked is None:
            return False  # finished by another sender meanwhile
        VendorOrder.objects.filter(pk=locked.pk).update(
            status=OutboxItem.Status.SENT, sent_at=now, outcome=Outcome.DONE, attempts=F("attempts") + 1, last_error="",
        )
        reason = apply_plan(locked.subscription, now=now, strict=False)
        row = ImportRow.objects.filter(pk=locked.row_id)
        if reason:
            row.update(status=ImportRow.Status.FAILED, error=reason, processed_at=now)
        else:
            _instructions_restore(locked, now=now)
            name = Subscription.objects.filter(pk=locked.subscription["subscription"]).values_list("name", flat=True).first()
            row.update(
                status=ImportRow.Status.COMPLETED, error="", processed_at=now, result_account_id=locked.account_id,
                created={"name": name or ""},
            )
        done = finish_jobs_if_done({locked.job_id}, now=now)
    for job, rows in done:
        finished.add(job, rows)
    return True


def _record_failed(vendor_order: VendorOrder, outcome: str, reason: str, *, now: dt.datetime, finished: Finished) -> bool:
    """Refused by the vendor, or expired at the deadline: the change, the row and the job fail with `reason`."""
    with transaction.atomic():
        locked = open_locked(vendor_order)
        if locked is None:
            return False
        VendorOrder.objects.filter(pk=locked.pk).update(
            status=OutboxItem.Status.SENT, sent_at=now, outcome=outcome, reason=reason, attempts=F("attempts") + 1,
        )
        fail_change(locked.subscription.get("change"), reason)
        ImportRow.objects.filter(pk=locked.row_id).update(status=ImportRow.Status.FAILED, error=reason, processed_at=now)
        done = finish_jobs_if_done({locked.job_id}, now=now)
    for job, rows in done:
        finished.add(job, rows)
    return True
