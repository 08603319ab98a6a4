"""Form field types of the wizard that are not Django's own."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.dates import MAX_YEAR, MIN_YEAR, YEAR_OUT_OF_RANGE, year_in_range

UTC = dt.timezone.utc
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
# What a browser's <input type="datetime-local"> sends (and shows, when given as its value).
DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
INPUT_FORMATS = (DATETIME_FORMAT, DATETIME_LOCAL_FORMAT)
DATETIME_PLACEHOLDER = _("YYYY-MM-DD HH:MM")
# Room for a pasted value with white space around it (trimmed on the server); longer is refused there.
TEXT_MAX_LENGTH = 40


def format_utc(value: dt.datetime | None) -> str:
    return value.astimezone(UTC).strftime(DATETIME_FORMAT) if value else ""


def parse_utc(value: str) -> dt.datetime | None:
    """`YYYY-MM-DD HH:MM` or `YYYY-MM-DDTHH:MM`, white space around it ignored, read as UTC; None if neither."""
    text = str(value).strip()
    for pattern in INPUT_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


class UTCDateTimeLocalInput(forms.TextInput):
    """The browser's date-time picker (<input type="datetime-local">), read and shown in UTC.

    A datetime-local input has no time zone of its own: the field's label says UTC, the value is sent
    as typed, and orders' utc_datetime.js shows the same moment in the reseller's local time beside it.
    """

    input_type = "datetime-local"


class UTCDateTimeField(forms.DateTimeField):
    """A UTC date-time, whatever the active time zone is: `YYYY-MM-DD HH:MM` typed (or pasted, white
    space around it trimmed), or `YYYY-MM-DDTHH:MM` from a date-time picker (picker=True)."""

    widget = forms.TextInput

    def __init__(self, *, picker: bool = False, **kwargs):
        if picker:
            kwargs.setdefault("widget", UTCDateTimeLocalInput)
        super().__init__(input_formats=list(INPUT_FORMATS), **kwargs)
        self.picker = picker
        if not picker:
            self.widget.attrs.setdefault("placeholder", DATETIME_PLACEHOLDER)
            self.widget.attrs.setdefault("maxlength", str(TEXT_MAX_LENGTH))
        self.widget.attrs.setdefault("autocomplete", "off")

    def prepare_value(self, value):
        pattern = DATETIME_LOCAL_FORMAT if self.picker else DATETIME_FORMAT
        if isinstance(value, dt.datetime):
            value = value if value.tzinfo else value.replace(tzinfo=UTC)
            return value.astimezone(UTC).strftime(pattern)
        if self.picker and isinstance(value, str) and (parsed := parse_utc(value)):
            return parsed.strftime(pattern)  # a picker shows nothing for "YYYY-MM-DD HH:MM" in some browsers
        return value

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip()
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        parsed = parse_utc(value)
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed

    def validate(self, value):
        super().validate(value)
        # The portal's date range (accounts.dates), with this field's own message when it has one.
        if value is not None and not year_in_range(value):
            raise ValidationError(
                self.error_messages.get("year_out_of_range", YEAR_OUT_OF_RANGE),
                code="year_out_of_range",
                params={"min": MIN_YEAR, "max": MAX_YEAR},
            )
