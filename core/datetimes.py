"""The one home of date-times typed and shown by people.

- Shown: `utc_text` ("2027-01-04 23:47 UTC") and `local_text` ("2027-01-04 18:47 UTC-5"), the same
  order and format everywhere (core/templatetags/datetimes.py renders a cell with both lines;
  static/js/datetimes.js writes the local line in the browser's zone when the user has none).
- Typed: `ZonedDateTimeField`, an ISO `YYYY-MM-DD HH:MM` text box with a time-zone choice beside it
  (UTC by default, the user's own zone when it has one). The zone goes in `<name>_tz`, so the text
  keeps the POST key the views and the API have always read; the cleaned value is always UTC.
  A wrong zone, a bad format, a local time the clocks skip (DST gap) or one they show twice (DST
  fold) is a message on the field, never an exception.
- `UTCDateTimeField`: the same text, always UTC, for values with no zone choice (a file's cells).

The portal's year range (2000–2100) lives here too, the bottom layer, so every app shares it
(accounts.dates re-exports it for the models).
"""

import datetime as dt
import functools
import re
import zoneinfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

UTC = dt.timezone.utc
UTC_ZONE = "UTC"
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
# Also read: the separator of ISO 8601 and of the browsers' datetime-local value (pasted, or the API).
INPUT_FORMATS = (DATETIME_FORMAT, "%Y-%m-%dT%H:%M")
DATETIME_PLACEHOLDER = _("YYYY-MM-DD HH:MM")
# Room for a pasted value with white space around it (trimmed here); longer is refused.
TEXT_MAX_LENGTH = 40
ZONE_SUFFIX = "_tz"

MIN_YEAR, MAX_YEAR = 2000, 2100
YEAR_OUT_OF_RANGE = _("Enter a date between the years %(min)s and %(max)s.")
DATETIME_INVALID = _("Enter the date and time as YYYY-MM-DD HH:MM, e.g. 2024-08-01 10:00.")
TIME_ZONE_INVALID = _("Choose a time zone from the list (for example UTC or America/Lima).")
TIME_NONEXISTENT = _(
    "%(value)s does not exist in %(zone)s: the clocks skip that hour when daylight saving time starts. "
    "Enter a time after %(after)s."
)
TIME_AMBIGUOUS = _(
    "%(value)s happens twice in %(zone)s (the clocks go back): at %(first)s and at %(second)s. "
    "Choose UTC as the time zone and enter the one you mean."
)
STORED_AS = _("Stored as %(utc)s")

# The areas of the IANA database a person picks from; the rest are legacy aliases (US/Eastern, Cuba...).
_AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """UTC first, then every Area/Location zone of zoneinfo, sorted."""
    names = sorted(name for name in zoneinfo.available_timezones() if name.split("/", 1)[0] in _AREAS and "/" in name)
    return (UTC_ZONE, *names)


@functools.cache
def _zone_set() -> frozenset[str]:
    return frozenset(time_zone_names())


def is_time_zone(name) -> bool:
    return isinstance(name, str) and name in _zone_set()


def validate_time_zone(value) -> None:
    """Model field validator: empty (UTC) or a zone of the list."""
    if value and not is_time_zone(value):
        raise ValidationError(TIME_ZONE_INVALID, code="invalid_zone")


def zone_or_utc(name) -> str:
    return name if is_time_zone(name) else UTC_ZONE


def year_in_range(value: dt.date | dt.datetime) -> bool:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)
    return MIN_YEAR <= value.year <= MAX_YEAR


def validate_portal_year(value) -> None:
    """Model field validator (admin forms and full_clean in services)."""
    if value is not None and not year_in_range(value):
        raise ValidationError(YEAR_OUT_OF_RANGE, code="year_out_of_range", params={"min": MIN_YEAR, "max": MAX_YEAR})


# --- shown ------------------------------------------------------------------------------------------


def format_utc(value: dt.datetime | None) -> str:
    """`YYYY-MM-DD HH:MM` in UTC (a naive value is taken as UTC); empty for None."""
    if not value:
        return ""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).strftime(DATETIME_FORMAT)


def utc_text(value: dt.datetime | None) -> str:
    """`YYYY-MM-DD HH:MM UTC`: how every date-time reads in the portal and its emails."""
    return f"{format_utc(value)} UTC" if value else ""


def zone_abbreviation(local: dt.datetime) -> str:
    """EST, CET...; an offset where the zone has no letters (America/Lima's "-05" → "UTC-5")."""
    name = local.strftime("%Z")
    if name and not re.fullmatch(r"[+-]\d+|UTC|GMT", name):
        return name
    minutes = int(local.utcoffset().total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")


def local_text(value: dt.datetime | None, zone: str) -> str:
    """`YYYY-MM-DD HH:MM` + abbreviation in `zone`; empty for None, or when the zone is UTC."""
    if not value or not is_time_zone(zone) or zone == UTC_ZONE:
        return ""
    local = value.astimezone(zoneinfo.ZoneInfo(zone))
    return f"{local.strftime(DATETIME_FORMAT)} {zone_abbreviation(local)}"


# --- typed ------------------------------------------------------------------------------------------


def parse_naive(value) -> dt.datetime | None:
    """`YYYY-MM-DD HH:MM` or `YYYY-MM-DDTHH:MM`, white space around it ignored; None if neither."""
    text = str(value).strip()
    if len(text) > TEXT_MAX_LENGTH:
        return None
    for pattern in INPUT_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def parse_utc(value) -> dt.datetime | None:
    """The text read as UTC; None if it is not a date-time."""
    naive = parse_naive(value)
    return naive.replace(tzinfo=UTC) if naive else None


def _exists(naive: dt.datetime, tz: zoneinfo.ZoneInfo) -> bool:
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def local_to_utc(naive: dt.datetime, zone: str) -> dt.datetime:
    """A wall-clock time in `zone` → the UTC moment. ValidationError when the clocks skip it (gap)
    or show it twice (fold): guessing either way would schedule an hour off without saying so."""
    if zone == UTC_ZONE:
        return naive.replace(tzinfo=UTC)
    tz = zoneinfo.ZoneInfo(zone)
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    params = {"value": naive.strftime(DATETIME_FORMAT), "zone": zone}
    if not _exists(naive, tz):
        after = naive
        for _minute in range(24 * 60):  # the first wall-clock minute after the gap (most are an hour)
            after += dt.timedelta(minutes=1)
            if _exists(after, tz):
                break
        raise ValidationError(TIME_NONEXISTENT, code="nonexistent", params={**params, "after": after.strftime("%H:%M")})
    if early.utcoffset() != late.utcoffset():
        first, second = sorted((early.astimezone(UTC), late.astimezone(UTC)))
        raise ValidationError(
            TIME_AMBIGUOUS, code="ambiguous", params={**params, "first": utc_text(first), "second": utc_text(second)}
        )
    return early.astimezone(UTC)


def parse_zoned(text, zone) -> dt.datetime:
    """The one parse + conversion of a typed date-time and its zone (empty zone: UTC).
    ValidationError codes: invalid, invalid_zone, nonexistent, ambiguous."""
    zone = zone or UTC_ZONE
    if not is_time_zone(zone):
        raise ValidationError(TIME_ZONE_INVALID, code="invalid_zone")
    naive = parse_naive(text)
    if naive is None:
        raise ValidationError(DATETIME_INVALID, code="invalid")
    return local_to_utc(naive, zone)


def _check_year(field: forms.Field, value: dt.datetime | None) -> None:
    # The portal's date range, with the field's own message when it has one.
    if value is not None and not year_in_range(value):
        raise ValidationError(
            field.error_messages.get("year_out_of_range", YEAR_OUT_OF_RANGE),
            code="year_out_of_range",
            params={"min": MIN_YEAR, "max": MAX_YEAR},
        )


def _text_attrs(attrs: dict) -> dict:
    attrs.setdefault("placeholder", DATETIME_PLACEHOLDER)
    attrs.setdefault("maxlength", str(TEXT_MAX_LENGTH))
    attrs.setdefault("autocomplete", "off")
    attrs.setdefault("spellcheck", "false")
    return attrs


class UTCDateTimeField(forms.DateTimeField):
    """A UTC date-time typed as `YYYY-MM-DD HH:MM` (or with a T), whatever the active time zone is,
    for values that come with no zone choice (a file's cells)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs=_text_attrs({})))
        super().__init__(input_formats=list(INPUT_FORMATS), **kwargs)

    def prepare_value(self, value):
        if isinstance(value, dt.datetime):
            return format_utc(value)
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
        _check_year(self, value)


class ZonedDateTimeWidget(forms.MultiWidget):
    """The text box (`<name>`) and the zone choice (`<name>_tz`), with the UTC result under them
    (rendered here when it can be read; static/js/datetimes.js updates it as the reseller types)."""

    template_name = "core/widgets/zoned_datetime.html"

    def __init__(self, attrs=None):
        text = forms.TextInput(attrs=_text_attrs({"class": "dt-text", "inputmode": "numeric"}))
        zone = forms.Select(attrs={"class": "dt-zone"}, choices=[(name, name) for name in time_zone_names()])
        super().__init__({"": text, ZONE_SUFFIX.lstrip("_"): zone}, attrs)  # MultiWidget adds the "_"
        self.default_zone = UTC_ZONE

    def decompress(self, value):
        """An initial value (a datetime, or UTC text) shown in the default zone."""
        zone = self.default_zone
        if isinstance(value, str):
            value = parse_utc(value) or value
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            return [aware.astimezone(zoneinfo.ZoneInfo(zone)).strftime(DATETIME_FORMAT), zone]
        return [value or "", zone]

    def value_from_datadict(self, data, files, name):
        text, zone = super().value_from_datadict(data, files, name)
        # No zone sent (the API, an old form, a test's POST): UTC, as the value always was.
        return [text, zone or UTC_ZONE]

    def value_omitted_from_data(self, data, files, name):
        return name not in data

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        text, zone = value if isinstance(value, (list, tuple)) else self.decompress(value)
        try:
            utc = parse_zoned(text, zone) if str(text or "").strip() else None
        except ValidationError:
            utc = None
        widget = context["widget"]
        # The text box keeps the field's own id (its label, the tests, the error's aria), the zone <id>_tz.
        base_id = widget["attrs"].get("id", "")
        text_widget, zone_widget = widget["subwidgets"]
        if base_id:
            text_widget["attrs"]["id"], zone_widget["attrs"]["id"] = base_id, base_id + ZONE_SUFFIX
            described = text_widget["attrs"].get("aria-describedby", "")
            text_widget["attrs"]["aria-describedby"] = f"{described} {base_id}_utc".strip()
        widget["utc_text"] = STORED_AS % {"utc": utc_text(utc)} if utc else ""
        widget["base_id"] = base_id
        # The template writes the ~450 options itself, one short line each (Django's select template
        # would send 30 kB of white space per control).
        widget["zone_name"] = zone_widget["name"]
        widget["zone_selected"] = zone if is_time_zone(zone) else UTC_ZONE
        widget["zones"] = time_zone_names()
        return context

    def id_for_label(self, id_):
        return id_  # the label names the text box; the zone has its own (the template's aria-label)


class ZonedDateTimeField(forms.Field):
    """`YYYY-MM-DD HH:MM` in a zone picked beside it → an aware UTC datetime (see parse_zoned).

    Data may also be a plain string (the saved configuration re-validated, the API): read as UTC.
    Error messages (override per form): invalid, invalid_zone, nonexistent, ambiguous, required,
    year_out_of_range.
    """

    widget = ZonedDateTimeWidget
    default_error_messages = {
        "invalid": DATETIME_INVALID,
        "invalid_zone": TIME_ZONE_INVALID,
        "nonexistent": TIME_NONEXISTENT,
        "ambiguous": TIME_AMBIGUOUS,
    }

    def set_default_zone(self, zone) -> None:
        """The zone shown first (the user's own): a fresh form's initial value is shown in it."""
        self.widget.default_zone = zone_or_utc(zone)

    @staticmethod
    def split(value) -> tuple[str, str]:
        if isinstance(value, (list, tuple)):
            text, zone = (list(value) + ["", ""])[:2]
        else:
            text, zone = value, UTC_ZONE
        return ("" if text is None else str(text)).strip(), (zone or UTC_ZONE)

    def to_python(self, value):
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        text, zone = self.split(value)
        if text in self.empty_values:
            return None
        try:
            return parse_zoned(text, zone)
        except ValidationError as error:
            message = self.error_messages.get(error.code, error.message)
            raise ValidationError(message, code=error.code, params=error.params) from None

    def validate(self, value):
        super().validate(value)
        _check_year(self, value)

    def has_changed(self, initial, data):
        return self.to_python(initial) != self._safe(data)

    def _safe(self, data):
        try:
            return self.to_python(data)
        except ValidationError:
            return data


class ZonedForm:
    """Mixin of every form with a ZonedDateTimeField: `time_zone=` (the user's own) is the zone a
    fresh form shows; after is_valid(), `chosen_zone` is the valid zone the user picked with a
    filled date-time (to remember it: accounts.users.services.user_time_zone_remember), else None."""

    chosen_zone: str | None = None

    def __init__(self, *args, time_zone: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone = zone_or_utc(time_zone)
        self.apply_time_zone()

    def apply_time_zone(self) -> None:
        """Call again after adding fields (ConfigurationForm adds its own)."""
        for field in self.fields.values():
            if isinstance(field, ZonedDateTimeField):
                field.set_default_zone(self.time_zone)

    def full_clean(self):
        super().full_clean()
        self.chosen_zone = self.chosen_time_zone()

    def chosen_time_zone(self) -> str | None:
        """The valid zone sent with a filled date-time field, or None (nothing to remember). Data
        without the zone (the API, a saved value re-validated) chose nothing."""
        if not self.is_bound:
            return None
        for name, field in self.fields.items():
            key = self.add_prefix(name)
            if isinstance(field, ZonedDateTimeField) and key + ZONE_SUFFIX in self.data:
                text, zone = field.split(field.widget.value_from_datadict(self.data, self.files, key))
                if text and is_time_zone(zone):
                    return zone
        return None

    def show_saved_in_own_zone(self) -> None:
        """Bound to saved UTC values (a step shown again): show them in the user's zone, as a fresh
        form would, so posting the step back keeps the zone. A value the clocks show twice there
        (DST fold) stays in UTC."""
        if not self.is_bound or self.time_zone == UTC_ZONE:
            return
        data = self.data.copy()
        for name, field in self.fields.items():
            key = self.add_prefix(name)
            value = parse_utc(data.get(key) or "") if isinstance(field, ZonedDateTimeField) else None
            if value is None or key + ZONE_SUFFIX in data:
                continue
            local = value.astimezone(zoneinfo.ZoneInfo(self.time_zone)).replace(tzinfo=None)
            try:
                local_to_utc(local, self.time_zone)
            except ValidationError:
                continue
            data[key], data[key + ZONE_SUFFIX] = local.strftime(DATETIME_FORMAT), self.time_zone
        self.data = data
