"""The rules of a scheduled change to a live subscription: the one home of each kind's rules.

They run at scheduling (the subscription page's wizard, the API, a bulk "Changes" line) and again at the
due time (imports.changes.runner, before the vendor is called), on the same function: change_problems.
Each refusal is a module constant (tests and templates reuse them), returned as stored text
(core.stored_messages.stored), because the engine writes it on the change and the import row and the
reseller reads it later in its own language.

Microsoft's New Commerce terms (orders.terms): seats can be added at any time; seats reduced, the billing
cycle or the term changed, the product upgraded or the subscription cancelled only at renewal or inside
the 7-day (168 h) window after the purchase or the last renewal. A subscription without a term (no
commitment) has no window: everything may change at any time.

The due-time checks that still apply are orders.validation's own (parent account active; the service,
or the upgrade's target, accessible: active, on the price list with a price for the billing type on the
day, terms accepted; the quantity limit), run on an unsaved order that stands for the change.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from catalog.models import BillingFrequency, Service, Term
from core.datetimes import utc_text
from core.stored_messages import stored

from orders.facts import OrderFacts
from orders.models import Order, Subscription, SubscriptionChange
from orders.terms import in_cancellation_window
from orders.validation import (
    check_parent_account_active,
    check_quantity_limit,
    check_service_offered,
    check_terms_accepted,
    schedule_time_error,
)

Kind = SubscriptionChange.Kind
When = SubscriptionChange.When

SUBSCRIPTION_NOT_ACTIVE = _("The subscription is %(status)s; only an active subscription can be changed.")
KIND_UNKNOWN = _("Choose what to change: quantity, billing cycle, term, upgrade, auto-renew or cancellation.")
WHEN_UNKNOWN = _('Choose when the change applies: "at" a chosen time (now included) or "renewal".')
QUANTITY_REQUIRED = _("Enter the new quantity.")
QUANTITY_BELOW_ONE = _("The quantity must be at least 1.")
QUANTITY_UNCHANGED = _("The subscription already has %(quantity)s seats.")
CYCLE_REQUIRED = _("Choose the new billing cycle.")
CYCLE_UNCHANGED = _("The subscription is already billed %(cycle)s.")
TERM_REQUIRED = _("Choose the new term.")
TERM_UNCHANGED = _("The subscription already has a %(term)s.")
UPGRADE_REQUIRED = _("Choose the product to upgrade to.")
UPGRADE_NOT_ON_PATH = _("%(target)s is not an upgrade of %(service)s in the catalog.")
AUTO_RENEW_REQUIRED = _("Choose whether auto-renew is on or off.")
AUTO_RENEW_UNCHANGED_ON = _("Auto-renew is already on.")
AUTO_RENEW_UNCHANGED_OFF = _("Auto-renew is already off.")
AUTO_RENEW_AT_RENEWAL = _("Auto-renew is turned on or off at a chosen time, not at renewal.")
NO_TERM = _("The subscription has no term, so nothing can be scheduled for its renewal.")
DOES_NOT_RENEW = _("The subscription does not renew (auto-renew is off); turn auto-renew on first.")
ENDS_ALREADY = _("Auto-renew is already off: the subscription ends at its term end (%(end)s).")
RENEWAL_PASSED = _("The subscription's term ended on %(end)s; the change cannot be made at that renewal any more.")
PAST_TERM_END = _(
    "%(when)s is not before the end of the subscription's current term (%(end)s); choose an earlier time, or \"at renewal\"."
)
SEATS_REDUCED_ONLY_IN_WINDOW = _(
    "Seats can be reduced only at renewal or in the 7 days after purchase or renewal (until %(until)s)."
)
CYCLE_CHANGED_ONLY_IN_WINDOW = _(
    "The billing cycle can be changed only at renewal or in the 7 days after purchase or renewal (until %(until)s)."
)
TERM_CHANGED_ONLY_IN_WINDOW = _(
    "The term can be changed only at renewal or in the 7 days after purchase or renewal (until %(until)s)."
)
UPGRADE_ONLY_IN_WINDOW = _(
    "The product can be upgraded only at renewal or in the 7 days after purchase or renewal (until %(until)s)."
)
CANCEL_NOW_ONLY_IN_WINDOW = _(
    "A subscription can be cancelled now only in the 7 days after purchase or renewal (until %(until)s); "
    "cancel it at term end instead."
)
# Shown with a "cancel now" (the review, the API's answer): what the reseller gets back.
CANCEL_NOW_CREDIT = _(
    "Cancelled inside the 7-day window: the unused part of the term is credited pro rata."
)
# A second open change of the same kind: the caller shows both and asks to replace the first.
ALREADY_OPEN = _("This subscription already has a %(kind)s change scheduled: %(change)s. Replace it?")

WINDOW_MESSAGES = {
    Kind.QUANTITY: SEATS_REDUCED_ONLY_IN_WINDOW,
    Kind.BILLING_CYCLE: CYCLE_CHANGED_ONLY_IN_WINDOW,
    Kind.TERM: TERM_CHANGED_ONLY_IN_WINDOW,
    Kind.UPGRADE: UPGRADE_ONLY_IN_WINDOW,
    Kind.CANCEL: CANCEL_NOW_ONLY_IN_WINDOW,
}


@dataclass(frozen=True)
class ChangeSpec:
    """A change as asked (or as scheduled: ChangeSpec.of): its kind, when, and its new value.

    `at`: for "at", the chosen UTC time (None: now); ignored for "renewal" (the term's end)."""

    kind: str
    when: str
    at: dt.datetime | None = None
    quantity: int | None = None
    billing_frequency: str = ""
    term: str = ""
    service: Service | None = None
    auto_renew: bool | None = None

    @classmethod
    def of(cls, change: SubscriptionChange) -> "ChangeSpec":
        return cls(
            kind=change.kind, when=change.when, at=change.due_at, quantity=change.quantity,
            billing_frequency=change.billing_frequency, term=change.term,
            service=change.service if change.service_id else None, auto_renew=change.auto_renew,
        )

    def values(self) -> dict:
        """The SubscriptionChange fields of its kind's new value (the others left empty)."""
        fields = {"quantity": None, "billing_frequency": "", "term": "", "service": None, "auto_renew": None}
        if self.kind == Kind.QUANTITY:
            fields["quantity"] = self.quantity
        elif self.kind == Kind.BILLING_CYCLE:
            fields["billing_frequency"] = self.billing_frequency
        elif self.kind == Kind.TERM:
            fields["term"] = self.term
        elif self.kind == Kind.UPGRADE:
            fields["service"] = self.service
        elif self.kind == Kind.AUTO_RENEW:
            fields["auto_renew"] = self.auto_renew
        return fields


def due_at_for(subscription: Subscription, spec: ChangeSpec, *, now: dt.datetime) -> dt.datetime | None:
    """When the change applies: the chosen time (now when none), or the renewal (the term's end)."""
    if spec.when == When.RENEWAL:
        return subscription.term_end
    return spec.at or now


def job_due_at(spec: ChangeSpec, due_at: dt.datetime, *, now: dt.datetime) -> dt.datetime:
    """When the change's one vendor call happens (its import job's due time): the chosen time for "at";
    at once for "renewal" (sent as next-term instructions now, applied by the renewal)."""
    return now if spec.when == When.RENEWAL else due_at


def is_decrease(subscription: Subscription, spec: ChangeSpec) -> bool:
    return spec.kind == Kind.QUANTITY and spec.quantity is not None and spec.quantity < subscription.quantity


def needs_window(subscription: Subscription, spec: ChangeSpec) -> bool:
    """Whether the kind, when made at a chosen time, must fall inside the cancellation window."""
    if spec.kind == Kind.QUANTITY:
        return is_decrease(subscription, spec)
    return spec.kind in (Kind.BILLING_CYCLE, Kind.TERM, Kind.UPGRADE, Kind.CANCEL)


def before_values(subscription: Subscription) -> dict:
    """SubscriptionChange.before: the subscription's values when the change is scheduled."""
    return {
        "quantity": subscription.quantity, "billing_frequency": subscription.billing_frequency,
        "term": subscription.term, "service_name": subscription.service.name, "auto_renew": subscription.auto_renew,
    }


def _label(choices, value) -> str:
    return dict(choices.choices).get(value, value)


def _value_problems(subscription: Subscription, spec: ChangeSpec) -> list[str]:
    """Is the new value one the kind allows (and a change at all)?"""
    kind = spec.kind
    if kind == Kind.QUANTITY:
        if spec.quantity is None:
            return [stored(QUANTITY_REQUIRED)]
        if spec.quantity < 1:
            return [stored(QUANTITY_BELOW_ONE)]
        if spec.quantity == subscription.quantity:
            return [stored(QUANTITY_UNCHANGED, quantity=spec.quantity)]
        if limit := check_quantity_limit(standing_order(subscription, spec), None):
            return [limit]
    elif kind == Kind.BILLING_CYCLE:
        if spec.billing_frequency not in BillingFrequency.values:
            return [stored(CYCLE_REQUIRED)]
        if spec.billing_frequency == subscription.billing_frequency:
            return [stored(CYCLE_UNCHANGED, cycle=_label(BillingFrequency, spec.billing_frequency))]
    elif kind == Kind.TERM:
        if spec.term not in Term.values:
            return [stored(TERM_REQUIRED)]
        if spec.term == subscription.term:
            return [stored(TERM_UNCHANGED, term=_label(Term, spec.term))]
    elif kind == Kind.UPGRADE:
        if spec.service is None:
            return [stored(UPGRADE_REQUIRED)]
        if not subscription.service.upgrades_to.filter(pk=spec.service.pk).exists():
            return [stored(UPGRADE_NOT_ON_PATH, target=spec.service.name, service=subscription.service.name)]
    elif kind == Kind.AUTO_RENEW:
        if spec.auto_renew is None:
            return [stored(AUTO_RENEW_REQUIRED)]
        if spec.auto_renew == subscription.auto_renew:
            return [stored(AUTO_RENEW_UNCHANGED_ON if spec.auto_renew else AUTO_RENEW_UNCHANGED_OFF)]
    return []


def _when_problems(subscription: Subscription, spec: ChangeSpec, *, now: dt.datetime, at_due_time: bool) -> list[str]:
    """Is the change allowed then: at renewal (a term that has not ended), or at the chosen time
    (not in the past, before the term's end, inside the window for the kinds that need it)?"""
    end = subscription.term_end
    if spec.when == When.RENEWAL:
        if spec.kind == Kind.AUTO_RENEW:
            return [stored(AUTO_RENEW_AT_RENEWAL)]
        if end is None:
            return [stored(NO_TERM)]
        if end <= now:
            return [stored(RENEWAL_PASSED, end=utc_text(end))]
        if not at_due_time and not subscription.auto_renew:
            # (At the due time a Sent cancellation at term end has turned it off: judged when scheduled.)
            if spec.kind == Kind.CANCEL:
                return [stored(ENDS_ALREADY, end=utc_text(end))]
            return [stored(DOES_NOT_RENEW)]
        return []
    due_at = spec.at or now
    if not at_due_time and (error := schedule_time_error(due_at, now=now)):
        return [error]
    if end is not None and due_at >= end:
        return [stored(PAST_TERM_END, when=utc_text(due_at), end=utc_text(end))]
    # At the due time the window is judged at the real time of the run (a late run may find it closed).
    applies = now if at_due_time else due_at
    if end is not None and needs_window(subscription, spec) and not in_cancellation_window(subscription, applies):
        until = subscription.cancellation_window_ends_at
        return [stored(WINDOW_MESSAGES[spec.kind], until=utc_text(until) if until else "—")]
    return []


def standing_order(subscription: Subscription, spec: ChangeSpec) -> Order:
    """An unsaved order standing for the subscription as the change leaves it: what orders.validation's
    due-time checks read (company, service with its vendor, billing type, quantity)."""
    return Order(
        company=subscription.company,
        service=spec.service if spec.kind == Kind.UPGRADE and spec.service is not None else subscription.service,
        quantity=spec.quantity if spec.kind == Kind.QUANTITY and spec.quantity else subscription.quantity,
        billing_frequency=spec.billing_frequency if spec.kind == Kind.BILLING_CYCLE else subscription.billing_frequency,
        term=spec.term if spec.kind == Kind.TERM else subscription.term,
        vendor_config={},
    )


def facts_for(subscription: Subscription, spec: ChangeSpec, *, day: dt.date) -> OrderFacts:
    """What the due-time checks read for this change on `day` (one price book: five queries)."""
    return OrderFacts.load([standing_order(subscription, spec)], day=day)


def _charged_order(subscription: Subscription, spec: ChangeSpec) -> Order | None:
    """The standing order of what the change leaves charged for (the service, or the upgrade's target, at its
    billing type), or None: a cancellation or auto-renew off charges for nothing more, and a service
    without a billing type (no term) is priced by its creation only."""
    if spec.kind == Kind.CANCEL or (spec.kind == Kind.AUTO_RENEW and spec.auto_renew is False):
        return None
    order = standing_order(subscription, spec)
    return order if order.billing_frequency and order.term else None


def _due_time_problems(subscription: Subscription, spec: ChangeSpec, facts: OrderFacts, *, accepting_terms: bool) -> list[str]:
    """orders.validation's checks that still apply to a live subscription: its parent is active, and
    what it will be charged for is still accessible on facts.day (active, priced, terms accepted: unless
    `accepting_terms`). A cancellation or auto-renew off needs only the parent."""
    if inactive := check_parent_account_active(standing_order(subscription, spec), facts):
        return [inactive]
    order = _charged_order(subscription, spec)
    if order is None:
        return []
    reason = check_service_offered(order, facts) or (None if accepting_terms else check_terms_accepted(order, facts))
    return [reason] if reason else []


def change_problems(
    subscription: Subscription,
    spec: ChangeSpec,
    *,
    now: dt.datetime,
    facts: OrderFacts | None = None,
    at_due_time: bool = False,
    accepting_terms: bool = False,
) -> list[str]:
    """Every reason `spec` cannot be made on `subscription` (empty when it can), as stored text.

    At scheduling (`at_due_time` False) the chosen time must be a schedule time (not past, within a
    year); at the due time the window is judged at `now`. `facts`: loaded for the day the change
    applies (facts_for), else loaded here. `accepting_terms`: the reseller is to accept, as it schedules,
    the terms terms_pending names (the wizard's review asks), so they are not a reason here.
    `subscription.company`, `.service` (with its vendor) loaded."""
    problems = _spec_problems(subscription, spec, now=now, at_due_time=at_due_time)
    if problems:
        return problems
    if facts is None:
        facts = facts_for(subscription, spec, day=now.date() if at_due_time else _applies_day(subscription, spec, now=now))
    return _due_time_problems(subscription, spec, facts, accepting_terms=accepting_terms)


def _spec_problems(subscription: Subscription, spec: ChangeSpec, *, now: dt.datetime, at_due_time: bool) -> list[str]:
    """What change_problems finds before reading any facts: the kind, the time, the subscription, the value."""
    if spec.kind not in Kind.values:
        return [stored(KIND_UNKNOWN)]
    if spec.when not in When.values:
        return [stored(WHEN_UNKNOWN)]
    if subscription.status != Subscription.Status.ACTIVE:
        return [stored(SUBSCRIPTION_NOT_ACTIVE, status=_label(Subscription.Status, subscription.status))]
    problems = _value_problems(subscription, spec)
    if problems:
        return problems
    return _when_problems(subscription, spec, now=now, at_due_time=at_due_time)


def scheduling_review(subscription: Subscription, spec: ChangeSpec, *, now: dt.datetime) -> tuple[list[str], Service | None]:
    """What the review of a change being scheduled shows (the change wizard's, a bulk Changes line's): its
    problems (change_problems, the terms left to the reseller to accept as it schedules) and, when there are
    none, the service whose terms it accepts with it (terms_pending, or None). One load of the change's facts
    for both."""
    problems = _spec_problems(subscription, spec, now=now, at_due_time=False)
    if problems:
        return problems, None
    facts = facts_for(subscription, spec, day=_applies_day(subscription, spec, now=now))
    problems = _due_time_problems(subscription, spec, facts, accepting_terms=True)
    return problems, (None if problems else _terms_pending_in(subscription, spec, facts))


def _applies_day(subscription: Subscription, spec: ChangeSpec, *, now: dt.datetime) -> dt.date:
    """The day a change being scheduled applies (its chosen time, or the renewal; now when neither is known):
    the day whose prices and terms the scheduling checks read."""
    return (due_at_for(subscription, spec, now=now) or now).date()


def terms_pending(subscription: Subscription, spec: ChangeSpec, *, now: dt.datetime) -> Service | None:
    """The service the change leaves charged for (the subscription's own, or the upgrade's target) when it is
    offered to the company but its terms are not accepted yet at the company's price list: the reseller
    reads and accepts them as it schedules (the change wizard's review, as the order wizard's Terms step).
    None when there is nothing to accept."""
    order = _charged_order(subscription, spec)
    if order is None or order.service.terms_id is None:
        return None
    return _terms_pending_in(subscription, spec, facts_for(subscription, spec, day=_applies_day(subscription, spec, now=now)))


def _terms_pending_in(subscription: Subscription, spec: ChangeSpec, facts: OrderFacts) -> Service | None:
    """terms_pending, on the change's facts already loaded."""
    order = _charged_order(subscription, spec)
    if order is None or order.service.terms_id is None:
        return None
    if check_service_offered(order, facts) is None and check_terms_accepted(order, facts):
        return order.service
    return None


def open_change(subscription: Subscription, kind: str) -> SubscriptionChange | None:
    """The subscription's open (pending or sent) change of `kind`, if any: at most one (the database says so)."""
    return (
        SubscriptionChange.objects.filter(subscription=subscription, kind=kind, status__in=SubscriptionChange.OPEN_STATUSES)
        .select_related("service")
        .first()
    )


def notices(spec: ChangeSpec) -> list[str]:
    """What the reseller should know about a change that passes (stored text): the pro-rated credit of a
    cancellation now."""
    if spec.kind == Kind.CANCEL and spec.when == When.AT:
        return [stored(CANCEL_NOW_CREDIT)]
    return []
