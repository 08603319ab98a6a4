"""The admin every outbox kind (core.outbox) shares: rows only their sender moves and that the
transaction deciding to send writes, so staff never add one; they can only ask for an earlier
attempt ("Retry now", through the kind's Outbox.retry_now)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.clock import db_now
from core.outbox import Outbox


class OutboxAdmin(admin.ModelAdmin):
    """Set `outbox` (the kind's Outbox) and say what "Retry now" did in retried_message()."""

    outbox: Outbox
    actions = ["retry_now"]

    def has_add_permission(self, request):
        return False

    def retried_message(self, count: int) -> str:
        raise NotImplementedError

    @admin.action(description=_("Retry now"), permissions=["change"])
    def retry_now(self, request, queryset):
        count = self.outbox.retry_now(queryset.values_list("pk", flat=True), now=db_now())
        self.message_user(request, self.retried_message(count), messages.SUCCESS)
