"""A subscription's term: when it started, when it ends (renews or expires), and the cancellation window.

The one home of the term's arithmetic. Microsoft's New Commerce terms: a term of P1M, P1Y or P3Y from its
start; seats can be reduced, the term or billing cycle changed, or the subscription cancelled only at
renewal or inside the 7-day (168 h) window after the purchase or a renewal. Dates are UTC.
"""

import calendar
import datetime as dt

CANCELLATION_WINDOW = dt.timedelta(hours=168)
TERM_MONTHS = {"P1M": 1, "P1Y": 12, "P3Y": 36}


def months_add(start: dt.datetime, months: int) -> dt.datetime:
    """`start` plus whole calendar months; a day the target month lacks becomes its last day (Jan 31 + 1 → Feb 28)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def term_end(start: dt.datetime, term: str) -> dt.datetime | None:
    """When a term of `term` begun at `start` ends; None for a service without a term."""
    months = TERM_MONTHS.get(term)
    return months_add(start, months) if months else None


def term_fields(start: dt.datetime, term: str) -> dict:
    """The Subscription fields of a term begun at `start` (a purchase or a renewal)."""
    end = term_end(start, term)
    if end is None:
        return {"term_start": None, "term_end": None, "cancellation_window_ends_at": None}
    return {"term_start": start, "term_end": end, "cancellation_window_ends_at": start + CANCELLATION_WINDOW}


def in_cancellation_window(subscription, at: dt.datetime) -> bool:
    """`at` is inside the subscription's 7-day window after its purchase or last renewal."""
    ends = subscription.cancellation_window_ends_at
    return ends is not None and at < ends
