"""Django admin for the catalog: vendors, services, terms, price lists (items inline) and acceptances."""

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdmin

from .integrations.base import registered_keys
from .models import (
    Category,
    PriceList,
    PriceListAssignment,
    PriceListItem,
    Service,
    Tag,
    TermsAcceptance,
    TermsAndConditions,
    Vendor,
    VendorCall,
    VendorCircuit,
    VendorTenantBudget,
    VendorTenantPause,
)


class VendorAdminForm(forms.ModelForm):
    class Meta:
        model = Vendor
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only registered integrations make sense; a typo would silently disable the vendor's checks.
        keys = registered_keys()
        current = self.instance.integration
        if current and current not in keys:  # keep an unknown stored key visible rather than dropping it
            keys.append(current)
        choices = [("", _("None"))] + [(key, key) for key in keys]
        self.fields["integration"] = forms.ChoiceField(
            label=Vendor._meta.get_field("integration").verbose_name, choices=choices, required=False
        )


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    form = VendorAdminForm
    list_display = ("name", "integration", "service_count")
    list_filter = ("integration",)
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_service_count=Count("services"))

    @admin.display(description=_("services"), ordering="_service_count")
    def service_count(self, obj):
        return obj._service_count


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(TermsAndConditions)
class TermsAndConditionsAdmin(admin.ModelAdmin):
    list_display = ("title", "version", "created_at")
    list_filter = ("title",)
    search_fields = ("title", "text", "text_es")
    readonly_fields = ("created_at",)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "vendor", "category", "active", "once_per_account", "max_quantity")
    list_filter = ("active", "once_per_account", "vendor", "category", "tags")
    list_select_related = ("vendor", "category")
    search_fields = ("name", "code", "description")
    autocomplete_fields = ("vendor", "category", "tags", "dependencies", "upgrades_to", "terms")
    fieldsets = (
        (None, {"fields": ("name", "code", "description", "vendor", "category", "tags")}),
        (_("Ordering rules"), {"fields": ("active", "once_per_account", "max_quantity", "dependencies", "terms")}),
        (_("Vendor integration"), {"fields": ("integration_options",)}),
    )


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 0
    autocomplete_fields = ("service",)
    fields = ("service", "term", "billing_frequency", "effective_from", "cost", "selling_price", "currency")
    ordering = ("service__name", "term", "-effective_from")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("service")


class PriceListAssignmentInline(admin.TabularInline):
    model = PriceListAssignment
    extra = 0
    autocomplete_fields = ("company",)
    verbose_name_plural = _("assigned to")


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "currency", "item_count", "assignment_count")
    list_filter = ("currency",)
    list_select_related = ("owner",)
    search_fields = ("name", "owner__name")
    autocomplete_fields = ("owner",)
    inlines = (PriceListItemInline, PriceListAssignmentInline)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_item_count=Count("items", distinct=True), _assignment_count=Count("assignments", distinct=True))
        )

    @admin.display(description=_("items"), ordering="_item_count")
    def item_count(self, obj):
        return obj._item_count

    @admin.display(description=_("companies"), ordering="_assignment_count")
    def assignment_count(self, obj):
        return obj._assignment_count


@admin.register(PriceListItem)
class PriceListItemAdmin(admin.ModelAdmin):
    list_display = ("service", "price_list", "term", "billing_frequency", "effective_from", "cost", "selling_price", "currency")
    list_filter = ("term", "billing_frequency", "price_list", "currency")
    list_select_related = ("service", "price_list")
    search_fields = ("service__name", "service__code", "price_list__name")
    autocomplete_fields = ("price_list", "service")
    date_hierarchy = "effective_from"


@admin.register(PriceListAssignment)
class PriceListAssignmentAdmin(admin.ModelAdmin):
    list_display = ("company", "price_list")
    list_filter = ("price_list",)
    list_select_related = ("company", "price_list")
    search_fields = ("company__name", "company__account_id__exact", "price_list__name")
    autocomplete_fields = ("company", "price_list")


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(admin.ModelAdmin):
    list_display = ("price_list", "service", "terms", "accepted_by", "accepted_at")
    list_filter = ("price_list", "terms")
    list_select_related = ("price_list", "service", "terms", "accepted_by")
    search_fields = ("price_list__name", "service__name", "service__code", "accepted_by__email")
    autocomplete_fields = ("price_list", "service", "terms", "accepted_by")
    readonly_fields = ("accepted_at",)
    date_hierarchy = "accepted_at"


@admin.register(VendorCall)
class VendorCallAdmin(ReadOnlyAdmin):
    """Every call to a vendor's API as the connector's observer recorded it (catalog.integrations.calls):
    read-only, a log. Search by the MS-CorrelationId or MS-RequestId a reseller or Microsoft quotes."""

    list_display = ("at", "company", "integration", "operation", "method", "status_code", "outcome", "duration_ms", "correlation_id")
    list_filter = ("outcome", "integration", "operation", ("company", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=correlation_id", "=request_id")
    list_select_related = ("company",)
    # Read-only, so never typed; declared like every company field of the admin (no 10,000-row select).
    autocomplete_fields = ("company",)
    date_hierarchy = "at"
    fields = (
        "at", "company", "integration", "operation", "method", "path", "status_code", "outcome", "detail",
        "request_id", "correlation_id", "duration_ms",
    )
    readonly_fields = fields


@admin.register(VendorTenantPause)
class VendorTenantPauseAdmin(ReadOnlyAdmin):
    """Customer tenants paused after the vendor's rate limit (catalog.integrations.pauses): read-only."""

    list_display = ("integration", "customer_id", "until")
    list_filter = ("integration",)
    search_fields = ("=customer_id",)


@admin.register(VendorTenantBudget)
class VendorTenantBudgetAdmin(ReadOnlyAdmin):
    """Requests reserved per customer tenant and slot (catalog.integrations.budget): read-only."""

    list_display = ("integration", "customer_id", "slot_start", "count")
    list_filter = ("integration",)
    search_fields = ("=customer_id",)


@admin.register(VendorCircuit)
class VendorCircuitAdmin(ReadOnlyAdmin):
    """Each integration's circuit (catalog.integrations.circuit): read-only."""

    list_display = ("integration", "opened_at", "probe_at", "probe_failures", "failures", "closed_at")
