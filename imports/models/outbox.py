"""The engine's outboxes (core.outbox): what a finished or scheduled job still owes the outside world, each
row written in the transaction that decides it and sent after: the emails (Notification, SubscriptionNotice),
the webhook events (WebhookDelivery), the orders placed with the vendor (VendorOrder)."""

import datetime as dt
import uuid
from email.utils import parseaddr

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, WebhookEndpoint
from orders.models import Subscription

from core.outbox import OutboxItem

from imports.models.jobs import ImportJob, ImportRow


def _message_domain() -> str:
    """The right-hand side of our Message-IDs: the sender's domain, so they are ours and unique."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"


class Notification(OutboxItem):
    """One message to send about a job: the email outbox (core.outbox, the kind imports.notify.outbox).

    Written in the very transaction that finishes the job, so a finished job always has its
    message to send and a rolled-back one never has. It is marked sent only after the mail
    server accepted it: a worker dying in between sends it again (same Message-ID), never drops it.
    Status, attempts, next attempt, last error, sent at and created at are OutboxItem's.
    """

    class Kind(models.TextChoices):
        # Mandatory (the manual: "Some email notifications are mandatory"): every finished job has one.
        IMPORT_FINISHED = "import_finished", _("Your import is completed")
        # Optional, per user (NOTIFICATIONS tab): when the job is created, and before it is due.
        IMPORT_SCHEDULED = "import_scheduled", _("Your provisioning is scheduled")
        IMPORT_REMINDER = "import_reminder", _("Reminder before a scheduled provisioning")
        # Once per job, when its first vendor try meets transient trouble (imports.vendor.finish): the job
        # waits for the vendor, with the next try's time and the reason.
        IMPORT_WAITING = "import_waiting", _("Your import is waiting for the vendor")
        # A scheduled change the sync with the vendor found wiped before the renewal (a mid-term change made
        # elsewhere removed it), or not applied by the renewal: to the change's creator, with the reason
        # (orders.sync; imports.engine.change_notices). One per change job and kind.
        CHANGE_WIPED = "change_wiped", _("A scheduled change was wiped at the vendor")
        CHANGE_RENEWAL_FAILED = "change_renewal_failed", _("A scheduled change did not apply at the renewal")

    # Every row of a burst is written once and updated twice (claimed, then sent), each time in every
    # index: so no index of its own here, the unique (job, kind) one serves lookups by job.
    job = models.ForeignKey(
        ImportJob, verbose_name=_("import job"), on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices, default=Kind.IMPORT_FINISHED)
    # The email's Message-ID header, fixed once: a re-send after a crash is the same message to
    # mail clients. A uuid part keeps it unique across databases (job ids restart after a reset).
    # Unique by a constraint rather than unique=True, which on PostgreSQL adds a second index for
    # LIKE 'prefix%' that nothing asks (the admin's search is a contains).
    message_id = models.CharField(_("Message-ID"), max_length=255)

    class Meta(OutboxItem.Meta):
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [OutboxItem.due_index("notification_status_next")]
        constraints = [
            models.UniqueConstraint(fields=["job", "kind"], name="notification_unique_job_kind"),
            models.UniqueConstraint(fields=["message_id"], name="notification_unique_message_id"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.job_id})"

    @classmethod
    def for_job(cls, job_id: int, *, now: dt.datetime, kind: str = Kind.IMPORT_FINISHED) -> "Notification":
        """The unsaved row of a job that has just finished, due at once."""
        message_id = f"<import-{job_id}-{kind}.{uuid.uuid4().hex}@{_message_domain()}>"
        return cls(job_id=job_id, kind=kind, next_attempt_at=now, created_at=now, message_id=message_id)


class SubscriptionNotice(OutboxItem):
    """One notice about a subscription to one user, not about a job: the notices' outbox (core.outbox,
    the kind imports.notify.notices), written by the engine's housekeeping pass when its time comes.

    Kinds are named apart from the job's emails and from the change failure and wipe notices (issue 27):
    - "change.reminder": a few days before a renewal that has scheduled changes, to their creators;
    - "window.closing": before a cancellation window closes, to the users above the subscription who
      opted in (accounts.User.notify_window_closing).
    Sent once each: unique per kind, subscription, recipient and occasion (the renewal or window end it
    is about; a later renewal is another occasion), and a fixed Message-ID for a re-send after a crash.
    """

    class Kind(models.TextChoices):
        CHANGE_REMINDER = "change.reminder", _("Reminder before a renewal with changes")
        WINDOW_CLOSING = "window.closing", _("Cancellation window closing")

    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="notices"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    # The renewal (term end) or the window's end the notice is about.
    occasion_at = models.DateTimeField(_("about"))
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)

    class Meta(OutboxItem.Meta):
        verbose_name = _("subscription notice")
        verbose_name_plural = _("subscription notices")
        indexes = [OutboxItem.due_index("subscription_notice_next")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subscription", "recipient", "occasion_at"], name="subscription_notice_once"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.subscription_id} → {self.recipient_id})"

    @classmethod
    def build(cls, kind: str, *, subscription_id: int, recipient_id: int, occasion_at: dt.datetime, now: dt.datetime):
        """The unsaved row, due at once."""
        message_id = f"<{kind}-{subscription_id}-{recipient_id}.{uuid.uuid4().hex}@{_message_domain()}>"
        return cls(
            kind=kind, subscription_id=subscription_id, recipient_id=recipient_id, occasion_at=occasion_at,
            next_attempt_at=now, created_at=now, message_id=message_id,
        )


class WebhookDelivery(OutboxItem):
    """One event POSTed to a reseller's webhook (accounts.WebhookEndpoint): the webhook outbox
    (core.outbox, the kind imports.webhooks.delivery.DELIVERIES).

    Written in the very transaction that moves the job to its final status (like Notification), so
    an event is never announced for a run that rolled back. imports.webhooks.delivery signs and sends
    it; `event_id` (the X-ICP-Delivery header) stays the same across retries, so the receiver can
    drop duplicates. Status, attempts, next attempt, last error, sent at and created at are OutboxItem's.
    """

    class Event(models.TextChoices):
        IMPORT_COMPLETED = "import.completed", "import.completed"
        IMPORT_COMPLETED_WITH_ERRORS = "import.completed_with_errors", "import.completed_with_errors"
        IMPORT_FAILED = "import.failed", "import.failed"
        IMPORT_CANCELLED = "import.cancelled", "import.cancelled"
        # Once per job, when its first vendor try meets transient trouble (not a final status: the
        # job's final event follows when the vendor is done, refuses, or the deadline passes).
        IMPORT_WAITING = "import.waiting", "import.waiting"
        # A scheduled change found wiped at the vendor, or not applied by the renewal (orders.sync), with its reason.
        CHANGE_WIPED = "change.wiped", "change.wiped"
        CHANGE_RENEWAL_FAILED = "change.renewal_failed", "change.renewal_failed"

    event_id = models.CharField(_("event id"), max_length=64, unique=True)
    event = models.CharField(_("event"), max_length=40, choices=Event.choices)
    job = models.ForeignKey(ImportJob, verbose_name=_("import job"), on_delete=models.CASCADE, related_name="webhook_deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("webhook endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    # The whole JSON body ({"id", "type", "created_at", "data"}), fixed when the event happened.
    payload = models.JSONField(_("payload"), default=dict)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)

    class Meta(OutboxItem.Meta):
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [OutboxItem.due_index("webhook_delivery_status_next")]
        constraints = [models.UniqueConstraint(fields=["job", "event"], name="webhook_delivery_unique_job_event")]

    def __str__(self):
        return f"{self.event} ({self.job_id}) → {self.endpoint_id}"


class VendorOrder(OutboxItem):
    """One import row's order placed with the vendor (e.g. a Microsoft cart and its checkout): the vendor
    outbox (core.outbox, the third kind beside emails and webhooks).

    Written in the batch's transaction, once the row's due-time checks have passed, with every id the
    vendor calls will carry (`create_request_id`, `checkout_request_id`: MS-RequestId; `correlation_id`)
    and the subscription the row will create, priced on the creation day (`subscription`). The calls
    happen later, outside any transaction, by whichever sender holds the row's lease; each answer is
    recorded in a short transaction of its own (`cart_id` as soon as the cart exists). A sender killed
    at any point leaves the row to the next one with the same ids, so the vendor (idempotent per
    MS-RequestId, and per cart at checkout) never places a second order for one job.

    Status, attempts, next attempt (the next try, or the end of a sender's lease), last error (the
    last transient trouble, stored text), sent at (when it was final) and created at are OutboxItem's.
    """

    class Outcome(models.TextChoices):
        OPEN = "", _("Open")
        DONE = "done", _("Provisioned by the vendor")
        REFUSED = "refused", _("Refused by the vendor")
        # Transient trouble outlasted the deadline (IMPORT_VENDOR_DEADLINE_SECONDS after the due time).
        EXPIRED = "expired", _("Vendor unavailable until the deadline")

    row = models.OneToOneField(ImportRow, verbose_name=_("import row"), on_delete=models.CASCADE, related_name="vendor_order")
    job = models.ForeignKey(ImportJob, verbose_name=_("import job"), on_delete=models.CASCADE, related_name="vendor_orders")
    company = models.ForeignKey(Company, verbose_name=_("company"), on_delete=models.PROTECT, related_name="vendor_orders")
    integration = models.CharField(_("integration"), max_length=50)
    # What is asked: "cart" (a subscription on an existing customer tenant) or "customer" (a new tenant).
    operation = models.CharField(_("operation"), max_length=20)
    customer_id = models.CharField(_("vendor customer id"), max_length=64, blank=True)
    create_request_id = models.UUIDField(_("MS-RequestId of the creation"))
    checkout_request_id = models.UUIDField(_("MS-RequestId of the checkout"))
    correlation_id = models.UUIDField(_("MS-CorrelationId"))
    cart_id = models.CharField(_("cart id"), max_length=64, blank=True)
    vendor_order_id = models.CharField(_("vendor order id"), max_length=64, blank=True)
    vendor_subscription_id = models.CharField(_("vendor subscription id"), max_length=64, blank=True)
    # The Subscription the row creates when the vendor is done (orders.provisioning.subscription_build's
    # fields, JSON): the price of the creation day, read with the batch's facts, never read again.
    subscription = models.JSONField(_("subscription to create"), default=dict)
    account_id = models.PositiveBigIntegerField(_("Account Id"))
    deadline_at = models.DateTimeField(_("deadline"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.OPEN, blank=True)
    # The vendor's reason for a refusal, or the last transient reason at the deadline (stored text).
    reason = models.TextField(_("reason"), blank=True)
    # When the vendor checks at the due time (orders.validation.order_vendor_problems) passed: asked once,
    # so a retry after the cart exists does not ask again.
    checked_at = models.DateTimeField(_("vendor checks passed at"), null=True, blank=True)

    class Meta(OutboxItem.Meta):
        verbose_name = _("vendor order")
        verbose_name_plural = _("vendor orders")
        indexes = [
            OutboxItem.due_index("vendor_order_status_next"),
            models.Index(fields=["company", "status"], name="vendor_order_company_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status="pending") | ~models.Q(outcome=""), name="vendor_order_final_has_outcome"),
        ]

    def __str__(self):
        return f"{self.integration} {self.operation} for row {self.row_id}"
