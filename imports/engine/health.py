"""Reads for operators: is the import engine keeping up? (`manage.py imports_health`, the staff page).

One selector, `imports_health`, returns every figure at one `now`; `ImportsHealth.problems` says
which of them mean something is stuck. The command and the page only show what it returns.
"""

import dataclasses
import datetime as dt

from django.conf import settings
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from imports.models import ImportJob, Notification
from imports.engine.periodic import DISPATCH_SCHEDULE_FUNC, DISPATCH_SCHEDULE_NAME

DEFAULT_OVERDUE_SECONDS = 120
DEFAULT_STALE_TICK_SECONDS = 180
DEFAULT_UNSENT_SECONDS = 600

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


@dataclasses.dataclass(frozen=True)
class ClusterHeartbeat:
    cluster_id: str
    host: str
    status: str
    last_heartbeat: dt.datetime | None


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
    last_tick: dt.datetime | None
    # None: the heartbeats cannot be read from this process (no shared cache/broker) -> "unknown".
    clusters: list[ClusterHeartbeat] | None

    @property
    def last_tick_age_seconds(self) -> int | None:
        return None if self.last_tick is None else int((self.now - self.last_tick).total_seconds())

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
        if self.last_tick is None:
            found.append(str(PROBLEM_NO_TICK))
        elif self.last_tick_age_seconds > self.stale_tick_seconds:
            found.append(PROBLEM_STALE_TICK % {"age": self.last_tick_age_seconds, "seconds": self.stale_tick_seconds})
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
            "clusters": None
            if self.clusters is None
            else [{**dataclasses.asdict(c), "last_heartbeat": iso(c.last_heartbeat)} for c in self.clusters],
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


def last_dispatch_tick() -> tuple[bool, dt.datetime | None]:
    """Whether the dispatch schedule exists, and when a dispatch task last finished (None: never)."""
    from django_q.models import Schedule, Task

    schedule = Schedule.objects.filter(name=DISPATCH_SCHEDULE_NAME).order_by("id").first()
    last = (
        Task.objects.filter(func=DISPATCH_SCHEDULE_FUNC).order_by("-stopped").values_list("stopped", flat=True).first()
    )
    if last is None and schedule is not None and schedule.task:
        # Results pruned (save_limit) but the schedule still remembers its last task id.
        last = Task.objects.filter(id=schedule.task).values_list("stopped", flat=True).first()
    return schedule is not None, last


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


def imports_health(
    *,
    now: dt.datetime | None = None,
    overdue_seconds: int = DEFAULT_OVERDUE_SECONDS,
    stale_tick_seconds: int = DEFAULT_STALE_TICK_SECONDS,
    unsent_seconds: int = DEFAULT_UNSENT_SECONDS,
) -> ImportsHealth:
    now = now or timezone.now()
    pending = ImportJob.objects.filter(status=ImportJob.Status.PENDING)
    due = pending.filter(due_at__lte=now)
    oldest_due = due.aggregate(oldest=Min("due_at"))["oldest"]
    schedule_exists, last_tick = last_dispatch_tick()
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
        clusters=cluster_heartbeats(),
    )
