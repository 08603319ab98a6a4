from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.outbox_admin import OutboxAdmin
from imports.jobs.services import import_cancel
from core.clock import db_now
from core.stored_messages import rendered
from imports.engine.outbox_lane import outbox_senders_enqueue
from imports.models import EngineWorker, ImportJob, ImportRow, Notification, SubscriptionNotice, VendorOrder, WebhookDelivery
from imports.notify.notices import NOTICES
from imports.notify.outbox import NOTIFICATIONS
from imports.vendor.outbox import VENDOR_ORDERS
from imports.webhooks.delivery import DELIVERIES

NOTIFICATION_FIELDS = (
    "kind", "status", "attempts", "next_attempt_at", "last_error", "sent_at", "created_at", "message_id",
)


class ImportRowInline(admin.TabularInline):
    model = ImportRow
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("position", "import_type", "parent_company", "order", "status", "result_account_id", "created", "subscription", "failure_reason", "processed_at")
    readonly_fields = fields

    def get_queryset(self, request):
        # Each row prints str() of itself (its job) and of its read-only foreign keys (Order.__str__
        # reads the service and the company): fetched here rather than a few queries per row.
        return super().get_queryset(request).select_related(
            "job", "parent_company", "order__service", "order__company", "subscription"
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NotificationInline(admin.TabularInline):
    """The job's emails, view-only: the outbox moves them (staff retry from the Notification list)."""

    model = Notification
    extra = 0
    can_delete = False
    show_change_link = True
    fields = NOTIFICATION_FIELDS
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


VENDOR_ORDER_FIELDS = (
    "operation", "status", "outcome", "attempts", "next_attempt_at", "vendor_order_id", "vendor_subscription_id",
    "cart_id", "deadline_at", "last_reason",
)


def _vendor_reason(order: VendorOrder) -> str:
    """The vendor's reason (a refusal, an expiry) or its last transient trouble, in the staff member's language."""
    return rendered(order.reason or order.last_error)


class VendorOrderInline(admin.TabularInline):
    """The job's vendor orders, view-only: the vendor outbox moves them (staff retry from the job's or
    the VendorOrder list's "Retry now")."""

    model = VendorOrder
    extra = 0
    can_delete = False
    show_change_link = True
    fields = VENDOR_ORDER_FIELDS
    readonly_fields = fields

    @admin.display(description=_("reason"))
    def last_reason(self, obj):
        return _vendor_reason(obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def vendor_orders_retry_now(ids) -> int:
    """Staff's "Retry now" on vendor orders: the open ones (waiting, no outcome yet) become due at once
    (VENDOR_ORDERS.retry_now) and a sender is enqueued after commit; final ones stay as they ended (a
    refusal is scheduled again from My imports or RECREATE PROVISIONING, with a new order)."""
    open_ids = list(
        VendorOrder.objects.filter(pk__in=list(ids), outcome=VendorOrder.Outcome.OPEN).values_list("pk", flat=True)
    )
    count = VENDOR_ORDERS.retry_now(open_ids, now=db_now()) if open_ids else 0
    if count:
        transaction.on_commit(outbox_senders_enqueue, robust=True)
    return count


def _vendor_retried_message(count: int) -> str:
    return ngettext(
        "%(count)d vendor order waiting for the vendor will be sent again with the next pass.",
        "%(count)d vendor orders waiting for the vendor will be sent again with the next pass.",
        count,
    ) % {"count": count}


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "__str__", "account_type", "source", "created_at", "due_at", "imported_count", "status", "error_count",
        "created_by", "company", "finished_at",
    )
    list_filter = ("status", "source", "account_type")
    search_fields = ("name", "company__name", "company__account_id", "created_by__email")
    date_hierarchy = "created_at"
    list_select_related = ("created_by", "company")
    fields = (
        "name", "account_type", "source", "status", "due_at", "created_by", "company", "notify_emails", "created_at",
        "claimed_at", "lease_expires_at", "finished_at", "imported_count", "error_count",
    )
    # Status and the worker's bookkeeping move only through imports.jobs.states, never by hand. The due
    # time is a service's to change (rescheduling moves the worker's schedule too). What the job is,
    # for whom and by whom were settled when it was created with its rows; only the label and the
    # extra recipients of the email may be corrected here.
    readonly_fields = (
        "account_type", "source", "status", "due_at", "created_by", "company", "created_at", "claimed_at",
        "lease_expires_at", "finished_at", "imported_count", "error_count",
    )
    inlines = [ImportRowInline, VendorOrderInline, NotificationInline]
    actions = ["cancel_pending", "retry_vendor_now"]

    def has_add_permission(self, request):
        # Jobs come from the wizard (Schedule provisioning) or a bulk import, with their rows.
        return False

    @admin.action(description=_("Cancel selected pending imports"), permissions=["change"])
    def cancel_pending(self, request, queryset):
        cancelled = sum(import_cancel(job_id=pk, user=request.user) for pk in queryset.values_list("pk", flat=True))
        skipped = queryset.count() - cancelled
        if cancelled:
            self.message_user(
                request,
                ngettext("%(count)d import cancelled.", "%(count)d imports cancelled.", cancelled) % {"count": cancelled},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d import was not pending and can no longer be cancelled.",
                    "%(count)d imports were not pending and can no longer be cancelled.",
                    skipped,
                ) % {"count": skipped},
                messages.WARNING,
            )


    @admin.action(description=_("Retry now the selected imports waiting for the vendor"), permissions=["change"])
    def retry_vendor_now(self, request, queryset):
        ids = VendorOrder.objects.filter(job__in=queryset).values_list("pk", flat=True)
        self.message_user(request, _vendor_retried_message(vendor_orders_retry_now(ids)), messages.SUCCESS)


@admin.register(ImportRow)
class ImportRowAdmin(admin.ModelAdmin):
    list_display = ("__str__", "import_type", "parent_company", "status", "result_account_id", "processed_at")
    list_filter = ("status", "import_type")
    search_fields = ("job__name", "parent_company__name", "parent_company__account_id", "error")
    list_select_related = ("job", "parent_company")
    autocomplete_fields = ("job", "parent_company")
    raw_id_fields = ("order", "subscription")
    # The reason rendered in the staff member's language (core.stored_messages), not its stored form.
    exclude = ("error",)
    readonly_fields = ("status", "failure_reason", "subscription", "result_account_id", "created", "processed_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # View-only, like the inline on its job: what a row provisions (its order or file line, its
        # parent account, its job) was settled when the job was created, and its outcome is the worker's.
        return False


@admin.register(Notification)
class NotificationAdmin(OutboxAdmin):
    list_display = ("job", "kind", "status", "attempts", "next_attempt_at", "last_error", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("job__name", "message_id", "last_error")
    list_select_related = ("job",)
    date_hierarchy = "created_at"
    fields = ("job", *NOTIFICATION_FIELDS)
    # Sent only after the mail server accepted it: never marked sent by hand.
    readonly_fields = fields
    outbox = NOTIFICATIONS

    def retried_message(self, count):
        return ngettext(
            "%(count)d notification will be sent with the next pass.",
            "%(count)d notifications will be sent with the next pass.",
            count,
        ) % {"count": count}


@admin.register(SubscriptionNotice)
class SubscriptionNoticeAdmin(OutboxAdmin):
    """Renewal reminders and cancellation windows closing (imports.notify.notices). Read-only."""

    list_display = ("subscription", "kind", "recipient", "occasion_at", "status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("subscription__name", "recipient__email", "message_id")
    list_select_related = ("subscription", "recipient")
    fields = ("subscription", "recipient", "occasion_at", *NOTIFICATION_FIELDS)
    readonly_fields = fields
    outbox = NOTICES

    def retried_message(self, count):
        return ngettext(
            "%(count)d notification will be sent with the next pass.",
            "%(count)d notifications will be sent with the next pass.",
            count,
        ) % {"count": count}


@admin.register(VendorOrder)
class VendorOrderAdmin(OutboxAdmin):
    """The vendor outbox: each import row's order with the vendor, its ids and how it ended. Read-only;
    "Retry now" sends a waiting one again at once."""

    list_display = (
        "id", "job", "company", "integration", "operation", "status", "outcome", "attempts", "next_attempt_at",
        "vendor_order_id", "created_at",
    )
    list_filter = ("status", "outcome", "integration", "operation")
    search_fields = ("=correlation_id", "=create_request_id", "=checkout_request_id", "=cart_id", "=vendor_order_id",
                     "=vendor_subscription_id", "job__name")
    list_select_related = ("job", "company")
    date_hierarchy = "created_at"
    fields = (
        "job", "row", "company", "integration", "operation", "customer_id", "status", "outcome", "last_reason",
        "attempts", "next_attempt_at", "deadline_at", "sent_at", "created_at", "create_request_id",
        "checkout_request_id", "correlation_id", "cart_id", "vendor_order_id", "vendor_subscription_id", "account_id",
        "subscription",
    )
    readonly_fields = fields
    outbox = VENDOR_ORDERS

    @admin.display(description=_("reason"))
    def last_reason(self, obj):
        return _vendor_reason(obj)

    def has_delete_permission(self, request, obj=None):
        # The record of what was asked of the vendor: kept with its job.
        return False

    @admin.action(description=_("Retry now"), permissions=["change"])
    def retry_now(self, request, queryset):
        self.message_user(request, self.retried_message(vendor_orders_retry_now(queryset.values_list("pk", flat=True))), messages.SUCCESS)

    def retried_message(self, count):
        return _vendor_retried_message(count)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OutboxAdmin):
    """The webhook delivery log: what was POSTed to which reseller, and how the receiver answered."""

    list_display = ("event_id", "event", "job", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at", "sent_at")
    list_filter = ("status", "event")
    search_fields = ("event_id", "job__name", "endpoint__company__name", "endpoint__url", "last_error")
    list_select_related = ("job", "endpoint__company")
    date_hierarchy = "created_at"
    fields = (
        "event_id", "event", "job", "endpoint", "status", "attempts", "next_attempt_at", "last_status_code",
        "last_error", "sent_at", "created_at", "payload",
    )
    readonly_fields = fields
    outbox = DELIVERIES

    def retried_message(self, count):
        return ngettext(
            "%(count)d webhook delivery will be sent with the next pass.",
            "%(count)d webhook deliveries will be sent with the next pass.",
            count,
        ) % {"count": count}


@admin.register(EngineWorker)
class EngineWorkerAdmin(admin.ModelAdmin):
    """The engine's processes as the database last saw them (imports.engine.workers): view only,
    like the health page that summarises them."""

    list_display = ("name", "role", "clock_offset_seconds", "last_seen_at", "last_round_at", "last_failure_at", "last_failure")
    list_filter = ("role",)
    search_fields = ("name", "last_failure")
    ordering = ("-last_seen_at",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
