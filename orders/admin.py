"""Django admin for draft/submitted orders and subscriptions. Made for staff."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdmin
from accounts.services import account_ids_allocate

from .changes.describe import change_text
from .models import Order, Subscription, SubscriptionChange


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ("name", "account_id", "quantity", "status", "created_at")
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("uuid", "company", "service", "status", "quantity", "scheduled_for", "created_by", "created_at")
    list_filter = ("status", "term", "billing_frequency", "created_at")
    list_select_related = ("company", "service", "created_by")
    search_fields = ("uuid", "company__name", "company__account_id__exact", "service__name", "created_by__email")
    autocomplete_fields = ("company", "service", "created_by")
    # Status moves belong to the wizard's services (order_schedule); staff only read them here.
    readonly_fields = ("uuid", "status", "submitted_at", "configured_at", "created_at", "updated_at")
    date_hierarchy = "created_at"
    inlines = (SubscriptionInline,)
    fieldsets = (
        (None, {"fields": ("uuid", "company", "created_by", "status", "service")}),
        (
            _("Configuration"),
            {
                "fields": (
                    "configured_at",
                    "subscription_name",
                    "quantity",
                    "term",
                    "billing_frequency",
                    "send_to_backend",
                    "notify_me",
                    "billing_start_date",
                    "is_billable",
                    "contract_id",
                    "vendor_config",
                )
            },
        ),
        (_("Order review"), {"fields": ("scheduled_for", "submitted_at", "created_at", "updated_at")}),
    )

    def has_change_permission(self, request, obj=None):
        # A submitted order is view-only: every field shows read-only and a POST is refused, since
        # its import job provisions exactly what was submitted. A draft may still be corrected.
        if obj is not None and not obj.is_editable:
            return False
        return super().has_change_permission(request, obj)


class SubscriptionAdminForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "account_id" in self.fields and not self.instance.pk:
            # Left empty, the id comes from the shared ICP account-number sequence (see save_model).
            self.fields["account_id"].required = False
            self.fields["account_id"].help_text = _("Leave empty to allocate the next ICP id.")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionAdminForm
    list_display = (
        "name",
        "account_id",
        "company",
        "service",
        "quantity",
        "term",
        "billing_frequency",
        "unit_price",
        "currency",
        "status",
        "created_at",
    )
    list_filter = ("status", "term", "billing_frequency", "service__vendor", "currency")
    list_select_related = ("company", "service")
    search_fields = ("name", "account_id__exact", "company__name", "company__account_id__exact", "service__name", "service__code")
    autocomplete_fields = ("company", "service", "order")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:  # registering an existing subscription by hand: its prices are typed once
            return ("provisioning_key", "created_at")
        # Prices are captured from the price list when the subscription is created; they are history, not settings.
        return ("account_id", "unit_cost", "unit_price", "currency", "provisioning_key", "created_at")

    def save_model(self, request, obj, form, change):
        if not change and obj.account_id is None:
            obj.account_id = account_ids_allocate(count=1)[0]
        super().save_model(request, obj, form, change)


@admin.register(SubscriptionChange)
class SubscriptionChangeAdmin(ReadOnlyAdmin):
    """Scheduled changes are written by their services only (the rules, the engine, the sync): staff look."""

    list_display = ("id", "subscription", "description", "status", "due_at", "created_by", "created_at")
    list_filter = ("status", "kind", "when")
    list_select_related = ("subscription", "service", "created_by")
    autocomplete_fields = ("subscription", "service", "replaced_by", "created_by")
    search_fields = ("subscription__name", "subscription__account_id__exact", "subscription__company__name")
    date_hierarchy = "due_at"

    @admin.display(description=_("change"))
    def description(self, change):
        return change_text(change)
