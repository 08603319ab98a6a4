"""Input of My imports' actions (the list's own address is parsed by imports.my_imports.listing)."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.datetimes import ZonedDateTimeField, ZonedForm
from orders.validation import schedule_time_error

RESCHEDULE_INVALID = _("Enter the new schedule time as YYYY-MM-DD HH:MM, e.g. 2024-08-01 10:00.")


class RescheduleForm(ZonedForm, forms.Form):
    """Reschedule: the new time (typed in a time zone, stored in UTC), under the rules of the wizard's Schedule provisioning field
    (orders.validation.schedule_time_error); imports.jobs.services.import_reschedule checks it again."""

    due_at = ZonedDateTimeField(
        label=_("New schedule time"),
        help_text=_("YYYY-MM-DD HH:MM in the time zone beside it, at most 365 days ahead."),
        error_messages={"invalid": RESCHEDULE_INVALID, "required": RESCHEDULE_INVALID},
    )

    def __init__(self, *args, now: dt.datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now

    def clean_due_at(self) -> dt.datetime:
        value = self.cleaned_data["due_at"]
        if error := schedule_time_error(value, now=self.now):
            raise ValidationError(error, code="out_of_range")
        return value
