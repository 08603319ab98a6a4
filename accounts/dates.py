"""The range of dates a person may type anywhere in the portal (wizard, admin): 2000–2100.

A year outside it is a typo (0999, 9999), never a real billing, contract or schedule date, and
some (before 1000) cannot even be shown back in the YYYY-MM-DD format they were typed in. The rule
lives in core.datetimes (the bottom layer, with every other date-time rule); this module keeps the
name the models and their migrations import.
"""

from core.datetimes import (  # noqa: F401  (re-exported)
    MAX_YEAR,
    MIN_YEAR,
    YEAR_OUT_OF_RANGE,
    validate_portal_year,
    year_in_range,
)
