"""Operator health: the imports_health selector, the command's exit code and output, the staff page."""

import datetime as dt
import io
import json
import uuid

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_q.models import Schedule, Task
from freezegun import freeze_time

from imports.engine.health import imports_health, unsent_notifications_count
from imports.models import EngineWorker, ImportJob, Notification
from imports.engine.periodic import DISPATCH_SCHEDULE_FUNC, DISPATCH_SCHEDULE_NAME

from .helpers import UTC, schedule

NOW = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)


# How django-q2 records a task killed at its timeout: "<message> : <traceback>".
TIMED_OUT = (
    "Task exceeded maximum timeout value (60 seconds) : Traceback (most recent call last):\n"
    '  File "django_q/worker.py", line 97, in worker\n'
    "django_q.exceptions.TimeoutException: Task exceeded maximum timeout value (60 seconds)\n"
)


def tick(at: dt.datetime, *, success=True, result=None) -> Task:
    """A finished run of the every-minute dispatch task, as django-q2 records it."""
    return Task.objects.create(
        id=uuid.uuid4().hex, name=f"tick-{at:%H%M%S}", func=DISPATCH_SCHEDULE_FUNC,
        started=at - dt.timedelta(seconds=55), stopped=at, success=success, result=result,
    )


def finished_unsent(demo, *, finished_at, status=Notification.Status.PENDING, **fields) -> ImportJob:
    """A job that ran, with its outbox row written in the same transaction and not sent yet."""
    finished = job(demo, due_at=finished_at - dt.timedelta(minutes=1), status=ImportJob.Status.COMPLETED,
                   finished_at=finished_at, **fields)
    notification = Notification.for_job(finished.pk, now=finished_at)
    notification.status = status
    notification.save()
    return finished


def job(demo, *, due_at, **fields) -> ImportJob:
    created = schedule(demo, due_at=due_at)
    if fields:
        ImportJob.objects.filter(pk=created.pk).update(**fields)
    return created


@pytest.fixture(autouse=True)
def orm_broker(settings):
    """These figures are about the ORM broker (the PostgreSQL pass of `make test` runs with Redis)."""
    settings.Q_CLUSTER = {**{k: v for k, v in settings.Q_CLUSTER.items() if k != "redis"}, "orm": "default"}


@pytest.fixture
def healthy(demo):
    """The demo data with a dispatch tick a minute ago: nothing is late."""
    with freeze_time(NOW - dt.timedelta(hours=1)):
        job(demo, due_at=NOW + dt.timedelta(hours=1))  # pending, not yet due
    tick(NOW - dt.timedelta(seconds=60))
    return demo


def engine_worker(name, *, seen, offset=0.0, last_round=None, failure_at=None, failure="", role="dispatcher"):
    """An engine worker as imports.engine.workers records it (times on the database's clock)."""
    return EngineWorker.objects.create(
        name=name, role=role, clock_offset_seconds=offset, last_seen_at=seen, last_round_at=last_round,
        last_failure_at=failure_at, last_failure=failure,
    )


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("imports_health", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


# --- the figures -------------------------------------------------------------------------------


def test_pending_due_and_overdue_count_only_pending_jobs(demo):
    with freeze_time(NOW - dt.timedelta(hours=2)):
        job(demo, due_at=NOW + dt.timedelta(minutes=5))  # pending, later
        job(demo, due_at=NOW - dt.timedelta(seconds=30))  # due, within the threshold
        job(demo, due_at=NOW - dt.timedelta(seconds=300))  # overdue by 5 minutes
        job(demo, due_at=NOW - dt.timedelta(hours=1), status=ImportJob.Status.CANCELLED)
        job(demo, due_at=NOW - dt.timedelta(hours=1), status=ImportJob.Status.COMPLETED)

    health = imports_health(now=NOW, overdue_seconds=120)

    assert (health.pending, health.due_now, health.overdue) == (3, 2, 1)
    assert health.oldest_overdue_seconds == 300
    assert imports_health(now=NOW, overdue_seconds=20).overdue == 2


def test_in_progress_counts_only_jobs_past_their_lease(demo):
    with freeze_time(NOW - dt.timedelta(hours=1)):
        status = ImportJob.Status.IN_PROGRESS
        job(demo, due_at=NOW - dt.timedelta(minutes=30), status=status, lease_expires_at=NOW - dt.timedelta(seconds=1))
        job(demo, due_at=NOW - dt.timedelta(minutes=1), status=status, lease_expires_at=NOW + dt.timedelta(minutes=5))

    assert imports_health(now=NOW).in_progress_past_lease == 1


def test_unsent_notifications_are_outbox_rows_not_sent(demo):
    with freeze_time(NOW - dt.timedelta(hours=1)):
        finished_unsent(demo, finished_at=NOW - dt.timedelta(minutes=20))
        finished_unsent(demo, finished_at=NOW - dt.timedelta(minutes=1))
        finished_unsent(demo, finished_at=NOW - dt.timedelta(minutes=30), status=Notification.Status.FAILED)
        finished_unsent(demo, finished_at=NOW - dt.timedelta(minutes=40), status=Notification.Status.SENT)

    assert unsent_notifications_count(NOW) == 3
    assert unsent_notifications_count(NOW, older_than=dt.timedelta(seconds=600)) == 2
    health = imports_health(now=NOW, unsent_seconds=600)
    assert (health.unsent_notifications, health.unsent_notifications_old) == (3, 2)


def test_the_last_tick_is_the_newest_dispatch_task_that_completed(demo):
    assert Schedule.objects.filter(name=DISPATCH_SCHEDULE_NAME).exists()
    assert imports_health(now=NOW).last_tick is None

    tick(NOW - dt.timedelta(minutes=5))
    # Timed out, as every tick did while a frozen worker held the locks (issue 22): not a tick.
    tick(NOW - dt.timedelta(seconds=70), success=False, result=TIMED_OUT)
    Task.objects.create(id="other", name="other", func="math.floor", started=NOW, stopped=NOW, success=True)

    health = imports_health(now=NOW)
    assert health.dispatch_schedule_exists
    assert health.last_tick == NOW - dt.timedelta(minutes=5)
    assert health.last_tick_age_seconds == 300
    assert health.last_failure.at == NOW - dt.timedelta(seconds=70)
    assert health.last_failure.reason == "Task exceeded maximum timeout value (60 seconds)"
    assert health.last_failure.source == "every-minute tick"


def test_a_dispatcher_round_that_completed_is_a_tick_and_a_failed_one_is_not(demo):
    tick(NOW - dt.timedelta(minutes=5))
    engine_worker("worker-1:41", seen=NOW - dt.timedelta(seconds=3), last_round=NOW - dt.timedelta(seconds=8))
    engine_worker(
        "worker-2:77", seen=NOW - dt.timedelta(seconds=2), last_round=NOW - dt.timedelta(minutes=14),
        failure_at=NOW - dt.timedelta(seconds=2), failure="OperationalError: canceling statement due to lock timeout",
    )

    health = imports_health(now=NOW)

    assert health.last_tick == NOW - dt.timedelta(seconds=8)
    assert (health.last_failure.at, health.last_failure.source) == (NOW - dt.timedelta(seconds=2), "worker-2:77")
    assert health.last_failure.reason == "OperationalError: canceling statement due to lock timeout"
    assert health.problems() == []  # a tick completed 8 s ago: one failed round is not a problem by itself


def test_django_q2s_task_times_on_a_fast_workers_clock_never_make_the_tick_look_newer(demo):
    # Seen with a worker 5 minutes fast: its tick's task "stopped" 5 minutes in the future, and the
    # last tick looked -184 s old. The engine's own records are on the database's clock.
    tick(NOW + dt.timedelta(minutes=4))
    assert imports_health(now=NOW).last_tick == NOW  # only django-q2's record: at most now
    engine_worker("worker-1:41", seen=NOW - dt.timedelta(seconds=50), last_round=NOW - dt.timedelta(seconds=50))
    health = imports_health(now=NOW)
    assert health.last_tick == NOW - dt.timedelta(seconds=50) and health.last_tick_age_seconds == 50


def test_the_newest_failure_wins_whoever_failed(demo):
    engine_worker("worker-1:41", seen=NOW, failure_at=NOW - dt.timedelta(minutes=3), failure="RuntimeError: old")
    tick(NOW - dt.timedelta(seconds=70), success=False, result=TIMED_OUT)

    failure = imports_health(now=NOW).last_failure
    assert (failure.at, failure.source) == (NOW - dt.timedelta(seconds=70), "every-minute tick")
    assert imports_health(now=NOW).last_failure_age_seconds == 70


def test_workers_seen_lately_are_listed_with_their_clock_offsets(demo, settings):
    engine_worker("worker-1:41", seen=NOW - dt.timedelta(seconds=3), offset=0.004)
    engine_worker("worker-2:77", seen=NOW - dt.timedelta(seconds=1), offset=300.2)  # five minutes fast
    engine_worker("worker-3:12", seen=NOW - dt.timedelta(seconds=40), offset=-1.5, role="tick")
    engine_worker("gone:1", seen=NOW - dt.timedelta(minutes=20), offset=-300.0)  # not seen lately

    health = imports_health(now=NOW)

    assert [(w.name, w.clock_offset_seconds) for w in health.workers] == [
        ("worker-1:41", 0.004), ("worker-2:77", 300.2), ("worker-3:12", -1.5)
    ]
    assert [w.name for w in health.workers_off_clock] == ["worker-2:77"]
    assert "the clock of worker worker-2:77 is +300.2s off the database's (more than 2s)" in health.problems()

    settings.IMPORT_CLOCK_OFFSET_WARN_SECONDS = 1.0
    assert [w.name for w in imports_health(now=NOW).workers_off_clock] == ["worker-2:77", "worker-3:12"]


def test_cluster_heartbeats_are_unknown_with_the_orm_broker_and_a_local_cache(demo):
    assert imports_health(now=NOW).clusters is None


def test_cluster_heartbeats_are_unknown_when_the_broker_fails(demo, settings, monkeypatch):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/nonexistent"}}

    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("django_q.status.Stat.get_all", broken)
    assert imports_health(now=NOW).clusters is None


def test_cluster_heartbeats_come_from_django_q_stats(demo, settings, monkeypatch):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp"}}

    class FakeStat:
        cluster_id, host, status, timestamp = "c1", "web-1", "Idle", NOW - dt.timedelta(seconds=2)

    monkeypatch.setattr("django_q.status.Stat.get_all", staticmethod(lambda: [FakeStat()]))
    (cluster,) = imports_health(now=NOW).clusters
    assert (cluster.cluster_id, cluster.host, cluster.status, cluster.last_heartbeat) == ("c1", "web-1", "Idle", FakeStat.timestamp)


# --- the command ------------------------------------------------------------------------------


@freeze_time(NOW)
def test_the_command_exits_0_when_nothing_is_late(healthy):
    code, out, err = run()

    assert code == 0, err
    assert err == ""
    assert "pending jobs:" in out and "due now:" in out and "last dispatch tick:" in out
    assert "2024-07-22 15:29:00 UTC (60s ago)" in out
    assert "cluster heartbeats:" in out and "unknown" in out


@freeze_time(NOW)
@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"due_at": NOW - dt.timedelta(seconds=500)}, "1 pending job(s) overdue by more than 120s (oldest by 500s)"),
        (
            {"due_at": NOW - dt.timedelta(minutes=30), "status": ImportJob.Status.IN_PROGRESS,
             "lease_expires_at": NOW - dt.timedelta(seconds=5)},
            "1 job(s) in progress past their lease",
        ),
        ({"finished_at": NOW - dt.timedelta(minutes=11)}, "1 notification(s) unsent for more than 600s"),
    ],
)
def test_the_command_exits_1_with_one_line_when_something_is_late_or_stuck(healthy, fields, reason):
    if "finished_at" in fields:
        finished_unsent(healthy, **fields)
    else:
        job(healthy, **fields)

    code, out, err = run()

    assert code == 1
    assert err.splitlines() == [f"unhealthy: {reason}"]


@freeze_time(NOW)
def test_a_stale_or_missing_tick_is_a_problem_and_thresholds_are_flags(demo):
    assert run()[2] == "unhealthy: the dispatch schedule has never run\n"

    tick(NOW - dt.timedelta(seconds=200))
    code, _, err = run()
    assert code == 1
    assert err == "unhealthy: last dispatch tick 200s ago (more than 180s)\n"

    assert run("--stale-tick-seconds", "300")[0] == 0


@freeze_time(NOW)
def test_ticks_that_stopped_completing_are_a_problem_with_the_last_failures_reason(demo):
    # The 14-minute freeze of issue 22: every tick timed out; the last one that completed is old.
    tick(NOW - dt.timedelta(minutes=14))
    for seconds in (87, 27):
        tick(NOW - dt.timedelta(seconds=seconds), success=False, result=TIMED_OUT)

    code, out, err = run()

    assert code == 1
    assert err.splitlines() == [
        "unhealthy: last dispatch tick 840s ago (more than 180s); "
        "last dispatch failure 27s ago: Task exceeded maximum timeout value (60 seconds)"
    ]
    assert "last dispatch tick:         2024-07-22 15:16:00 UTC (840s ago)" in out
    assert "last dispatch failure:      2024-07-22 15:29:33 UTC (27s ago) every-minute tick: Task exceeded" in out


@freeze_time(NOW)
def test_a_worker_whose_clock_is_off_makes_the_command_exit_1(healthy):
    engine_worker("worker-1:41", seen=NOW - dt.timedelta(seconds=3), offset=0.01, last_round=NOW - dt.timedelta(seconds=3))
    assert run()[0] == 0

    engine_worker("worker-2:77", seen=NOW - dt.timedelta(seconds=2), offset=-300.0, last_round=NOW - dt.timedelta(seconds=2))
    code, out, err = run()

    assert code == 1
    assert err.splitlines() == ["unhealthy: the clock of worker worker-2:77 is -300.0s off the database's (more than 2s)"]
    assert "engine workers:             2 seen in the last 600s" in out
    assert "  worker-2:77:              dispatcher, clock -300.000s (more than 2s off)" in out

    data = json.loads(run("--json")[1])
    assert [(w["name"], w["clock_offset_seconds"], w["last_seen"]) for w in data["workers"]] == [
        ("worker-1:41", 0.01, "2024-07-22T15:29:57+00:00"), ("worker-2:77", -300.0, "2024-07-22T15:29:58+00:00")
    ]
    assert data["last_tick"] == "2024-07-22T15:29:58+00:00"


@freeze_time(NOW)
def test_several_problems_share_the_one_line(healthy):
    job(healthy, due_at=NOW - dt.timedelta(seconds=130))
    job(healthy, due_at=NOW - dt.timedelta(minutes=30), status=ImportJob.Status.IN_PROGRESS,
        lease_expires_at=NOW - dt.timedelta(seconds=5))

    code, _, err = run()

    assert code == 1
    assert err.splitlines() == [
        "unhealthy: 1 job(s) in progress past their lease; 1 pending job(s) overdue by more than 120s (oldest by 130s)"
    ]
    assert run("--overdue-seconds", "200")[2].splitlines() == ["unhealthy: 1 job(s) in progress past their lease"]


@freeze_time(NOW)
def test_the_json_output(healthy):
    job(healthy, due_at=NOW - dt.timedelta(seconds=500))

    code, out, err = run("--json", "--unsent-seconds", "60")
    data = json.loads(out)

    assert code == 1 and err.startswith("unhealthy: ")
    assert data["thresholds"] == {
        "overdue_seconds": 120, "stale_tick_seconds": 180, "unsent_seconds": 60,
        "clock_offset_warn_seconds": 2.0, "worker_seen_seconds": 600,
    }
    assert (data["pending"], data["due_now"], data["overdue"], data["oldest_overdue_seconds"]) == (2, 1, 1, 500)
    assert (data["in_progress_past_lease"], data["unsent_notifications"], data["unsent_notifications_old"]) == (0, 0, 0)
    assert data["last_tick"] == "2024-07-22T15:29:00+00:00" and data["last_tick_age_seconds"] == 60
    assert data["clusters"] is None
    assert data["last_failure"] is None and data["workers"] == []
    assert data["problems"] == ["1 pending job(s) overdue by more than 120s (oldest by 500s)"]
    assert data["healthy"] is False


# --- the staff page ----------------------------------------------------------------------------


@freeze_time(NOW)
def test_staff_see_the_figures(client, healthy):
    job(healthy, due_at=NOW - dt.timedelta(seconds=500))
    client.force_login(healthy.staff)

    response = client.get(reverse("imports:health"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Import engine health" in page
    health = response.context["health"]
    assert (health.pending, health.due_now, health.overdue) == (2, 1, 1)
    assert "1 pending job(s) overdue by more than 120s (oldest by 500s)" in page
    assert "2024-07-22 15:29:00 UTC" in page
    assert "unknown" in page


@freeze_time(NOW)
def test_the_page_speaks_spanish(client, healthy):
    client.force_login(healthy.staff)
    client.cookies["django_language"] = "es"

    page = client.get(reverse("imports:health"), HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "Salud del motor de importaciones" in page
    assert "Trabajos pendientes" in page
    assert "Último fallo del despacho" in page


@freeze_time(NOW)
def test_staff_see_the_workers_clocks_and_the_last_failure(client, healthy):
    engine_worker(
        "worker-2:77", seen=NOW - dt.timedelta(seconds=2), offset=300.0, last_round=NOW - dt.timedelta(seconds=2),
        failure_at=NOW - dt.timedelta(seconds=40), failure="OperationalError: the database system is starting up",
    )
    client.force_login(healthy.staff)

    page = client.get(reverse("imports:health")).content.decode()

    assert "worker-2:77" in page and "clock 300.000 s from the database" in page
    assert "OperationalError: the database system is starting up" in page
    assert "the clock of worker worker-2:77 is +300.0s off the database&#x27;s (more than 2s)" in page


def test_the_admin_index_links_to_the_page(client, demo):
    client.force_login(demo.staff)

    page = client.get(reverse("admin:index")).content.decode()

    assert reverse("imports:health") in page
    assert "Companies" in page or "company" in page.lower()  # Django's own index still renders


def test_resellers_are_refused(client, demo):
    client.force_login(demo.admin_abbie)

    response = client.get(reverse("imports:health"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_anonymous_users_are_sent_to_log_in(client, db):
    response = client.get(reverse("imports:health"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
