"""The wizard's date-time fields and formats: they live in core.datetimes (one home for every form
of every app); the names stay importable from here for the callers that always used them."""

from core.datetimes import (  # noqa: F401  (re-exported)
    DATETIME_FORMAT,
    DATETIME_PLACEHOLDER,
    INPUT_FORMATS,
    MAX_YEAR,
    MIN_YEAR,
    TEXT_MAX_LENGTH,
    UTC,
    YEAR_OUT_OF_RANGE,
    UTCDateTimeField,
    ZonedDateTimeField,
    format_utc,
    parse_utc,
    year_in_range,
)
