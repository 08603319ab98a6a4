"""The notices of a scheduled change the sync with the vendor moved (orders.sync, issue 27): Wiped (the vendor
no longer holds it for the renewal: a mid-term change made elsewhere removed its next-term instructions) or Failed
(the renewal happened without it, or the subscription ended instead). Never silently lost: an email to the
change's creator (Notification CHANGE_WIPED / CHANGE_RENEWAL_FAILED, imports.notify.content says what it
says) and a webhook event ("change.wiped" / "change.renewal_failed", imports.webhooks.delivery), both written
to the outbox in the very transaction that moved the change, on the change's job (one of each per job and kind).

orders cannot import us: `register()` plugs `change_notices_record` into orders.sync (imports.apps).
"""

import datetime as dt

from orders.models import SubscriptionChange
from orders.sync import sync_notices_register

from imports.models import ImportRow, Notification, WebhookDelivery
from imports.webhooks.delivery import webhook_change_record

Status = SubscriptionChange.Status
KINDS = {
    Status.WIPED: (Notification.Kind.CHANGE_WIPED, WebhookDelivery.Event.CHANGE_WIPED),
    Status.FAILED: (Notification.Kind.CHANGE_RENEWAL_FAILED, WebhookDelivery.Event.CHANGE_RENEWAL_FAILED),
}


def change_notices_record(changes: list[SubscriptionChange], *, now: dt.datetime) -> int:
    """The email and webhook event of each change (in its new status, with its reason); returns how many emails
    were written. A change without a job (none is scheduled without one) is left out."""
    rows = {
        row.change_id: row
        for row in ImportRow.objects.filter(change__in=[c.pk for c in changes]).select_related("job__company")
    }
    notifications = []
    for change in changes:
        row = rows.get(change.pk)
        if row is None or change.status not in KINDS:
            continue
        kind, event = KINDS[change.status]
        notifications.append(Notification.for_job(row.job_id, now=now, kind=kind))
        webhook_change_record(row.job, change, event=event, now=now)
    return len(Notification.objects.bulk_create(notifications, ignore_conflicts=True))


def register() -> None:
    sync_notices_register(change_notices_record)
