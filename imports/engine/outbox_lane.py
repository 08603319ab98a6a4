"""The outbox lane's senders: which kinds of the outbox (core.outbox) they send, with what time
budget, and when the engine enqueues them.

Deliveries to the outside world wait on receivers we do not control (a webhook receiver that
hangs, a mail server that stalls, a vendor's API). They run as sender tasks
(imports.tasks.outbox_send_task) in the outbox lane (core.lanes): a queue and a cluster of their
own, beside the jobs' one (`imports_worker` starts both), so a slow receiver can hold an outbox
worker, never a worker a due job needs. Each sender task sends one kind (all of them for tasks
queued before kinds existed) and starts deliveries only while its budget lasts
(IMPORT_OUTBOX_BUDGET_SECONDS), so it ends well before Q_TIMEOUT and the lane keeps moving.

A kind joins the lane with one entry in KINDS: its name, "anything due?", and its sender
(`send(now=..., budget=...)`, which claims through core.outbox and stops when the budget is spent).

Emails a batch leaves are sent by the batch's own task right after its commit (the fast path,
imports.engine.runner); only what that path left (a burst, a refusal, a dead worker) comes here.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from core.clock import db_now

from core.outbox import Budget
from imports.engine.config import engine_config
from imports.notify import notices
from imports.notify import outbox as email_outbox
from imports.notify import priority as email_priority
from imports.notify.senders import sender_hand_on, sender_places, senders_enqueue
from imports.notify.send import emails_send
from imports.vendor import outbox as vendor_outbox
from imports.vendor.send import vendor_orders_send_due
from imports.webhooks import delivery as webhooks


@dataclass(frozen=True)
class SenderKind:
    has_due: Callable[..., bool]  # has_due(now=...)
    send: Callable[..., int]  # send(now=..., budget=...) -> how many the receivers accepted


def _emails_send(*, now: dt.datetime, budget: Budget) -> int:
    # Jobs first: a burst of due jobs stops the sending between chunks (imports.notify.priority).
    return emails_send(now=now, yield_to_jobs=True, budget=budget)


# In the order an old, kind-less sender task sends them.
KINDS: dict[str, SenderKind] = {
    email_outbox.KIND: SenderKind(has_due=email_priority.emails_due, send=_emails_send),
    webhooks.KIND: SenderKind(has_due=webhooks.DELIVERIES.has_due, send=webhooks.webhooks_send_due),
    # Vendor orders (imports.vendor): retries after their backoff, and those whose sender died.
    vendor_outbox.KIND: SenderKind(has_due=vendor_outbox.VENDOR_ORDERS.has_due, send=vendor_orders_send_due),
    # Notices about subscriptions (issue 27): renewal reminders, cancellation windows closing.
    notices.KIND: SenderKind(has_due=notices.NOTICES.has_due, send=notices.notices_send_due),
}


def outbox_send(kind: str | None = None, *, budget: Budget | None = None, place: str = "") -> int:
    """One sender task's work: send what `kind` (every kind if None) has due, starting deliveries
    while the budget lasts (IMPORT_OUTBOX_BUDGET_SECONDS; kinds in turn share it). Returns how
    many the receivers accepted.

    `place` (its sender place, imports.notify.senders): held while it runs; at the end, when the
    budget ran out with more of its kind due, handed to a task enqueued at once to go on with the
    rest (a backlog is worked off by the same few senders, one after the other), else freed."""
    budget = budget or Budget(engine_config().outbox_budget_seconds)
    if place and kind is not None:
        sender_places(kind).started(place, now=db_now())
    sent = 0
    try:
        for name in [kind] if kind is not None else list(KINDS):
            if budget.spent():
                break
            sent += KINDS[name].send(now=db_now(), budget=budget)
    finally:
        if place and kind is not None:
            now = db_now()
            more = budget.spent() and KINDS[kind].has_due(now=now)
            if not (more and sender_hand_on(kind, place, now=now)):
                sender_places(kind).free(place, now=now)
    return sent


def outbox_senders_enqueue(*, now: dt.datetime | None = None) -> list[str]:
    """A sender task in the outbox lane for each kind with something due (emails the fast path
    did not send, webhook deliveries, retries whose backoff ended), unless IMPORT_OUTBOX_SENDERS
    of that kind are already queued or running (imports.notify.senders): a lane slowed down by its
    receivers is not buried under more senders (each enqueue here comes every
    IMPORT_RECOVERY_SECONDS). Claims keep two senders from sending the same thing. Returns the
    kinds enqueued."""
    now = now or db_now()
    return [name for name, kind in KINDS.items() if kind.has_due(now=now) and senders_enqueue(name, now=now)]
