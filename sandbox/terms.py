"""A subscription's term at "Microsoft": its dates, the cancellation window, and the renewal at term end.

Partner Center's subscription resource (https://learn.microsoft.com/partner-center/developer/subscription-resources):
`effectiveStartDate` (the day the term began, 00:00 UTC), `commitmentEndDate` (the term's last day: the
subscription renews, or expires, when that day is over), `cancellationAllowedUntilDate` (New Commerce: 168 hours,
7 days, after the purchase or the renewal; https://learn.microsoft.com/partner-center/customers/subscription-cancellation-window),
`autoRenewEnabled`, `billingCycle`, `termDuration`, `scheduledNextTermInstructions`
(https://learn.microsoft.com/partner-center/developer/change-subscription-at-renewal: the product, quantity,
billing cycle and term the next term takes; applied at the renewal, then cleared; removed by a mid-term change)
and `refundableQuantity` (the seats that may still be reduced for a refund, until the window's end).

Renewals happen lazily, as the store's settle does for orders: any access after a term's end renews (or
expires) it first, so a subscription read after `POST /_sandbox/clock {"advance_seconds": N}` is as Microsoft
would show it then. Pure functions over the subscription document (a dict); times in seconds since the epoch.
"""

import calendar
import datetime as dt
import re

DAY = 24 * 60 * 60
# New Commerce's cancellation window: 168 hours after the purchase or the renewal.
WINDOW_SECONDS = 168 * 60 * 60
TERM = re.compile(r"^P(\d{1,2})([MY])$")
RENEWING = "active"
# A subscription in these statuses is past its term's decisions: nothing renews or changes it any more.
ENDED = {"expired", "deleted"}


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seconds_of(text: str) -> float:
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


def _months(term: str) -> int:
    count, unit = TERM.match(term).groups()
    return int(count) * (12 if unit == "Y" else 1)


def _months_add(start: dt.datetime, months: int) -> dt.datetime:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))


def term_dates(started_at: float, term: str, *, window_from: float) -> dict:
    """The term fields of a term of `term` begun at `started_at` (its day at 00:00 UTC is the effective start;
    the term ends when its last day, the commitment end date, is over); the window runs 168 h from `window_from`
    (the purchase, or the renewal)."""
    start = dt.datetime.fromtimestamp(started_at, dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    ends = _months_add(start, _months(term))
    return {
        "effectiveStartDate": iso(start.timestamp()),
        "commitmentEndDate": iso((ends - dt.timedelta(days=1)).timestamp()),
        "cancellationAllowedUntilDate": iso(window_from + WINDOW_SECONDS),
    }


def term_start_renewing_at(ends_at: float, term: str) -> float:
    """When a term of `term` that ends at `ends_at` (a day's 00:00 UTC) began."""
    return _months_add(dt.datetime.fromtimestamp(ends_at, dt.UTC), -_months(term)).timestamp()


def renews_at(doc: dict) -> float | None:
    """When the term ends (the day after its commitment end date, 00:00 UTC): it renews or expires then."""
    end = doc.get("commitmentEndDate")
    return seconds_of(end) + DAY if end else None


def in_window(doc: dict, now: float) -> bool:
    until = doc.get("cancellationAllowedUntilDate")
    return bool(until) and now < seconds_of(until)


def offer_of(instructions: dict) -> str | None:
    """The next term's offer: a catalogItemId, or the product's productId:skuId:availabilityId."""
    product = instructions.get("product") if isinstance(instructions.get("product"), dict) else {}
    item = instructions.get("catalogItemId") or product.get("catalogItemId")
    if item:
        return str(item)
    parts = [product.get(key) for key in ("productId", "skuId", "availabilityId")]
    return ":".join(str(p) for p in parts) if all(parts) else None


def next_term_values(instructions: dict) -> dict:
    """What the next-term instructions change, as subscription fields (the product's billing cycle and term,
    or the same keys at the top level, which win)."""
    product = instructions.get("product") if isinstance(instructions.get("product"), dict) else {}
    values = {}
    if offer := offer_of(instructions):
        values["offerId"] = offer
    for key in ("billingCycle", "termDuration"):
        if instructions.get(key) or product.get(key):
            values[key] = instructions.get(key) or product.get(key)
    if instructions.get("quantity"):
        values["quantity"] = instructions["quantity"]
    return values


def renew_due(doc: dict, now: float) -> bool:
    """Renew (or expire) `doc` for every term that ended by `now`; True when it changed. Auto-renew off, or a
    subscription not active at its term's end: "expired". Otherwise the next term begins at the end of the
    last, with the scheduled next-term instructions applied, then cleared."""
    changed = False
    while doc.get("status") not in ENDED and doc.get("status") != "pending":
        ends = renews_at(doc)
        if ends is None or ends > now:
            break
        changed = True
        if doc.get("status") != RENEWING or not doc.get("autoRenewEnabled"):
            doc.update(status="expired", autoRenewEnabled=False, scheduledNextTermInstructions=None)
            break
        doc.update(next_term_values(doc.get("scheduledNextTermInstructions") or {}))
        doc["scheduledNextTermInstructions"] = None
        doc.update(term_dates(ends, doc["termDuration"], window_from=ends))
    return changed


def refundable_quantity(doc: dict, now: float) -> dict:
    """Partner Center's refundableQuantity: inside the window every seat may still be reduced for a refund."""
    if doc.get("status") in ENDED or not in_window(doc, now):
        return {"totalQuantity": 0, "details": []}
    quantity = int(doc.get("quantity") or 0)
    return {"totalQuantity": quantity,
            "details": [{"quantity": quantity, "allowedUntilDateTime": doc["cancellationAllowedUntilDate"]}]}


def presented(doc: dict, now: float) -> dict:
    """The subscription as an answer shows it at `now`."""
    return {**doc, "refundableQuantity": refundable_quantity(doc, now)}
