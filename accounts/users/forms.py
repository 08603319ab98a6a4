"""Input of the user page's actions (RENAME, RESET PASSWORD) and of the set-password pages."""

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from core.datetimes import UTC_ZONE, time_zone_names

from accounts.users.api_tokens import TOKEN_NAME_REQUIRED, TOKEN_NAME_TOO_LONG
from accounts.models import User

CURRENT_PASSWORD_WRONG = _("Your current password was entered incorrectly. Please enter it again.")
NAME_TOO_LONG = _("A name can have at most %(limit_value)d characters (it has %(show_value)d).")


class RenameForm(forms.Form):
    first_name = forms.CharField(
        label=_("First name"), max_length=150, required=False, error_messages={"max_length": NAME_TOO_LONG}
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=150, required=False, error_messages={"max_length": NAME_TOO_LONG}
    )


class ResetPasswordForm(SetPasswordForm):
    """A new password for another user, checked by Django's password validators (SetPasswordForm)."""

    change_at_next_login = forms.BooleanField(
        label=_("Change password in next login"), required=False, initial=True
    )

    current_password = forms.CharField(
        label=_("Current password"), strip=False, required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user: User, *args, require_current: bool = False, **kwargs):
        super().__init__(user, *args, **kwargs)
        for name in ("new_password1", "new_password2"):
            self.fields[name].widget.attrs["autocomplete"] = "new-password"
        # One's own password: the current one first (someone at an unlocked session must not take
        # the account over). Another user's: the manager does not know it.
        self.require_current = require_current
        if require_current:
            self.fields["current_password"].required = True
            self.order_fields(["current_password", "new_password1", "new_password2"])
        else:
            del self.fields["current_password"]

    def clean_current_password(self):
        current = self.cleaned_data.get("current_password", "")
        if self.require_current and not self.user.check_password(current):
            raise forms.ValidationError(CURRENT_PASSWORD_WRONG, code="password_incorrect")
        return current


class ApiTokenForm(forms.Form):
    """SECURITY tab: a new personal API token's name."""

    name = forms.CharField(
        label=_("Token name"), max_length=100, help_text=_("What will use it, e.g. “PSA sync”."),
        error_messages={"required": TOKEN_NAME_REQUIRED, "max_length": TOKEN_NAME_TOO_LONG},
    )


class NotificationSettingsForm(forms.ModelForm):
    """NOTIFICATIONS tab: which optional emails the user gets, and in which language."""

    class Meta:
        model = User
        fields = ["email_language", "notify_scheduled", "reminder_hours", "notify_window_closing", "time_zone"]
        labels = {
            "notify_window_closing": _("Cancellation window closing"),
            "email_language": _("Language of the emails"),
            "time_zone": _("Time zone"),
            "notify_scheduled": _("Your provisioning is scheduled"),
            "reminder_hours": _("Reminder before a scheduled provisioning runs"),
        }
        help_texts = {
            "notify_window_closing": _("An email two days before the cancellation window of a subscription below your company closes: the last days its seats can be reduced or it can be cancelled with a refund."),
            "email_language": _("Empty: the language of the user's company."),
            "notify_scheduled": _("An email each time a provisioning is scheduled."),
            "reminder_hours": _("Runs the pre-check again and says whether the order would fail today."),
            "time_zone": _("Date-time fields start in this zone and dates show their local time in it. Also remembered when you pick a zone beside a date-time."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email_language"].choices = [("", _("Same as the company")), *User._meta.get_field("email_language").choices]
        # The zones of core.datetimes' control; empty (no zone of its own) reads as UTC.
        self.fields["time_zone"] = forms.ChoiceField(
            label=self.fields["time_zone"].label, help_text=self.fields["time_zone"].help_text, required=False,
            choices=[("", "UTC"), *((name, name) for name in time_zone_names()[1:])],
        )
        if self.instance.time_zone == UTC_ZONE:
            self.initial["time_zone"] = ""
