"""Notices about subscriptions (imports.models.SubscriptionNotice), in the recipient's language:

- "change.reminder", RENEWAL_REMINDER_LEAD before a renewal that has scheduled changes: what the
  renewal will do (its changes, the price it renews at: orders.timeline, the Upcoming view's rule),
  to each creator of those changes;
- "window.closing", WINDOW_CLOSING_LEAD before a cancellation window closes: the last hours seats can
  be reduced or the subscription cancelled with a refund, to the users of the companies above it (its
  own included) who opted in on their NOTIFICATIONS tab (accounts.User.notify_window_closing).

The engine's housekeeping pass (imports.engine.plugins, registered in imports.apps) writes the rows
whose time has come (notices_queue_due); the outbox lane sends them (imports.engine.outbox_lane, kind
KIND). Once each: the row is unique per kind, subscription, recipient and renewal or window end, and
a re-send after a crash carries the same Message-ID. A notice whose subject is gone by the time it is
sent (the changes cancelled, the window already closed, the subscription ended) is marked sent with a
note, and nothing goes out. The failure and wipe notices of a change are the change's own job's.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.languages import user_language
from accounts.models import User
from core.clock import db_now
from core.datetimes import utc_text
from core.outbox import Budget, Outbox, OutboxPolicy
from orders.models import Subscription, SubscriptionChange
from orders.timeline import renewal_previews

from imports.models import SubscriptionNotice

logger = logging.getLogger(__name__)
Kind = SubscriptionNotice.Kind
KIND = "notices"  # this outbox's name in the outbox lane
RENEWAL_REMINDER_LEAD = dt.timedelta(days=3)
WINDOW_CLOSING_LEAD = dt.timedelta(hours=48)
# Rows written per pass at most; the next pass writes the rest.
QUEUE_ROUND_LIMIT = 1000
TEMPLATES = {Kind.CHANGE_REMINDER: "imports/email/change_reminder", Kind.WINDOW_CLOSING: "imports/email/window_closing"}
NOTE_NOTHING_TO_SAY = "Nothing sent: the renewal's changes or the window are gone."
NOTE_NO_ADDRESS = "Nothing sent: the recipient has no address or is not active."
OPEN = sorted(SubscriptionChange.OPEN_STATUSES)

NOTICES = Outbox(
    SubscriptionNotice,
    OutboxPolicy(
        lease=lambda: dt.timedelta(seconds=settings.IMPORT_EMAIL_LEASE_SECONDS),
        chunk=lambda: settings.IMPORT_EMAIL_CLAIM_CHUNK,
    ),
)


# --- Writing them when their time comes ------------------------------------------------------------


def _reminded() -> Exists:
    """A change's creator already has the reminder of this renewal."""
    return Exists(SubscriptionNotice.objects.filter(
        kind=Kind.CHANGE_REMINDER, subscription_id=OuterRef("subscription_id"),
        occasion_at=OuterRef("subscription__term_end"), recipient_id=OuterRef("created_by_id"),
    ))


def _renewal_reminders(now: dt.datetime, limit: int) -> list[SubscriptionNotice]:
    due = (
        SubscriptionChange.objects.filter(
            status__in=OPEN, when=SubscriptionChange.When.RENEWAL, created_by__isnull=False,
            created_by__is_active=True, subscription__status=Subscription.Status.ACTIVE,
            subscription__term_end__gt=now, subscription__term_end__lte=now + RENEWAL_REMINDER_LEAD,
        )
        .exclude(_reminded())
        .values_list("subscription_id", "created_by_id", "subscription__term_end")
        .distinct()[:limit]
    )
    return [
        SubscriptionNotice.build(Kind.CHANGE_REMINDER, subscription_id=sub, recipient_id=user, occasion_at=at, now=now)
        for sub, user, at in due
    ]


def _window_notices(now: dt.datetime, limit: int) -> list[SubscriptionNotice]:
    readers = list(
        User.objects.filter(notify_window_closing=True, is_active=True, company__isnull=False)
        .values_list("pk", "company__path")
    )
    if not readers:
        return []
    closing = (
        Subscription.objects.filter(
            status=Subscription.Status.ACTIVE, cancellation_window_ends_at__gt=now,
            cancellation_window_ends_at__lte=now + WINDOW_CLOSING_LEAD,
        )
        .values_list("pk", "company__path", "cancellation_window_ends_at")
        .order_by("cancellation_window_ends_at", "pk")
    )
    sent = set(
        SubscriptionNotice.objects.filter(kind=Kind.WINDOW_CLOSING, occasion_at__gt=now)
        .values_list("subscription_id", "recipient_id", "occasion_at")
    )
    notices = []
    for pk, path, ends in closing.iterator():
        for user_id, user_path in readers:
            # The user's company is the subscription's or one above it (the materialized paths say so).
            if user_path and path.startswith(user_path) and (pk, user_id, ends) not in sent:
                notices.append(SubscriptionNotice.build(
                    Kind.WINDOW_CLOSING, subscription_id=pk, recipient_id=user_id, occasion_at=ends, now=now
                ))
                if len(notices) >= limit:
                    return notices
    return notices


def notices_queue_due(*, now: dt.datetime) -> int:
    """Write the notices whose time has come; returns how many (housekeeping, every pass)."""
    notices = _renewal_reminders(now, QUEUE_ROUND_LIMIT)
    notices += _window_notices(now, QUEUE_ROUND_LIMIT - len(notices))
    if notices:
        # ignore_conflicts: two passes racing write each notice once (its unique constraint).
        SubscriptionNotice.objects.bulk_create(notices, ignore_conflicts=True)
    return len(notices)


# --- What they say ------------------------------------------------------------------------------


def _subscription_url(subscription: Subscription) -> str:
    return f"{settings.SITE_URL}{reverse('orders:subscription_detail', args=[subscription.account_id])}"


def notice_context(notice: SubscriptionNotice, *, now: dt.datetime) -> dict | None:
    """The template context, in the active language; None when there is nothing to say any more."""
    subscription, user = notice.subscription, notice.recipient
    common = {
        "user_name": user.get_full_name() or user.email,
        "subscription": subscription.display_name,
        "account_id": subscription.account_id,
        "company": f"{subscription.company.name} ({subscription.company.account_id})",
        "subscription_url": _subscription_url(subscription),
        "upcoming_url": f"{settings.SITE_URL}{reverse('upcoming:list')}",
    }
    if subscription.status != Subscription.Status.ACTIVE:
        return None
    if notice.kind == Kind.CHANGE_REMINDER:
        if subscription.term_end != notice.occasion_at:
            return None  # the renewal moved (a sync): the next pass writes the right one
        preview = renewal_previews([subscription])[subscription.pk]
        if not preview.changes:
            return None
        return {**common, "renewal_date": utc_text(preview.at), "renews": preview.renews,
                "price": preview.price_text, "changes": preview.change_texts}
    if subscription.cancellation_window_ends_at != notice.occasion_at or notice.occasion_at <= now:
        return None
    return {**common, "window_ends": utc_text(notice.occasion_at)}


def email_build(notice: SubscriptionNotice, *, connection=None, now: dt.datetime) -> EmailMultiAlternatives | None:
    user = notice.recipient
    with translation.override(user_language(user)):
        context = notice_context(notice, now=now)
        if context is None:
            return None
        base = TEMPLATES[notice.kind]
        subject = " ".join(render_to_string(f"{base}.subject.txt", context).split())
        text, html = render_to_string(f"{base}.txt", context), render_to_string(f"{base}.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email], connection=connection,
        headers={"Message-ID": notice.message_id},
    )
    message.attach_alternative(html, "text/html")
    return message


# --- Sending them -------------------------------------------------------------------------------


def _deliver(ids: list[int], *, now: dt.datetime, budget: Budget | None) -> int:
    """This kind's handler (core.outbox.Outbox.send_due): one mail connection per chunk; the accepted
    ones marked sent together after it (as the emails' handler does: a crash re-sends at most a chunk,
    each with its Message-ID), a failure marked at once for its own backoff."""
    notices = list(
        SubscriptionNotice.objects.filter(pk__in=ids)
        .select_related("subscription__company", "subscription__service", "recipient__company")
        .order_by("id")
    )
    accepted, notes = [], {}
    mail = get_connection()
    try:
        for index, notice in enumerate(notices):
            if budget is not None and budget.spent():
                NOTICES.release([n.pk for n in notices[index:]], now=now)
                break
            if not notice.recipient.is_active or not notice.recipient.email:
                notes.setdefault(NOTE_NO_ADDRESS, []).append(notice.pk)
                continue
            try:
                message = email_build(notice, connection=mail, now=now)
                if message is None:
                    notes.setdefault(NOTE_NOTHING_TO_SAY, []).append(notice.pk)
                    continue
                mail.send_messages([message])
            except Exception as exc:
                logger.warning("Could not send subscription notice %s.", notice.pk, exc_info=True)
                NOTICES.mark_failed(notice.pk, now=now, attempts=notice.attempts + 1, error=f"{type(exc).__name__}: {exc}")
                continue
            accepted.append(notice.pk)
    finally:
        try:
            mail.close()
        except Exception:
            logger.debug("Closing the mail connection failed.", exc_info=True)
    if accepted:
        NOTICES.mark_sent_many(accepted, now=db_now())
    for note, note_ids in notes.items():
        NOTICES.mark_sent_many(note_ids, now=db_now(), note=note)
    return len(accepted)


def notices_send_due(*, now: dt.datetime | None = None, budget: Budget | None = None, limit: int | None = None) -> int:
    """Send the notices the outbox has due; returns how many the mail server accepted."""
    now = now or db_now()
    return NOTICES.send_due(lambda ids: _deliver(ids, now=now, budget=budget), now=now, limit=limit, budget=budget)
