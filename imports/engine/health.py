"""Reads for operators: is the import engine keeping up? (`manage.py imports_health`, the staff page).

One selector, `imports_health`, returns every figure at one `now` (the database's clock,
core.clock); `ImportsHealth.problems` says which of them mean something is stuck. The command and
the page only show what it returns.

The last dispatch tick is the last one that COMPLETED: an every-minute tick that raised or ran
into the task timeout (django-q2 records it as a failed task) does not count, nor does a
dispatcher round that failed; the rounds `imports_worker`'s dispatcher completed count too
(imports.engine.workers records them). The last failure, whichever it was, is shown with its
reason. Each engine worker seen lately is listed with its clock's offset from the database's.
The vendor (issue 25): the jobs waiting for it (count, oldest due, next try) and its error rate, the
share of its calls of the last VENDOR_ERROR_WINDOW_SECONDS that were not done.
"""

import dataclasses
import datetime as dt

from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.utils.translation import gettext_lazy as _

from core.clock import db_now
from imports.engine.config import engine_config
from catalog.integrations.circuit import circuits_open
from catalog.models import VendorCall
from imports.models import EngineWorker, ImportJob, Notification, VendorOrder
from imports.engine.periodic import DISPATCH_SCHEDULE_FUNC, DISPATCH_SCHEDULE_NAME

DEFAULT_OVERDUE_SECONDS = 120
DEFAULT_STALE_TICK_SECONDS = 180
DEFAULT_UNSENT_SECONDS = 600
# Engine workers seen within this long are listed (and their clocks checked).
WORKER_SEEN_SECONDS = 600
# The vendor's error rate is the share of its calls (catalog.models.VendorCall) of the last this many
# seconds that were not done (refused, transient, no answer). Five minutes: long enough to hold enough
# calls for a share to mean something at a trickle, short enough that a recovery shows within minutes.
VENDOR_ERROR_WINDOW_SECONDS = 300

# Cache backends private to one process: a worker's heartbeat written there is invisible here.
_PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)

# Why the check fails, one phrase each; the command joins them on its one stderr line.
PROBLEM_OVERDUE = _("%(count)d pending job(s) overdue by more than %(seconds)ds (oldest by %(oldest)ds)")
PROBLEM_STUCK = _("%(count)d job(s) in progress past their lease")
PROBLEM_UNSENT = _("%(count)d notification(s) unsent for more than %(seconds)ds")
PROBLEM_NO_TICK = _("the dispatch schedule has never run")
PROBLEM_STALE_TICK = _("last dispatch tick %(age)ds ago (more than %(seconds)ds)")
PROBLEM_LAST_FAILURE = _("last dispatch failure %(age)ds ago: %(reason)s")
PROBLEM_CLOCK = _("the clock of worker %(name)s is %(offset)+.1fs off the database's (more than %(seconds)ss)")
# Where a failure of the every-minute tick (a failed django-q2 task) comes from, in place of a worker's name.
TICK_TASK_SOURCE = _("every-minute tick")
NO_REASON = _("no reason recorded")


@dataclasses.dataclass(frozen=True)
class ClusterHeartbeat:
    cluster_id: str
    host: str
    status: str
    last_heartbeat: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class DispatchFailure:
    at: dt.datetime
    reason: str  # one line
    source: str  # the worker's name (host:pid), or the every-minute tick's task


@dataclasses.dataclass(frozen=True)
class WorkerSeen:
    """An engine worker (imports.models.EngineWorker) seen lately."""

    name: str
    role: str
    clock_offset_seconds: float  # its clock minus the database's: positive when it is fast
    last_seen: dt.datetime
    last_round: dt.datetime | None
    last_failure_at: dt.datetime | None
    last_failure: str

    @property
    def role_label(self) -> str:
        return str(EngineWorker.Role(self.role).label) if self.role in EngineWorker.Role.values else self.role


@dataclasses.dataclass(frozen=True)
class VendorDown:
    """A vendor integration whose circuit is open (catalog.integrations.circuit): its orders are parked
    while one probe order at a time asks whether it is back."""

    integration: str
    since: dt.datetime
    next_probe: dt.datetime | None
    failed_probes: int


@dataclasses.dataclass(frozen=True)
class ImportsHealth:
    now: dt.datetime
    overdue_seconds: int
    stale_tick_seconds: int
    unsent_seconds: int
    pending: int
    due_now: int
    overdue: int
    oldest_overdue_seconds: int | None  # how long the oldest due pending job has waited (None: none due)
    in_progress_past_lease: int
    unsent_notifications: int
    unsent_notifications_old: int  # of which older than unsent_seconds
    dispatch_schedule_exists: bool
    last_tick: dt.datetime | None  # the last dispatch tick or dispatcher round that completed
    last_failure: DispatchFailure | None  # the last one that failed, with why
    workers: list[WorkerSeen]  # engine workers seen within worker_seen_seconds
    worker_seen_seconds: int
    clock_offset_warn_seconds: float
    # None: the heartbeats cannot be read from this process (no shared cache/broker) -> "unknown".
    clusters: list[ClusterHeartbeat] | None
    # Jobs waiting for the vendor (Waiting for vendor): how many, the oldest one's due time, and the
    # next try of their open vendor orders (the earliest; past means a sender should be at it now).
    vendor_waiting: int = 0
    vendor_waiting_oldest_due: dt.datetime | None = None
    vendor_next_try: dt.datetime | None = None
    # Vendor calls of the last vendor_window_seconds, and how many were not done.
    vendor_window_seconds: int = VENDOR_ERROR_WINDOW_SECONDS
    vendor_calls: int = 0
    vendor_calls_failed: int = 0
    # Vendors marked down by their circuit (none: every vendor is taken as up).
    vendor_down: tuple[VendorDown, ...] = ()

    @property
    def vendor_error_rate(self) -> float | None:
        """The share of the window's vendor calls that were not done (0 to 1); None without calls."""
        return None if not self.vendor_calls else self.vendor_calls_failed / self.vendor_calls

    @property
    def vendor_error_percent(self) -> float | None:
        rate = self.vendor_error_rate
        return None if rate is None else round(rate * 100, 1)

    @property
    def vendor_waiting_oldest_due_seconds(self) -> int | None:
        due = self.vendor_waiting_oldest_due
        return None if due is None else int((self.now - due).total_seconds())

    @property
    def last_tick_age_seconds(self) -> int | None:
        return None if self.last_tick is None else int((self.now - self.last_tick).total_seconds())

    @property
    def last_failure_age_seconds(self) -> int | None:
        return None if self.last_failure is None else int((self.now - self.last_failure.at).total_seconds())

    @property
    def workers_off_clock(self) -> list[WorkerSeen]:
        return [w for w in self.workers if abs(w.clock_offset_seconds) > self.clock_offset_warn_seconds]

    def problems(self) -> list[str]:
        """What is stuck or late beyond the thresholds, most urgent first; empty when healthy."""
        found = []
        if self.in_progress_past_lease:
            found.append(PROBLEM_STUCK % {"count": self.in_progress_past_lease})
        if self.overdue:
            found.append(
                PROBLEM_OVERDUE
                % {"count": self.overdue, "seconds": self.overdue_seconds, "oldest": self.oldest_overdue_seconds or 0}
            )
        if self.unsent_notifications_old:
            found.append(PROBLEM_UNSENT % {"count": self.unsent_notifications_old, "seconds": self.unsent_seconds})
        stale = self.last_tick is None or self.last_tick_age_seconds > self.stale_tick_seconds
        if self.last_tick is None:
            found.append(str(PROBLEM_NO_TICK))
        elif stale:
            found.append(PROBLEM_STALE_TICK % {"age": self.last_tick_age_seconds, "seconds": self.stale_tick_seconds})
        if stale and self.last_failure and (self.last_tick is None or self.last_failure.at > self.last_tick):
            # Why the ticks stopped completing, as far as the last failure says.
            found.append(PROBLEM_LAST_FAILURE % {"age": self.last_failure_age_seconds, "reason": self.last_failure.reason})
        for worker in self.workers_off_clock:
            found.append(
                PROBLEM_CLOCK
                % {"name": worker.name, "offset": worker.clock_offset_seconds, "seconds": f"{self.clock_offset_warn_seconds:g}"}
            )
        return found

    def as_dict(self) -> dict:
        def iso(value):
            return value.isoformat() if value else None

        return {
            "now": iso(self.now),
            "thresholds": {
                "overdue_seconds": self.overdue_seconds,
                "stale_tick_seconds": self.stale_tick_seconds,
                "unsent_seconds": self.unsent_seconds,
                "clock_offset_warn_seconds": self.clock_offset_warn_seconds,
                "worker_seen_seconds": self.worker_seen_seconds,
            },
            "pending": self.pending,
            "due_now": self.due_now,
            "overdue": self.overdue,
            "oldest_overdue_seconds": self.oldest_overdue_seconds,
            "in_progress_past_lease": self.in_progress_past_lease,
            "unsent_notifications": self.unsent_notifications,
            "unsent_notifications_old": self.unsent_notifications_old,
            "dispatch_schedule_exists": self.dispatch_schedule_exists,
            "last_tick": iso(self.last_tick),
            "last_tick_age_seconds": self.last_tick_age_seconds,
            "last_failure": None
            if self.last_failure is None
            else {**dataclasses.asdict(self.last_failure), "at": iso(self.last_failure.at),
                  "age_seconds": self.last_failure_age_seconds},
            "workers": [
                {**dataclasses.asdict(w), "last_seen": iso(w.last_seen), "last_round": iso(w.last_round),
                 "last_failure_at": iso(w.last_failure_at)}
                for w in self.workers
            ],
            "clusters": None
            if self.clusters is None
            else [{**dataclasses.asdict(c), "last_heartbeat": iso(c.last_heartbeat)} for c in self.clusters],
            "vendor": {
                "waiting_jobs": self.vendor_waiting,
                "oldest_due": iso(self.vendor_waiting_oldest_due),
                "oldest_due_seconds": self.vendor_waiting_oldest_due_seconds,
                "next_try": iso(self.vendor_next_try),
                "window_seconds": self.vendor_window_seconds,
                "calls": self.vendor_calls,
                "calls_not_done": self.vendor_calls_failed,
                "error_rate": None if self.vendor_error_rate is None else round(self.vendor_error_rate, 4),
                "down": [
                    {"integration": d.integration, "since": iso(d.since), "next_probe": iso(d.next_probe),
                     "failed_probes": d.failed_probes}
                    for d in self.vendor_down
                ],
            },
            "problems": [str(p) for p in self.problems()],
            "healthy": not self.problems(),
        }


def unsent_notifications_count(now: dt.datetime, *, older_than: dt.timedelta | None = None) -> int:
    """Emails about finished jobs that have not gone out (the outbox rows not Sent: Pending, or
    Failed after every retry); with `older_than`, only those written at least that long before `now`.

    The one place that knows where unsent notifications live."""
    unsent = Notification.objects.exclude(status=Notification.Status.SENT)
    if older_than is not None:
        unsent = unsent.filter(created_at__lte=now - older_than)
    return unsent.count()


def last_dispatch_tick(*, now: dt.datetime) -> tuple[bool, dt.datetime | None]:
    """Whether the dispatch schedule exists, and when a dispatch tick last COMPLETED (None: never).

    The newest round an engine worker recorded as completed (imports_worker's dispatcher, or the
    every-minute task: imports.engine.workers), on the database's clock. Only when no worker has
    recorded one (an installation upgraded while its workers still run the old code) the newest
    successful run of the every-minute task as django-q2 recorded it: on the clock of the worker
    that ran it, so never later than `now` here. Failed runs (an exception, the task timeout) are
    not ticks."""
    from django_q.models import Schedule, Task

    schedule = Schedule.objects.filter(name=DISPATCH_SCHEDULE_NAME).order_by("id").first()
    rounds = EngineWorker.objects.aggregate(last=Max("last_round_at"))["last"]
    if rounds is not None:
        return schedule is not None, rounds
    succeeded = Task.objects.filter(func=DISPATCH_SCHEDULE_FUNC, success=True)
    last = succeeded.order_by("-stopped").values_list("stopped", flat=True).first()
    if last is None and schedule is not None and schedule.task:
        # Results pruned (save_limit) but the schedule still remembers its last task id.
        last = succeeded.filter(id=schedule.task).values_list("stopped", flat=True).first()
    return schedule is not None, None if last is None else min(last, now)


def _task_failure_reason(result) -> str:
    """django-q2 keeps a failed task's result as "<message> : <traceback>": the message, one line."""
    if result is None:
        return str(NO_REASON)
    return " ".join(str(result).split(" : Traceback")[0].split())[:300]


def last_dispatch_failure(*, now: dt.datetime) -> DispatchFailure | None:
    """The newest failure of the dispatch: a failed every-minute task (its error; its time on the
    clock of the worker that ran it, so never later than `now` here), or a round an engine worker
    recorded as failed (its reason), whichever is later."""
    from django_q.models import Task

    failures = []
    task = Task.objects.filter(func=DISPATCH_SCHEDULE_FUNC, success=False).order_by("-stopped").values("stopped", "result").first()
    if task is not None and task["stopped"] is not None:
        failures.append(DispatchFailure(at=min(task["stopped"], now), reason=_task_failure_reason(task["result"]), source=str(TICK_TASK_SOURCE)))
    worker = EngineWorker.objects.filter(last_failure_at__isnull=False).order_by("-last_failure_at").first()
    if worker is not None:
        failures.append(DispatchFailure(at=worker.last_failure_at, reason=worker.last_failure, source=worker.name))
    return max(failures, key=lambda failure: failure.at, default=None)


def workers_seen(*, now: dt.datetime, within_seconds: int = WORKER_SEEN_SECONDS) -> list[WorkerSeen]:
    """The engine workers seen within `within_seconds` of `now`, by name."""
    recent = EngineWorker.objects.filter(last_seen_at__gte=now - dt.timedelta(seconds=within_seconds)).order_by("name")
    return [
        WorkerSeen(
            name=w.name, role=w.role, clock_offset_seconds=w.clock_offset_seconds, last_seen=w.last_seen_at,
            last_round=w.last_round_at, last_failure_at=w.last_failure_at, last_failure=w.last_failure,
        )
        for w in recent
    ]


def cluster_heartbeats() -> list[ClusterHeartbeat] | None:
    """Each running cluster's last heartbeat, or None when this process cannot see them: the ORM
    broker keeps them in Django's cache, which is per process unless the cache is shared."""
    if not getattr(settings, "Q_CLUSTER", {}).get("redis"):
        cache_name = settings.Q_CLUSTER.get("cache", "default")
        backend = settings.CACHES.get(cache_name, {}).get("BACKEND", "")
        if backend in _PROCESS_LOCAL_CACHES:
            return None
    try:
        from django_q.status import Stat

        stats = Stat.get_all()
    except Exception:  # broker or cache unreachable: say "unknown" rather than fail the check
        return None
    return [
        ClusterHeartbeat(
            cluster_id=str(stat.cluster_id),
            host=str(getattr(stat, "host", "")),
            status=str(getattr(stat, "status", "")),
            last_heartbeat=getattr(stat, "timestamp", None),
        )
        for stat in sorted(stats, key=lambda s: str(s.cluster_id))
    ]


def vendor_figures(*, now: dt.datetime, window_seconds: int = VENDOR_ERROR_WINDOW_SECONDS) -> dict:
    """imports_health's vendor half: jobs waiting for the vendor (count, oldest due, next try) and the
    vendor's calls of the last `window_seconds` (how many, how many not done)."""
    waiting = ImportJob.objects.filter(status=ImportJob.Status.WAITING).aggregate(count=Count("id"), oldest=Min("due_at"))
    next_try = VendorOrder.objects.filter(status=VendorOrder.Status.PENDING, outcome=VendorOrder.Outcome.OPEN).aggregate(
        next=Min("next_attempt_at")
    )["next"]
    calls = VendorCall.objects.filter(at__gt=now - dt.timedelta(seconds=window_seconds), at__lte=now).aggregate(
        total=Count("id"), failed=Count("id", filter=~Q(outcome=VendorCall.Outcome.DONE))
    )
    return {
        "vendor_waiting": waiting["count"],
        "vendor_waiting_oldest_due": waiting["oldest"],
        "vendor_next_try": next_try,
        "vendor_window_seconds": window_seconds,
        "vendor_calls": calls["total"],
        "vendor_calls_failed": calls["failed"],
        "vendor_down": tuple(
            VendorDown(c.integration, c.opened_at, c.probe_at, c.probe_failures) for c in circuits_open()
        ),
    }


def imports_health(
    *,
    now: dt.datetime | None = None,
    overdue_seconds: int = DEFAULT_OVERDUE_SECONDS,
    stale_tick_seconds: int = DEFAULT_STALE_TICK_SECONDS,
    unsent_seconds: int = DEFAULT_UNSENT_SECONDS,
    clock_offset_warn_seconds: float | None = None,
) -> ImportsHealth:
    now = now or db_now()
    pending = ImportJob.objects.filter(status=ImportJob.Status.PENDING)
    due = pending.filter(due_at__lte=now)
    oldest_due = due.aggregate(oldest=Min("due_at"))["oldest"]
    schedule_exists, last_tick = last_dispatch_tick(now=now)
    return ImportsHealth(
        now=now,
        overdue_seconds=overdue_seconds,
        stale_tick_seconds=stale_tick_seconds,
        unsent_seconds=unsent_seconds,
        pending=pending.count(),
        due_now=due.count(),
        overdue=pending.filter(due_at__lt=now - dt.timedelta(seconds=overdue_seconds)).count(),
        oldest_overdue_seconds=None if oldest_due is None else int((now - oldest_due).total_seconds()),
        in_progress_past_lease=ImportJob.objects.filter(
            status=ImportJob.Status.IN_PROGRESS, lease_expires_at__lt=now
        ).count(),
        unsent_notifications=unsent_notifications_count(now),
        unsent_notifications_old=unsent_notifications_count(now, older_than=dt.timedelta(seconds=unsent_seconds)),
        dispatch_schedule_exists=schedule_exists,
        last_tick=last_tick,
        last_failure=last_dispatch_failure(now=now),
        workers=workers_seen(now=now),
        worker_seen_seconds=WORKER_SEEN_SECONDS,
        clock_offset_warn_seconds=engine_config().clock_offset_warn_seconds
        if clock_offset_warn_seconds is None
        else clock_offset_warn_seconds,
        clusters=cluster_heartbeats(),
        **vendor_figures(now=now),
    )
