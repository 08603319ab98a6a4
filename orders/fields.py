"""Form field types of the wizard that are not Django's own."""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError

from accounts.dates import MAX_YEAR, MIN_YEAR, YEAR_OUT_OF_RANGE, year_in_range

UTC = dt.timezone.utc
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
DATETIME_PLACEHOLDER = "YYYY-MM-DD HH:MM"


def format_utc(value: dt.datetime | None) -> str:
    return value.astimezone(UTC).strftime(DATETIME_FORMAT) if value else ""


class UTCDateTimeField(forms.DateTimeField):
    """A `YYYY-MM-DD HH:MM` text field read as UTC, whatever the active time zone is.

    The manual's fields are plain UTC text; a datetime-local widget would use the browser's zone.
    """

    widget = forms.TextInput

    def __init__(self, **kwargs):
        super().__init__(input_formats=[DATETIME_FORMAT], **kwargs)
        self.widget.attrs.setdefault("placeholder", DATETIME_PLACEHOLDER)
        self.widget.attrs.setdefault("maxlength", "16")
        self.widget.attrs.setdefault("autocomplete", "off")

    def prepare_value(self, value):
        if isinstance(value, dt.datetime):
            return format_utc(value if value.tzinfo else value.replace(tzinfo=UTC))
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            parsed = dt.datetime.strptime(str(value).strip(), DATETIME_FORMAT)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return parsed.replace(tzinfo=UTC)

    def validate(self, value):
        super().validate(value)
        # The portal's date range (accounts.dates), with this field's own message when it has one.
        if value is not None and not year_in_range(value):
            raise ValidationError(
                self.error_messages.get("year_out_of_range", YEAR_OUT_OF_RANGE),
                code="year_out_of_range",
                params={"min": MIN_YEAR, "max": MAX_YEAR},
            )
