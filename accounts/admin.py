"""Django admin for the company tree, users (email login) and the audit log. Made for staff."""

from axes.utils import reset as axes_reset
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.users.api_tokens import api_token_revoke, api_tokens_revoke_all
from accounts.models import (
    AccountNumber,
    ApiToken,
    AuditLogEntry,
    Company,
    User,
    WebhookEndpoint,
)
from accounts.services import COMPANY_ID_FIELDS, company_create, company_update
from accounts.webhooks import WEBHOOK_NOT_RESELLER, new_secret, validate_webhook_url
from core.stored_messages import rendered

# Why a password set here revoked the user's API tokens, in the audit entry (a stored message).
TOKENS_REVOKED_ADMIN_PASSWORD = _("password set in the admin")


def parent_chain(company: Company) -> str:
    """"INTCOMEX PERU S.A.C. > ABBIE BOX S.A.C. > ERITECH PERU S.A." (one query, from the path)."""
    if not company.pk:
        return ""
    return " > ".join([a.name for a in company.ancestors()] + [company.name])


class CompanyAdminForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left empty on a new company, the ids come from the shared ICP account-number sequence
        # (company_create). An existing company keeps its ids: emptying one is an error, not a new id.
        if self.instance.pk:
            return
        for name in COMPANY_ID_FIELDS:
            if name in self.fields:
                self.fields[name].required = False
                self.fields[name].help_text = _("Leave empty to allocate the next ICP id.")


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    form = CompanyAdminForm
    list_display = ("name", "account_id", "numeric_id", "kind", "status", "parent", "country", "created_at")
    list_display_links = ("name",)
    list_filter = ("kind", "status", "country", "is_billable")
    list_select_related = ("parent",)
    search_fields = ("name", "account_id__exact", "numeric_id__exact", "domain", "email", "contact_person")
    autocomplete_fields = ("parent",)
    readonly_fields = ("parent_chain", "depth", "created_at")
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("name", "kind", "status", "parent", "parent_chain", "depth", "account_id", "numeric_id")}),
        (_("Company details"), {"fields": ("domain", "vat_id")}),
        (
            _("Account information"),
            {"fields": ("language", "sales_manager", "marketplace", "send_to_backend", "create_user_id_service")},
        ),
        (_("Contract details"), {"fields": ("contract_id", "customer_id", "contract_end_date")}),
        (
            _("Contact details"),
            {
                "fields": (
                    "address",
                    "city",
                    "country",
                    "zip_code",
                    "email",
                    "contact_phone",
                    "contact_person",
                    "technical_contact",
                    "technical_account_manager",
                    "technical_contact_email",
                )
            },
        ),
        (
            _("Payment details"),
            {"fields": ("billing_start_date", "is_billable", "currency", "bank_name", "bank_identifier_code")},
        ),
        (_("Record"), {"fields": ("created_at",)}),
    )

    @admin.display(description=_("parent chain"))
    def parent_chain(self, obj):
        return parent_chain(obj)

    def save_model(self, request, obj, form, change):
        # The form has validated; the services write (ids, tree path, audit log) as for every caller.
        if change:
            company_update(company=obj, actor=request.user, **form.cleaned_data)
            return
        company = company_create(actor=request.user, **form.cleaned_data)
        # The admin goes on with `obj` (its history entry, the redirect to the change page): make it the saved company.
        obj.pk = company.pk
        obj._state.adding = False
        obj.refresh_from_db()


class EmailUserCreationForm(AdminUserCreationForm):
    """Add form for the email-login user: email, company and the password pair."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "company")
        field_classes = {}


class EmailUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes = {}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    list_display = ("email", "first_name", "last_name", "company", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    list_select_related = ("company",)
    search_fields = ("email", "first_name", "last_name", "company__name")
    ordering = ("email",)
    autocomplete_fields = ("company",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "company")}),
        (
            _("Contact information"),
            {
                "classes": ("collapse",),
                "fields": (
                    "address", "city", "country", "zip_code", "phone", "manager", "fax", "mobile",
                    "department", "office", "home_phone", "job_title",
                ),
            },
        ),
        (
            _("Login information"),
            {"fields": ("primary_identity", "must_change_password", "password_expires_at")},
        ),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    actions = ("unlock_login",)

    # Who holds which powers is a superuser's decision: staff with change_user may edit reseller
    # users, never grant themselves (or anyone) staff, superuser, groups or permissions.
    PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += [name for name in self.PRIVILEGE_FIELDS if name not in fields]
        return fields

    def has_change_permission(self, request, obj=None):
        """A superuser, and another staff member, are changed (password included: the admin's
        password view asks this too) only by a superuser; a non-superuser sees them read-only."""
        if (
            obj is not None
            and not request.user.is_superuser
            and (obj.is_superuser or obj.is_staff)
            and obj.pk != request.user.pk
        ):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not request.user.is_superuser and (obj.is_superuser or obj.is_staff):
            return False
        return super().has_delete_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        """The admin's password form; a new password set here revokes the user's API tokens, as a
        reset on the user page does."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            if user is not None:
                api_tokens_revoke_all(actor=request.user, user=user, reason=TOKENS_REVOKED_ADMIN_PASSWORD)
        return response

    @admin.action(description=_("Unblock login (clear failed login attempts)"))
    def unlock_login(self, request, queryset):
        # django-axes keeps the failures per account; clearing them ends a lockout at once. The
        # AccessAttempt admin (Axes) does the same per address.
        cleared = sum(axes_reset(username=user.email) for user in queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d failed login attempt record cleared.",
                "%(count)d failed login attempt records cleared.",
                cleared,
            )
            % {"count": cleared},
            messages.SUCCESS,
        )

    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "company", "usable_password", "password1", "password2"),
            },
        ),
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by code: staff may look, never add, edit or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "company", "actor", "impersonator", "action", "message_text")
    list_filter = ("action", "created_at")
    list_select_related = ("company", "actor", "impersonator")
    search_fields = (
        "company__name", "company__account_id__exact", "actor__email", "impersonator__email", "action", "message"
    )
    date_hierarchy = "created_at"

    @admin.display(description=_("message"))
    def message_text(self, entry):
        """The message in the staff member's language (core.stored_messages), not its stored form."""
        return rendered(entry.message)


@admin.register(AccountNumber)
class AccountNumberAdmin(ReadOnlyAdmin):
    list_display = ("id",)
    search_fields = ("id__exact",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Personal API tokens: created by their user (SECURITY tab) or `manage.py api_token`, since the
    token is shown only then; staff see them and can revoke them."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "created_at")
    list_select_related = ("user",)
    search_fields = ("name", "user__email", "prefix")
    exclude = ("key_hash",)
    autocomplete_fields = ("user",)
    actions = ("revoke",)

    @admin.action(description=_("Revoke the selected API tokens"))
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(actor=request.user, token_id=token.pk)
            revoked += 1
        self.message_user(
            request,
            ngettext("%(count)d API token revoked.", "%(count)d API tokens revoked.", revoked) % {"count": revoked},
            messages.SUCCESS,
        )


class WebhookEndpointAdminForm(forms.ModelForm):
    """The same rules as the SECURITY tab: a reseller company, an https:// URL."""

    url = forms.URLField(label=_("webhook URL"), max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ("company", "url", "is_active")

    def clean_url(self):
        return validate_webhook_url(self.cleaned_data.get("url", ""))

    def clean_company(self):
        company = self.cleaned_data.get("company")
        if company is not None and company.kind != Company.Kind.RESELLER:
            raise forms.ValidationError(WEBHOOK_NOT_RESELLER)
        return company


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointAdminForm
    list_display = ("company", "url", "is_active", "updated_at")
    list_filter = ("is_active",)
    list_select_related = ("company",)
    search_fields = ("company__name", "url")
    autocomplete_fields = ("company",)
    fields = ("company", "url", "is_active", "secret", "created_at", "updated_at")
    readonly_fields = ("secret", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        if not obj.secret:  # generated by the portal, never typed in
            obj.secret = new_secret()
        super().save_model(request, obj, form, change)
