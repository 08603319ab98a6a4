"""django-q2 task functions. They receive ids (never model instances: a task is pickled into the
broker and may run much later, in another process), return quickly and stay thin."""

import datetime as dt

from django.utils import timezone

from orders.services import orders_drafts_expire

from imports.engine.dispatch import DispatchSummary, dispatch_housekeeping, dispatch_tick, outbox_sender_enqueue
from imports.notify.send import emails_send
from imports.engine.runner import run_jobs
from imports.webhooks.delivery import webhooks_send_due


def run_batch_task(job_ids: list[int], claimed_at: dt.datetime) -> dict[str, int]:
    """Run one batch the dispatcher claimed at `claimed_at` (a late or repeated delivery of the
    task runs only what that claim still holds: see imports.engine.dispatch)."""
    summary = DispatchSummary(claimed=len(job_ids), batches=1)
    summary.add(run_jobs(job_ids, now=timezone.now(), claimed_at=claimed_at))
    return summary.as_dict()


def outbox_send_task() -> int:
    """Send what the outbox has due: emails a burst left there (imports.notify.priority), emails
    whose worker died before sending them, retries whose backoff ended; then the webhook
    deliveries due. Stops early when a burst of due jobs waits (jobs go first). Returns how many emails the
    mail server accepted."""
    sent = emails_send(now=timezone.now(), yield_to_jobs=True)
    webhooks_send_due(now=timezone.now())
    return sent


def dispatch_tick_task() -> dict[str, int]:
    """The every-minute schedule: the fallback that keeps jobs moving, within about a minute,
    when only a bare qcluster runs (imports_worker's dispatcher does the same every second).
    It only claims and enqueues, so it ends in well under a second."""
    recovered = dispatch_housekeeping()
    summary = dispatch_tick()
    summary.recovered = recovered
    # Emails and webhook events are sent by a task of their own: a slow mail server or receiver
    # must not hold the tick.
    outbox_sender_enqueue()
    orders_drafts_expire(now=timezone.now())  # housekeeping: unfinished orders untouched for 30 days
    return summary.as_dict()
