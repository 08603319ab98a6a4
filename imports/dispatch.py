"""The dispatch pass: recover expired leases, re-send missed emails, claim due jobs batch after
batch and run them, then keep watching for jobs falling due. Its timing lives here."""

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from .leases import imports_claim_due, imports_recover_expired
from .models import ImportJob
from .notifications import imports_notify_unsent
from .runner import run_jobs

Status = ImportJob.Status

# Jobs claimed and run together: one transaction, and one query per batch for the companies,
# price lists, price items, existing subscriptions and account ids of all of them. Small enough
# that a batch holds SQLite's write lock for about a second.
DISPATCH_BATCH_SIZE = 250
# How often a watching dispatch task looks for jobs that have just become due.
DISPATCH_POLL_SECONDS = 1.0


@dataclass
class DispatchSummary:
    recovered: int = 0
    claimed: int = 0
    completed: int = 0
    failed: int = 0
    notified: int = 0

    def add(self, results: dict[int, str]) -> None:
        counts = Counter(results.values())
        self.completed += counts[Status.COMPLETED]
        self.failed += counts[Status.FAILED]

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"Claimed {self.claimed}, completed {self.completed}, failed {self.failed}, "
            f"recovered {self.recovered}"
        )


def dispatch_budget_seconds() -> float:
    """Stop claiming new batches after this long: a batch claimed then still ends well before
    django-q2 kills the task at Q_TIMEOUT (which would leave its jobs to lease recovery)."""
    return max(settings.Q_TIMEOUT * 0.8, 1.0)


def dispatch_watch_seconds() -> float:
    """How long the every-minute task keeps watching for jobs that become due.

    django-q2's scheduler looks for due schedules only every ~30 s, so the every-minute task
    starts anywhere up to 30 s after its minute. Instead of leaving a job that becomes due
    just after a pass waiting for the next one (up to ~90 s), the task stays for just under a
    minute and runs each job as it becomes due (checking every DISPATCH_POLL_SECONDS, which
    also catches "as soon as possible" jobs scheduled meanwhile). The next task then takes
    over, so a job runs within about a second of its due time, and at worst ~30 s after it
    when the scheduler is late. Bounded by the budget, so it still returns before Q_TIMEOUT.
    IMPORT_DISPATCH_WATCH_SECONDS changes it; 0 turns the watch off.
    """
    return min(settings.IMPORT_DISPATCH_WATCH_SECONDS, dispatch_budget_seconds() / 2)


def _next_pending_due() -> dt.datetime | None:
    return ImportJob.objects.filter(status=Status.PENDING).aggregate(next_due=Min("due_at"))["next_due"]


def dispatch_due_imports(
    *,
    now: dt.datetime | None = None,
    watch_seconds: float = 0.0,
    batch_size: int = DISPATCH_BATCH_SIZE,
    budget_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> DispatchSummary:
    """One dispatch pass: recover expired leases, re-send missed emails, then claim and run due
    jobs batch after batch until none is due (or the time budget is spent).

    `now` fixes the clock for the whole pass (tests, operators); without it the real time is
    read before every batch. With `watch_seconds` (the scheduled task) the pass then keeps
    running jobs as they become due for that long; see dispatch_watch_seconds.
    """
    clock = (lambda: now) if now is not None else timezone.now
    budget = dispatch_budget_seconds() if budget_seconds is None else budget_seconds
    watch_until = min(watch_seconds, budget) if now is None else 0.0
    started = monotonic()
    summary = DispatchSummary()
    summary.recovered = imports_recover_expired(now=clock())
    summary.notified = imports_notify_unsent(now=clock())
    while True:
        while monotonic() - started < budget:
            job_ids = imports_claim_due(now=clock(), limit=batch_size)
            if not job_ids:
                break
            summary.claimed += len(job_ids)
            summary.add(run_jobs(job_ids, now=clock()))
        # Watching: wait for the next job to become due with plain reads (a claim opens a
        # write transaction, which on SQLite would take the write lock every poll for nothing).
        while True:
            remaining = watch_until - (monotonic() - started)
            if remaining <= 0:
                return summary
            next_due = _next_pending_due()
            current = timezone.now()
            if next_due is not None and next_due <= current:
                break
            wait = DISPATCH_POLL_SECONDS
            if next_due is not None:
                wait = min(wait, (next_due - current).total_seconds())
            sleep(max(min(wait, remaining), 0.01))
