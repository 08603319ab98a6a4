"""A subscription's timeline and its next renewal: what happened to it, what is scheduled, and the
price it will renew at.

The one home of "the next renewal": the subscription page's timeline, the Upcoming view (a page of
renewals: imports.upcoming) and the renewal reminders ask renewal_previews, batch-native (a page of
50 renewals costs what one costs: the open changes in one query, the prices in two).

A renewal applies the subscription's open at-renewal changes (quantity, billing cycle, term,
upgrade; a cancellation or auto-renew off at renewal means it ends instead of renewing), priced
from the price list in force on the renewal day (catalog.selectors.PriceBook), not the day the
subscription was bought: prices change between scheduling and renewal. The renewal itself charges that price
from then on (renewal_prices, written by orders.sync when the term renews).
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from catalog.models import Service
from catalog.selectors import price_books
from core.amounts import format_amount
from core.stored_messages import rendered

from orders.changes.describe import change_text
from orders.models import Subscription, SubscriptionChange

UTC = dt.timezone.utc
Kind = SubscriptionChange.Kind
When = SubscriptionChange.When
OPEN = sorted(SubscriptionChange.OPEN_STATUSES)
# The past changes the page shows, newest first (a subscription changed every week for years has hundreds).
PAST_SHOWN = 50


@dataclass
class RenewalPreview:
    """The subscription's next renewal as it stands: when, with which changes, at what price."""

    subscription: Subscription
    at: dt.datetime
    changes: list[SubscriptionChange] = field(default_factory=list)  # its open at-renewal changes
    renews: bool = True  # False: it ends then (cancel at term end, auto-renew off at renewal)
    quantity: int = 0
    service: Service | None = None
    billing_frequency: str = ""
    term: str = ""
    unit_price: Decimal | None = None  # None: no price in force for it on the renewal day
    currency: str = ""

    @property
    def total(self) -> Decimal | None:
        return None if self.unit_price is None else self.unit_price * self.quantity

    @property
    def price_text(self) -> str:
        """"12.50 USD" (quantity × unit price), empty when it ends or has no price that day."""
        if not self.renews or self.total is None:
            return ""
        return f"{format_amount(self.total, cents=True)} {self.currency}"

    @property
    def change_texts(self) -> list[str]:
        return [change_text(change) for change in self.changes]


def open_renewal_changes(subscription_ids: Iterable[int]) -> dict[int, list[SubscriptionChange]]:
    """Open (pending or sent) at-renewal changes of these subscriptions, by subscription: one query."""
    by_subscription: dict[int, list[SubscriptionChange]] = {}
    changes = (
        SubscriptionChange.objects.filter(subscription_id__in=list(subscription_ids), status__in=OPEN, when=When.RENEWAL)
        .select_related("service")
        .order_by("due_at", "id")
    )
    for change in changes:
        by_subscription.setdefault(change.subscription_id, []).append(change)
    return by_subscription


def _apply(preview: RenewalPreview, change: SubscriptionChange) -> None:
    if change.kind == Kind.QUANTITY and change.quantity:
        preview.quantity = change.quantity
    elif change.kind == Kind.BILLING_CYCLE and change.billing_frequency:
        preview.billing_frequency = change.billing_frequency
    elif change.kind == Kind.TERM and change.term:
        preview.term = change.term
    elif change.kind == Kind.UPGRADE and change.service_id:
        preview.service = change.service
    elif change.kind == Kind.CANCEL or (change.kind == Kind.AUTO_RENEW and change.auto_renew is False):
        preview.renews = False


def renewal_previews(
    subscriptions: Iterable[Subscription], *, changes: dict[int, list[SubscriptionChange]] | None = None
) -> dict[int, RenewalPreview]:
    """The next renewal of each subscription with a term end (by subscription id): its open
    at-renewal changes applied, priced on the renewal day. `changes` (open_renewal_changes) when
    the caller has them already. Three queries at most, whatever the number of subscriptions."""
    subscriptions = [s for s in subscriptions if s.term_end is not None]
    if not subscriptions:
        return {}
    if changes is None:
        changes = open_renewal_changes(s.pk for s in subscriptions)
    previews: dict[int, RenewalPreview] = {}
    for subscription in subscriptions:
        preview = RenewalPreview(
            subscription=subscription, at=subscription.term_end, changes=changes.get(subscription.pk, []),
            renews=subscription.auto_renew, quantity=subscription.quantity, service=subscription.service,
            billing_frequency=subscription.billing_frequency, term=subscription.term,
        )
        for change in preview.changes:
            _apply(preview, change)
        previews[subscription.pk] = preview
    books = price_books(
        company_ids={s.company_id for s in subscriptions},
        days={p.at.astimezone(UTC).date() for p in previews.values()},
        service_ids={p.service.pk for p in previews.values() if p.service is not None},
        terms=False,  # a preview asks prices only
    )
    for preview in previews.values():
        if preview.service is None:
            continue
        book = books[preview.at.astimezone(UTC).date()]
        item = book.item(preview.subscription.company_id, preview.service.pk, preview.billing_frequency, preview.term)
        if item is not None:
            preview.unit_price, preview.currency = item.selling_price, item.currency
    return previews


def renewal_prices(subscription: Subscription, *, day: dt.date) -> dict:
    """The prices a term begun on `day` is charged at, for what the subscription renews as (its service, billing
    cycle and term, the renewal's changes applied): the item in force that day, as renewal_previews promised
    before it; {} (the prices stay) when none is. The renewals (orders.sync) write them. Two queries."""
    if not subscription.service_id or not subscription.billing_frequency or not subscription.term:
        return {}
    book = price_books(company_ids=[subscription.company_id], days=[day], service_ids=[subscription.service_id],
                       terms=False)[day]
    item = book.item(subscription.company_id, subscription.service_id, subscription.billing_frequency, subscription.term)
    if item is None:
        return {}
    return {"unit_cost": item.cost, "unit_price": item.selling_price, "currency": item.currency}


@dataclass
class TimelineEntry:
    change: SubscriptionChange
    text: str  # "Quantity 10 → 8 at renewal on 2027-03-01"
    reason: str  # why it failed, was wiped, cancelled (in the reader's language), else empty


@dataclass
class Timeline:
    past: list[TimelineEntry]  # applied, failed, cancelled, replaced, wiped: newest first
    pending: list[TimelineEntry]  # open: soonest first
    renewal: RenewalPreview | None  # None: no term, or it is not active


def subscription_timeline(subscription: Subscription) -> Timeline:
    """The subscription page's timeline (three queries and the renewal's prices)."""
    changes = SubscriptionChange.objects.filter(subscription=subscription).select_related("service")
    pending = [_entry(c) for c in changes.filter(status__in=OPEN).order_by("due_at", "id")]
    past = [_entry(c) for c in changes.exclude(status__in=OPEN).order_by("-due_at", "-id")[:PAST_SHOWN]]
    renewal = None
    if subscription.status == Subscription.Status.ACTIVE and subscription.term_end is not None:
        open_at_renewal = [e.change for e in pending if e.change.when == When.RENEWAL]
        renewal = renewal_previews([subscription], changes={subscription.pk: open_at_renewal})[subscription.pk]
    return Timeline(past=past, pending=pending, renewal=renewal)


def _entry(change: SubscriptionChange) -> TimelineEntry:
    return TimelineEntry(change=change, text=change_text(change), reason=rendered(change.reason))
