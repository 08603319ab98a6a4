"""IMPORT ACCOUNTS' "Changes" files: one scheduled change to a live subscription per line (issue 27).

Columns (imports.bulk.columns.CHANGE_COLUMNS): Account Id (the subscription's), Change (quantity,
billing cycle, term, upgrade, auto-renew, cancel: its key or its label), New value (the quantity; the
cycle or term by key or label; the upgrade's product code; true / false; empty for a cancellation),
When ("renewal", "now" or empty, or a UTC date-time).

Each line is read here and checked by the change rules' one home (orders.changes.rules.scheduling_review:
the same rules and words as the subscription page's wizard and the API), plus "one open change per
kind" (a file does not replace: the page does, showing both). Nothing is written while any line is
wrong. Terms not yet accepted for what a change leaves charged for are listed on the check page and
accepted with the import, as a Products file's (imports.bulk.checks, imports.bulk.services). On confirmation the job is created (imports.bulk.services) with one row per line, each row
pointing at its change, created then; the engine runs them at the job's due time like any change.

"When" and the job's one due time: a change at a chosen time makes its one vendor call when its job
runs, and a file is one job; so a line's date-time must be the import's schedule (chosen on the page,
or left for the lines to give: then every line giving one gives the same), "now" and empty mean that
schedule, and "renewal" is sent at once as next-term instructions whatever the schedule.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import companies_visible_to
from catalog.models import BillingFrequency, Service, Term
from core.datetimes import format_utc, parse_utc
from core.numbers import parse_whole
from core.stored_messages import rendered
from orders.changes.describe import change_text
from orders.changes.rules import ChangeSpec, before_values, due_at_for, open_change, scheduling_review
from orders.models import Subscription, SubscriptionChange

Kind = SubscriptionChange.Kind
When = SubscriptionChange.When

ACCOUNT_REQUIRED = _("Account Id is required: the subscription's account id.")
ACCOUNT_NOT_FOUND = _("Account Id %(id)s is not one of your subscriptions.")
CHANGE_UNKNOWN = _("“%(value)s” is not a change; use one of: %(options)s.")
VALUE_NOT_A_QUANTITY = _("New value must be a whole number of seats, e.g. 8.")
VALUE_NOT_A_CYCLE = _("“%(value)s” is not a billing cycle; use one of: %(options)s.")
VALUE_NOT_A_TERM = _("“%(value)s” is not a term; use one of: %(options)s.")
VALUE_NOT_A_PRODUCT = _("New value must be the product code to upgrade to; %(value)s does not exist.")
VALUE_NOT_A_BOOLEAN = _("New value must be true or false.")
VALUE_NOT_EXPECTED = _("A cancellation takes no new value; leave New value empty.")
WHEN_INVALID = _("When must be “renewal”, “now” or a UTC date-time as YYYY-MM-DD HH:MM.")
WHEN_NOT_THE_SCHEDULE = _(
    "A file's changes at a chosen time run at the import's schedule (%(schedule)s UTC): write that time, "
    "“now” or “renewal”, or choose the schedule on the page."
)
WHEN_TIMES_DIFFER = _(
    "The file's changes at a chosen time give different times (%(first)s on line %(line)s); a file is one "
    "import with one schedule: import them in separate files."
)
ALREADY_OPEN = _("The subscription already has a %(kind)s change scheduled: %(change)s. Cancel or replace it on its page first.")
CHANGE_OPENED_MEANWHILE = _("A change of the same kind was scheduled on one of these subscriptions meanwhile; check the file again.")

KIND_WORDS = {
    Kind.QUANTITY: ("quantity", "seats"),
    Kind.BILLING_CYCLE: ("billing cycle", "billing_cycle", "cycle"),
    Kind.TERM: ("term",),
    Kind.UPGRADE: ("upgrade", "product upgrade"),
    Kind.AUTO_RENEW: ("auto-renew", "auto_renew", "autorenew", "auto renew"),
    Kind.CANCEL: ("cancel", "cancellation"),
}
RENEWAL_WORDS = {"renewal", "at renewal", "renovación", "renovacion"}
NOW_WORDS = {"", "now", "ahora"}
TRUE_WORDS = {"true", "yes", "on", "1", "sí", "si", "verdadero"}
FALSE_WORDS = {"false", "no", "off", "0", "falso"}


def _norm(text: str) -> str:
    return " ".join(str(text or "").split()).casefold()


def _choice(text: str, choices) -> str | None:
    wanted = _norm(text)
    for value, label in choices:
        if wanted in (_norm(value), _norm(label)):
            return value
    return None


@dataclass
class ChangeLine:
    """A line that passed: the subscription and the change to create for it on confirmation."""

    subscription: Subscription
    kind: str
    when: str
    at: dt.datetime | None  # "at" lines: the job's due time
    values: dict  # the SubscriptionChange fields of its kind's new value
    # The service whose terms the reseller accepts with the import (orders.changes.rules.terms_pending), or None.
    terms: Service | None = None


def _kind(text: str) -> str | None:
    wanted = _norm(text)
    for kind, words in KIND_WORDS.items():
        if wanted in words or wanted == _norm(Kind(kind).label):
            return kind
    return None


def _value(kind: str, text: str) -> tuple[dict, str | None]:
    """(the change's fields, None) or ({}, the problem)."""
    text = text.strip()
    if kind == Kind.QUANTITY:
        number = parse_whole(text, maximum=10**9)
        return ({"quantity": number}, None) if number is not None else ({}, str(VALUE_NOT_A_QUANTITY))
    if kind == Kind.BILLING_CYCLE:
        value = _choice(text, BillingFrequency.choices)
        options = ", ".join(BillingFrequency.values)
        return ({"billing_frequency": value}, None) if value else ({}, str(VALUE_NOT_A_CYCLE % {"value": text, "options": options}))
    if kind == Kind.TERM:
        value = _choice(text, Term.choices)
        options = ", ".join(Term.values)
        return ({"term": value}, None) if value else ({}, str(VALUE_NOT_A_TERM % {"value": text, "options": options}))
    if kind == Kind.UPGRADE:
        service = Service.objects.filter(code=text).first() if text else None
        return ({"service": service}, None) if service else ({}, str(VALUE_NOT_A_PRODUCT % {"value": text or "—"}))
    if kind == Kind.AUTO_RENEW:
        word = _norm(text)
        if word in TRUE_WORDS | FALSE_WORDS:
            return {"auto_renew": word in TRUE_WORDS}, None
        return {}, str(VALUE_NOT_A_BOOLEAN)
    return ({}, None) if not text else ({}, str(VALUE_NOT_EXPECTED))


def _when(text: str) -> tuple[str, dt.datetime | None] | None:
    """("renewal", None), ("at", None) for now, ("at", a time); None when it is none of them."""
    word = _norm(text)
    if word in RENEWAL_WORDS:
        return When.RENEWAL, None
    if word in NOW_WORDS:
        return When.AT, None
    at = parse_utc(text.strip())
    return (When.AT, at) if at is not None else None


def lines_schedule(lines, *, due_at: dt.datetime | None) -> tuple[dt.datetime | None, list[tuple[int, str]]]:
    """The import's schedule as the page chose it or, when it did not, as the lines give it (their
    one date-time); with the lines whose date-time is not that schedule."""
    errors: list[tuple[int, str]] = []
    first: tuple[int, dt.datetime] | None = None
    for number, cells in lines:
        parsed = _when(cells.get("when", ""))
        if parsed is None or parsed[1] is None:
            continue
        at = parsed[1]
        if due_at is not None:
            if at != due_at:
                errors.append((number, str(WHEN_NOT_THE_SCHEDULE % {"schedule": format_utc(due_at)})))
        elif first is None:
            first = (number, at)
        elif at != first[1]:
            errors.append((number, str(WHEN_TIMES_DIFFER % {"first": format_utc(first[1]), "line": first[0]})))
    return (due_at if due_at is not None else (first[1] if first else None)), errors


def check_change_line(user: User, cells: dict, *, subscriptions: dict[int, Subscription], due: dt.datetime, now: dt.datetime):
    """(ChangeLine, []) or (None, [messages]) for one line: read, then the rules' one home."""
    text = cells.get("account_id", "").strip()
    if not text:
        return None, [str(ACCOUNT_REQUIRED)]
    account_id = parse_whole(text)
    subscription = subscriptions.get(account_id) if account_id is not None else None
    if subscription is None:
        return None, [str(ACCOUNT_NOT_FOUND % {"id": text})]
    kind = _kind(cells.get("change", ""))
    if kind is None:
        options = ", ".join(words[0] for words in KIND_WORDS.values())
        return None, [str(CHANGE_UNKNOWN % {"value": cells.get("change", ""), "options": options})]
    values, problem = _value(kind, cells.get("new_value", ""))
    if problem:
        return None, [problem]
    parsed = _when(cells.get("when", ""))
    if parsed is None:
        return None, [str(WHEN_INVALID)]
    when = parsed[0]
    at = due if when == When.AT else None
    spec = ChangeSpec(kind=kind, when=when, at=at, **values)
    # Terms not accepted yet are listed on the check page and accepted with the import, as a Products file's.
    problems, terms = scheduling_review(subscription, spec, now=now)
    if problems:
        return None, [rendered(problem) for problem in problems]
    existing = open_change(subscription, kind)
    if existing is not None:
        return None, [str(ALREADY_OPEN % {"kind": Kind(kind).label.lower(), "change": change_text(existing)})]
    return ChangeLine(subscription=subscription, kind=kind, when=when, at=at, values=spec.values(), terms=terms), []


def subscriptions_of_lines(user: User, lines) -> dict[int, Subscription]:
    """The lines' subscriptions the user may see, by account id: one query for the file."""
    wanted = {number for _n, cells in lines if (number := parse_whole(cells.get("account_id", "").strip())) is not None}
    found = Subscription.objects.filter(account_id__in=wanted, company__in=companies_visible_to(user)).select_related(
        "company", "service__vendor", "order"
    )
    return {subscription.account_id: subscription for subscription in found}


def change_create(line: ChangeLine, *, user: User, now: dt.datetime) -> SubscriptionChange:
    """The line's change, as the subscription page's scheduling writes it (in the job's transaction)."""
    spec = ChangeSpec(kind=line.kind, when=line.when, at=line.at, **line.values)
    return SubscriptionChange.objects.create(
        subscription=line.subscription, kind=line.kind, when=line.when,
        due_at=due_at_for(line.subscription, spec, now=now), before=before_values(line.subscription),
        created_by=user, **line.values,
    )
