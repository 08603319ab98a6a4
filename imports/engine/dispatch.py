"""Dispatching due import jobs: claim them with a lease, in batches, and hand each batch to a worker;
give the jobs of dead workers back when their lease ends (lease recovery).

Two ways, one set of building blocks (`imports_claim_due` claims, imports.engine.runner runs):
- `dispatch_tick` (the engine): claims due jobs a batch at a time and enqueues each batch as its
  own django-q2 task (`imports.tasks.run_batch_task`: the ids and the claim's time). Every
  worker of every cluster sharing the queue takes batches, so a burst spreads over all of them,
  and no task runs for long. `imports_worker`'s dispatcher calls it about every second; the
  every-minute schedule calls it too, as a fallback when only a bare qcluster runs.
- `dispatch_due_imports` (operators, tests, the benchmark): one synchronous pass in this process.

A batch task runs only the jobs that are still In progress under the very claim that enqueued
them (`claimed_at`). A task that arrives late (redelivered by the broker after its worker died,
or held in a queue past the lease) finds its jobs handed back or claimed again and does nothing.
"""

import datetime as dt
import logging
from collections import Counter
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Min

from imports.engine.config import engine_config
from imports.notify.senders import OUTBOX_TASK
from imports.engine.plugins import housekeeping_run
from core.claiming import claim_ids
from core.lanes import JOBS, lane_queue
from core.clock import db_now
from imports.jobs import states
from imports.models import ImportJob
from imports.notify.send import UNSENT_PASS_LIMIT, emails_send
from imports.notify.reminders import reminders_queue_due
from imports.engine.runner import run_jobs

logger = logging.getLogger(__name__)
Status = ImportJob.Status

# The dotted path queued batches carry: imports.tasks re-exports imports.engine.runner.run_batch_task.
RUN_BATCH_TASK = "imports.tasks.run_batch_task"


@dataclass
class DispatchSummary:
    recovered: int = 0
    claimed: int = 0
    batches: int = 0
    completed: int = 0
    completed_with_errors: int = 0
    failed: int = 0
    notified: int = 0

    def add(self, results: dict[int, str]) -> None:
        counts = Counter(results.values())
        self.completed += counts[Status.COMPLETED]
        self.completed_with_errors += counts[Status.COMPLETED_WITH_ERRORS]
        self.failed += counts[Status.FAILED]

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"Claimed {self.claimed}, completed {self.completed}, "
            + (f"completed with errors {self.completed_with_errors}, " if self.completed_with_errors else "")
            + f"failed {self.failed}, "
            f"recovered {self.recovered}"
        )


def imports_claim_due(*, now: dt.datetime, limit: int) -> list[int]:
    """Pending jobs due at `now` (oldest first, at most `limit`) → In progress with a lease.

    Jobs due at the same time are taken company by company: a batch locks the companies of its
    jobs while it runs (imports.engine.runner), so batches running side by side then hold different
    companies instead of all waiting on a company whose jobs are spread over every batch."""
    lease = {"claimed_at": now, "lease_expires_at": now + dt.timedelta(seconds=engine_config().lease_seconds)}
    with transaction.atomic():
        due = ImportJob.objects.filter(status=Status.PENDING, due_at__lte=now).order_by("due_at", "company_id", "id")
        return claim_ids(
            due,
            limit=limit,
            move=lambda ids: states.transition_many(ids, Status.PENDING, Status.IN_PROGRESS, **lease),
            move_one=lambda pk: states.transition(pk, Status.PENDING, Status.IN_PROGRESS, **lease),
        )


def imports_recover_expired(*, now: dt.datetime) -> int:
    """In progress past the lease → Pending, so a later pass runs them again.

    The lease (IMPORT_LEASE_SECONDS) is longer than the task timeout (Q_TIMEOUT), after which
    django-q2 has killed the worker, so a job recovered here has no live worker left. Rows another
    session still locks are skipped, never waited for: a frozen worker's transaction holds them
    until the server ends it (IMPORT_DB_IDLE_IN_TRANSACTION_SECONDS), and the next recovery takes them.
    """
    back = {"claimed_at": None, "lease_expires_at": None}
    with transaction.atomic():
        recovered = len(claim_ids(
            ImportJob.objects.filter(status=Status.IN_PROGRESS, lease_expires_at__lt=now).order_by("pk"),
            limit=None,
            move=lambda ids: states.transition_many(ids, Status.IN_PROGRESS, Status.PENDING, **back),
            move_one=lambda pk: states.transition(pk, Status.IN_PROGRESS, Status.PENDING, **back),
        ))
    if recovered:
        logger.warning("Recovered %s import job(s) whose worker lease expired.", recovered)
    return recovered


def next_pending_due() -> dt.datetime | None:
    """When the next Pending job falls due (a plain read: cheap to ask every second)."""
    return ImportJob.objects.filter(status=Status.PENDING).aggregate(next_due=Min("due_at"))["next_due"]


def jobs_in_flight(*, now: dt.datetime) -> int:
    """Jobs claimed and not yet finished whose lease still runs, whoever claimed them."""
    return ImportJob.objects.filter(status=Status.IN_PROGRESS, lease_expires_at__gte=now).count()


def _enqueue_batch(job_ids: list[int], claimed_at: dt.datetime) -> None:
    from django_q.tasks import async_task

    # A bulk import (up to 5,000 lines, tens of seconds for companies or users) runs as a task of
    # its own, so it has the batch time limit (Q_TIMEOUT) to itself and never drags other jobs past it.
    bulk = set(
        ImportJob.objects.filter(pk__in=job_ids, source=ImportJob.Source.IMPORT).values_list("pk", flat=True)
    ) if job_ids else set()
    groups = [ids for ids in [[pk for pk in job_ids if pk not in bulk]] + [[pk] for pk in job_ids if pk in bulk] if ids]

    # The jobs' lane by name: in the outbox lane's cluster (core.lanes) the default queue is the outbox's.
    queue = lane_queue(JOBS)

    def enqueue():
        for ids in groups:
            # save=False: a batch that succeeded leaves no task result (failures are still kept for
            # the admin). Its jobs record their own outcome, and saving a result costs the cluster's
            # monitor a read of every kept result (save_limit pruning) per batch: a sixth of a
            # burst's CPU, which on a busy machine the workers need.
            async_task(RUN_BATCH_TASK, ids, claimed_at, task_name=f"imports batch of {len(ids)}", save=False, cluster=queue)

    if settings.Q_CLUSTER.get("orm"):
        # The ORM broker writes the task with this connection: the claim and its task commit
        # together or not at all.
        enqueue()
    else:
        # Redis is outside the transaction: enqueue once the claim is committed. Dying in
        # between leaves the jobs In progress until their lease ends, then they are claimed again.
        transaction.on_commit(enqueue)


def dispatch_tick(
    *,
    now: dt.datetime | None = None,
    batch_size: int | None = None,
    in_flight_limit: int | None = None,
) -> DispatchSummary:
    """Claim due jobs, a batch at a time, and enqueue each batch as a task; returns what it did.

    Claims stop at `in_flight_limit` jobs claimed and unfinished (all clusters together): during
    a burst the queue holds a few seconds of work, enough to keep every worker busy, and a
    claimed job never waits in the queue for anything like its lease.
    """
    now = now or db_now()
    batch_size = batch_size or engine_config().dispatch_batch_size
    limit = engine_config().dispatch_in_flight if in_flight_limit is None else in_flight_limit
    summary = DispatchSummary()
    capacity = limit - jobs_in_flight(now=now)
    while capacity > 0:
        with transaction.atomic():
            job_ids = imports_claim_due(now=now, limit=min(batch_size, capacity))
            if job_ids:
                _enqueue_batch(job_ids, now)
        if not job_ids:
            break
        summary.claimed += len(job_ids)
        summary.batches += 1
        capacity -= len(job_ids)
    return summary


def dispatch_housekeeping(*, now: dt.datetime | None = None) -> int:
    """Hand jobs whose lease ended back to Pending (the next tick claims them again); returns how
    many. Also writes the reminders whose time has come to the outbox (sent with the other unsent
    emails) and runs what other rooms registered (imports.engine.plugins: bulk uploads left waiting
    for a confirmation are forgotten)."""
    now = now or db_now()
    reminders_queue_due(now=now)
    housekeeping_run(now=now)
    return imports_recover_expired(now=now)


def dispatch_due_imports(*, now: dt.datetime | None = None, batch_size: int | None = None) -> DispatchSummary:
    """One synchronous pass in this process: recover expired leases, send what the outbox has
    due (unless a burst of due jobs waits: jobs go first, see imports.notify.priority), then claim and run
    due jobs batch after batch until none is due. Emails the batches leave in the outbox while
    others are due go to sender tasks (a running cluster), or to the next pass.

    `now` fixes the clock for the whole pass (tests, operators); without it the real time is
    read before every batch.
    """
    clock = (lambda: now) if now is not None else db_now
    batch_size = batch_size or engine_config().dispatch_batch_size
    summary = DispatchSummary()
    summary.recovered = imports_recover_expired(now=clock())
    reminders_queue_due(now=clock())
    summary.notified = emails_send(now=clock(), limit=UNSENT_PASS_LIMIT, yield_to_jobs=True)
    while job_ids := imports_claim_due(now=clock(), limit=batch_size):
        summary.claimed += len(job_ids)
        summary.batches += 1
        summary.add(run_jobs(job_ids, now=clock()))
    return summary
