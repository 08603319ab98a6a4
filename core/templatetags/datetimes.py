"""{% datetime_cell value %}: every date-time cell of the portal, one way (core.datetimes).

    <time datetime="2027-01-04T23:47:00+00:00">2027-01-04 23:47 UTC</time>
    <small class="dt-local" data-utc="2027-01-04T23:47:00+00:00">2027-01-04 18:47 UTC-5</small>

The local line is in the user's own time zone (User.time_zone, chosen in a date-time control or on
the user page), rendered here; with none, static/js/datetimes.js writes it in the browser's zone.
`end=` makes a range (a finished job's start - end, each end unbroken, the line may break between them); `local=False` leaves the local line out;
`zone=` gives the zone explicitly (no request in the context).
"""

import datetime as dt

from django import template
from django.utils.html import format_html

from core.datetimes import UTC, format_utc, local_text, utc_text

register = template.Library()


def _user_zone(context) -> str:
    user = context.get("user") or getattr(context.get("request"), "user", None)
    return getattr(user, "time_zone", "") or ""


@register.simple_tag(takes_context=True)
def datetime_cell(context, value, end=None, local=True, zone=None):
    if not isinstance(value, dt.datetime):
        return "-"
    iso = value.astimezone(UTC).isoformat()
    if isinstance(end, dt.datetime) and end != value:
        # A range may break between its two ends (a narrow column), never inside one (static/css/icp.css).
        html = format_html('<time datetime="{}" class="dt-range"><span>{} -</span> <span>{}</span></time>',
                           iso, format_utc(value), utc_text(end))
    else:
        html = format_html('<time datetime="{}">{}</time>', iso, utc_text(value))
    if local:
        html += format_html(
            '<small class="dt-local" data-utc="{}">{}</small>', iso, local_text(value, zone if zone is not None else _user_zone(context))
        )
    return html


@register.filter
def utc(value) -> str:
    """`YYYY-MM-DD HH:MM UTC` (for a date-time inside a sentence)."""
    return utc_text(value) if isinstance(value, dt.datetime) else ""
