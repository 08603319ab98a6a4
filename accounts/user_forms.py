"""Input of the user page's actions (RENAME, RESET PASSWORD) and of the set-password pages."""

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from .models import User

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

    def __init__(self, user: User, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        for name in ("new_password1", "new_password2"):
            self.fields[name].widget.attrs["autocomplete"] = "new-password"
