"""The range of dates a person may type anywhere in the portal (wizard, admin): 2000–2100.

A year outside it is a typo (0999, 9999), never a real billing, contract or schedule date, and
some (before 1000) cannot even be shown back in the YYYY-MM-DD format they were typed in. Lives in
accounts, the lowest app, so every app's models and forms share the one rule.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MIN_YEAR, MAX_YEAR = 2000, 2100
YEAR_OUT_OF_RANGE = _("Enter a date between the years %(min)s and %(max)s.")


def year_in_range(value: dt.date | dt.datetime) -> bool:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return MIN_YEAR <= value.year <= MAX_YEAR


def validate_portal_year(value) -> None:
    """Model field validator (admin forms and full_clean in services)."""
    if value is not None and not year_in_range(value):
        raise ValidationError(YEAR_OUT_OF_RANGE, code="year_out_of_range", params={"min": MIN_YEAR, "max": MAX_YEAR})
