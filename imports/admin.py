from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.outbox_admin import OutboxAdmin
from imports.jobs.services import import_cancel
from imports.models import EngineWorker, ImportJob, ImportRow, Notification, WebhookDelivery
from imports.notify.outbox import NOTIFICATIONS
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
    inlines = [ImportRowInline, NotificationInline]
    actions = ["cancel_pending"]

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
