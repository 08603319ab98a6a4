"""The renewals of subscriptions provisioned locally (no vendor; issue 27).

`subscriptions_renew_local(now=...)` renews the subscriptions whose term ended: the next term (orders.terms)
with their Sent renewal changes applied and the price of its first day (orders.sync.reprice), or Terminated
when auto-renew is off; a change that could not apply is Failed with its reason, and handed to the notice
providers (orders.sync.notify_moved) in the same transaction. One short transaction a subscription. The
engine's periodic pass calls it beside the vendor syncs (imports.engine.term_sync). What a vendor renews is
read from the vendor instead (orders.sync).
"""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.stored_messages import stored

from .changes.states import transition
from .models import Subscription, SubscriptionChange
from .sync import CHANGE_ENDED_WITHOUT, notify_moved, reprice
from .terms import term_fields

Kind, Status, When = SubscriptionChange.Kind, SubscriptionChange.Status, SubscriptionChange.When

CHANGE_RENEWED_LOCALLY = _("The subscription renewed on %(date)s while auto-renew was on, so it was not cancelled.")


def local_renewals_due(*, now: dt.datetime):
    """Live subscriptions provisioned locally (no vendor) whose term has ended: renewed (or ended) here."""
    return Subscription.objects.live().filter(vendor_subscription_id="", term_end__lte=now).exclude(term="")


def subscriptions_renew_local(*, now: dt.datetime, limit: int = 500) -> int:
    """Renew up to `limit` local subscriptions whose term ended (one short transaction each); returns how many."""
    done = 0
    for subscription_id in list(local_renewals_due(now=now).order_by("term_end", "id").values_list("pk", flat=True)[:limit]):
        done += _renew_local(subscription_id, now=now)
    return done


def _renew_local(subscription_id: int, *, now: dt.datetime) -> bool:
    with transaction.atomic():
        subscription = (
            Subscription.objects.select_for_update().filter(pk=subscription_id, term_end__lte=now, vendor_subscription_id="")
            .exclude(status=Subscription.Status.TERMINATED).select_related("service").first()
        )
        if subscription is None:  # renewed by another pass meanwhile
            return False
        ends = subscription.term_end
        sent = list(SubscriptionChange.objects.select_related("service").filter(
            subscription_id=subscription_id, status=Status.SENT, when=When.RENEWAL))
        moved: list[SubscriptionChange] = []
        if not subscription.auto_renew:
            subscription.status, subscription.next_term_instructions = Subscription.Status.TERMINATED, {}
            subscription.save(update_fields=["status", "next_term_instructions"])
            for change in sent:
                to, extra = (Status.APPLIED, {"applied_at": ends}) if change.kind == Kind.CANCEL else (
                    Status.FAILED, {"reason": stored(CHANGE_ENDED_WITHOUT, date=ends.strftime("%Y-%m-%d"))})
                if transition(change.pk, Status.SENT, to, **extra) and to == Status.FAILED:
                    change.status, change.reason = to, extra["reason"]
                    moved.append(change)
            notify_moved(moved, now=now)
            return True
        updated = []
        for change in sent:
            if change.kind == Kind.CANCEL:
                extra = {"reason": stored(CHANGE_RENEWED_LOCALLY, date=ends.strftime("%Y-%m-%d"))}
                if transition(change.pk, Status.SENT, Status.FAILED, **extra):
                    change.status, change.reason = Status.FAILED, extra["reason"]
                    moved.append(change)
                continue
            if transition(change.pk, Status.SENT, Status.APPLIED, applied_at=ends):
                updated.append(change)
        for change in updated:
            if change.kind == Kind.QUANTITY:
                subscription.quantity = change.quantity
            elif change.kind == Kind.BILLING_CYCLE:
                subscription.billing_frequency = change.billing_frequency
            elif change.kind == Kind.TERM:
                subscription.term = change.term
            elif change.kind == Kind.UPGRADE:
                if subscription.name == subscription.service.name:
                    subscription.name = change.service.name
                subscription.service = change.service
        fields = term_fields(ends, subscription.term)
        while fields["term_end"] is not None and fields["term_end"] <= now:  # terms missed while nothing ran
            fields = term_fields(fields["term_end"], subscription.term)
        for name, value in fields.items():
            setattr(subscription, name, value)
        subscription.next_term_instructions = {}  # taken by this renewal, as the vendor clears them
        prices = reprice(subscription, start=fields["term_start"] or ends)
        subscription.save(update_fields=["quantity", "billing_frequency", "term", "service", "name",
                                         "next_term_instructions", *fields, *prices])
        notify_moved(moved, now=now)
    return True
