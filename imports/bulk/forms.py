"""Input of the IMPORT ACCOUNTS page."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.datetimes import ZonedDateTimeField, ZonedForm
from orders.validation import schedule_time_error

from imports.models import ImportJob
from imports.bulk.files import FILE_EMPTY, FILE_TOO_BIG, MAX_BYTES

ACCOUNT_TYPE_REQUIRED = _("Choose the account type to import: Companies, Products, Users or Changes.")
FILE_REQUIRED = _("Choose the file to upload (CSV or Excel .xlsx).")
SCHEDULE_INVALID = _("Enter the schedule date as YYYY-MM-DD HH:MM, e.g. 2024-08-01 10:00, or leave it empty.")
TERMS_REQUIRED = _("Accept the terms and conditions listed above to start the import.")
AGAIN_REQUIRED = _("Confirm that you want to import the same file again.")

# Companies first, as in the manual's list; the model's order is the wizard's (Products first).
ACCOUNT_TYPES = [
    (ImportJob.AccountType.COMPANIES, _("Companies")),
    (ImportJob.AccountType.PRODUCTS, _("Products")),
    (ImportJob.AccountType.USERS, _("Users")),
    # Scheduled changes to live subscriptions (issue 27): one change a line.
    (ImportJob.AccountType.CHANGES, _("Changes")),
]


class BulkImportForm(ZonedForm, forms.Form):
    account_type = forms.ChoiceField(
        label=_("Account type"), choices=ACCOUNT_TYPES, widget=forms.RadioSelect,
        error_messages={"required": ACCOUNT_TYPE_REQUIRED, "invalid_choice": ACCOUNT_TYPE_REQUIRED},
    )
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (UTF-8, comma or semicolon) or Excel .xlsx; at most 5,000 lines and 5 MB."),
        error_messages={"required": FILE_REQUIRED, "empty": FILE_EMPTY, "invalid": FILE_REQUIRED, "missing": FILE_REQUIRED},
    )
    due_at = ZonedDateTimeField(
        label=_("Schedule date"), required=False,
        help_text=_("YYYY-MM-DD HH:MM in the time zone beside it; leave it empty to import as soon as possible."),
        error_messages={"invalid": SCHEDULE_INVALID},
    )

    def __init__(self, *args, now: dt.datetime, too_big: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        self.too_big = too_big  # the body was over UPLOAD_MAX_BODY_BYTES: its file was dropped unread
        self.fields["file"].widget.attrs["accept"] = ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def full_clean(self):
        super().full_clean()
        if self.too_big:
            # A file was sent, too big to be kept: say so, not "choose the file".
            self._errors["file"] = self.error_class([FILE_TOO_BIG])
            self.cleaned_data.pop("file", None)

    def clean_due_at(self):
        value = self.cleaned_data["due_at"]
        if value is not None and (error := schedule_time_error(value, now=self.now)):
            raise ValidationError(error, code="out_of_range")
        return value

    def content(self) -> bytes:
        """The file's bytes, one more than the limit at most (the check then says it is too big)."""
        upload = self.cleaned_data["file"]
        upload.seek(0)
        return upload.read(MAX_BYTES + 1)


class ConfirmForm(forms.Form):
    accept_terms = forms.BooleanField(label=_("I accept these terms and conditions"), required=False)
    import_again = forms.BooleanField(label=_("Import this file again"), required=False)
