"""django-q2 task functions, under the dotted paths queued tasks carry (so they must not move). They
receive ids (never model instances: a task is pickled into the broker and may run much later, in
another process), return quickly and stay thin. The batch task lives with the runner it starts
(imports.engine.runner.run_batch_task) and is re-exported here under its queued name."""

from core.clock import db_now
from orders.services import orders_drafts_expire

from imports.engine.dispatch import dispatch_housekeeping, dispatch_tick
from imports.engine.outbox_lane import outbox_send, outbox_senders_enqueue
from imports.engine.term_sync import subscriptions_sync_due
from imports.engine.vendor_refresh import vendor_subscriptions_refresh
from imports.engine.runner import run_batch_task  # noqa: F401 (the queued dotted path imports.tasks.run_batch_task)
from imports.engine.workers import Role, worker_record


def outbox_send_task(kind: str | None = None, place: str = "") -> int:
    """A sender of the outbox lane (imports.engine.outbox_lane): send what `kind` ("emails",
    "webhooks", "vendor"; every kind for a task queued without one) has due, emails a burst left
    there, whose worker died before sending them, webhook deliveries, retries whose backoff ended,
    starting deliveries while IMPORT_OUTBOX_BUDGET_SECONDS lasts. Emails stop early when a burst of
    due jobs waits (jobs go first). `place`: the sender place it was enqueued into
    (imports.notify.senders), freed or handed on when it ends (tasks queued before places had
    none). Returns how many the receivers accepted."""
    return outbox_send(kind, place=place)


def dispatch_tick_task() -> dict[str, int]:
    """The every-minute schedule: the fallback that keeps jobs moving, within about a minute,
    when only a bare qcluster runs (imports_worker's dispatcher does the same every second).
    It only claims and enqueues, so it ends in well under a second. Each run that completes (or
    fails, with why) is recorded for the health report (imports.engine.workers): a tick that
    failed or was killed at the task timeout does not count as a tick."""
    try:
        recovered = dispatch_housekeeping()
        summary = dispatch_tick()
        summary.recovered = recovered
        # Emails and webhook events are sent by tasks of the outbox lane: a slow mail server or
        # receiver must hold neither the tick nor a worker of the jobs' lane.
        outbox_senders_enqueue()
        orders_drafts_expire(now=db_now())  # housekeeping: unfinished orders untouched for 30 days
    except Exception as exc:  # (django-q2's timeout is an exception raised in the task, too)
        worker_record(role=Role.TICK, failure=exc)
        raise
    worker_record(role=Role.TICK, completed=True)
    return summary.as_dict()


def vendor_subscriptions_refresh_task() -> dict:
    """The outbox lane's refresh of subscriptions whose vendor order was still pending
    (imports.engine.vendor_refresh): a few of them asked about, within the lane's time budget."""
    return vendor_subscriptions_refresh()


def subscriptions_sync_task() -> dict:
    """The outbox lane's round of syncs of subscriptions before (and right after) their renewal
    (imports.engine.term_sync): bounded per round and per customer tenant, within the lane's time budget."""
    return subscriptions_sync_due()
