"""`manage.py imports_worker`: a django-q2 cluster per lane plus the dispatcher, and a stop that works.

    imports_worker            this process: the dispatcher loop and the signal handling
      ├─ manage.py qcluster   the jobs' lane (Q_WORKERS), in a session (process group) of its own
      │    └─ sentinel, pusher, workers, monitor (django-q2)
      └─ manage.py qcluster   the outbox lane (IMPORT_OUTBOX_WORKERS), in a session of its own
           └─ sentinel, pusher, workers, monitor (django-q2)

Why two clusters: deliveries (webhook POSTs, emails from the outbox, next vendor calls) wait on
receivers we do not control. In a lane of their own (core.lanes: their own queue and workers,
imports.engine.outbox_lane) a receiver that hangs holds an outbox worker, never one a due job needs.
Each child is told its lane by IMPORT_WORKER_LANE in its environment (config.settings).

Why a parent process instead of a bare qcluster:
- Jobs run about a second after they fall due. django-q2's scheduler looks for due schedules
  only every 30 s; the dispatcher here looks every IMPORT_DISPATCH_POLL_SECONDS (or exactly at
  the next due time) and enqueues batches that any worker of any cluster takes.
- Stops never hang. django-q2 hangs when SIGTERM reaches its whole process group (upstream
  issue #346: its main process waits on an Event that its dead children can no longer set).
  Each cluster therefore runs in a group of its own, so a signal for our group (Ctrl-C in a
  terminal, `kill -TERM -<pgid>`, `make run` stopping) reaches only this process, which then
  sends SIGTERM to each cluster's main process alone (django-q2's graceful stop: running tasks
  finish) and SIGKILLs a cluster's group if it is not gone after IMPORT_WORKER_STOP_SECONDS.
  A killed batch rolls back and runs again after its lease; a killed sender's claims come back
  when their lease ends. If this process is killed outright, the kernel sends each cluster
  SIGTERM (PR_SET_PDEATHSIG), so nothing is left behind. If either cluster dies, imports_worker
  stops the other and exits with status 1 (its supervisor restarts the whole).
"""

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections

from core.clock import db_now

from core.lanes import JOBS, LANES, OUTBOX
from imports.engine.config import engine_config
from imports.engine.dispatch import dispatch_housekeeping, dispatch_tick, next_pending_due
from imports.engine.outbox_lane import outbox_senders_enqueue
from imports.engine.workers import Role, worker_record

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# After a database error the dispatcher waits 1, 2, 4 ... s (at most this) before trying again.
MAX_ERROR_BACKOFF_SECONDS = 30.0
# While a burst is larger than the jobs allowed in flight, look again this soon.
BURST_POLL_SECONDS = 0.2


def _terminate_with_parent() -> None:
    """In the cluster's process, before exec: SIGTERM when the parent dies (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's stop path still applies
        pass


def qcluster_command() -> list[str]:
    return [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "qcluster"]


class Supervisor:
    """Runs a cluster per lane as children and the dispatcher in this process until a stop signal."""

    def __init__(
        self,
        *,
        command: list[str] | None = None,
        outbox_command: list[str] | None = None,
        stop_seconds: float | None = None,
        poll_seconds: float | None = None,
        recovery_seconds: float | None = None,
    ):
        # The command each lane's cluster runs; its lane comes with the environment (lane_env).
        self.commands = {JOBS: command or qcluster_command(), OUTBOX: outbox_command or qcluster_command()}
        config = engine_config()
        self.stop_seconds = config.worker_stop_seconds if stop_seconds is None else stop_seconds
        self.poll_seconds = config.dispatch_poll_seconds if poll_seconds is None else poll_seconds
        self.recovery_seconds = config.recovery_seconds if recovery_seconds is None else recovery_seconds
        self.children: dict[str, subprocess.Popen] = {}
        self.stop_requested = 0  # how many stop signals arrived; a second one kills at once
        self._errors = 0
        self._last_housekeeping = float("-inf")
        self._last_record = float("-inf")

    # --- signals ----------------------------------------------------------------------------

    def _on_signal(self, signum, frame):
        self.stop_requested += 1
        if self.stop_requested == 1:
            logger.info("Got %s: stopping the dispatcher and the cluster.", signal.Signals(signum).name)

    def _install_signal_handlers(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)

    # --- the loop ---------------------------------------------------------------------------

    @staticmethod
    def lane_env(lane: str) -> dict[str, str]:
        """The environment of `lane`'s cluster: ours, with the lane it serves (config.settings)."""
        return {**os.environ, "IMPORT_WORKER_LANE": lane}

    def run(self) -> int:
        """Start the clusters and dispatch until stopped; the exit status (1: a cluster died)."""
        self._install_signal_handlers()
        status = 0
        try:
            for lane in LANES:
                self.children[lane] = subprocess.Popen(
                    self.commands[lane], env=self.lane_env(lane), start_new_session=True,
                    preexec_fn=_terminate_with_parent,
                )
                logger.info("Started the %s lane's qcluster (pid %s).", lane, self.children[lane].pid)
            logger.info("Dispatching every %ss.", self.poll_seconds)
            while not self.stop_requested:
                if died := self._died():
                    lane, child = died
                    sys.stderr.write(
                        f"imports_worker: qcluster exited unexpectedly with status {child.returncode} ({lane} lane)\n"
                    )
                    status = 1
                    break
                self._sleep(self.step())
        finally:
            self.stop_clusters()
        return status

    def _died(self) -> tuple[str, subprocess.Popen] | None:
        for lane, child in self.children.items():
            if child.poll() is not None:
                return lane, child
        return None

    def _sleep(self, seconds: float) -> None:
        """Sleep in short slices so that a stop signal is acted on within a tenth of a second."""
        deadline = time.monotonic() + seconds
        while not self.stop_requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))

    def step(self) -> float:
        """One round of the dispatcher; returns how long to wait before the next one."""
        close_old_connections()  # a connection the database dropped is replaced, not reused
        try:
            wait = self._dispatch()
        except Exception as exc:
            # The database is unreachable or locked: keep the cluster, try again a little later.
            self._errors += 1
            wait = min(2 ** (self._errors - 1), MAX_ERROR_BACKOFF_SECONDS)
            logger.exception("Dispatcher round failed (%s in a row); next try in %ss.", self._errors, wait)
            close_old_connections()
            # For the health report (best effort: with the database down this write fails too).
            worker_record(role=Role.DISPATCHER, failure=exc)
            return wait
        self._errors = 0
        if time.monotonic() - self._last_record >= self.recovery_seconds:
            # A round that completed (the health report's "last dispatch tick"), and this
            # process's clock offset; best effort, at most every IMPORT_RECOVERY_SECONDS.
            worker_record(role=Role.DISPATCHER, completed=True)
            self._last_record = time.monotonic()
        return wait

    def _dispatch(self) -> float:
        now = db_now()
        if time.monotonic() - self._last_housekeeping >= self.recovery_seconds:
            self._last_housekeeping = time.monotonic()
            recovered = dispatch_housekeeping(now=now)
            if recovered:
                logger.warning("Handed %s import job(s) whose lease ended back to Pending.", recovered)
            outbox_senders_enqueue(now=now)
        # Plain reads until something is due: a claim opens a write transaction, which on SQLite
        # would take the single write lock every second for nothing.
        next_due = next_pending_due()
        if next_due is None:
            return self.poll_seconds
        if next_due > now:
            return max(min(self.poll_seconds, (next_due - now).total_seconds()), 0.01)
        summary = dispatch_tick(now=now)
        if summary.claimed:
            logger.info("Dispatched %s import job(s) in %s batch(es).", summary.claimed, summary.batches)
        # More due than the in-flight limit let us claim: look again soon, not in a second.
        return BURST_POLL_SECONDS if self._more_due(now) else self.poll_seconds

    @staticmethod
    def _more_due(now) -> bool:
        next_due = next_pending_due()
        return next_due is not None and next_due <= now

    # --- stopping ---------------------------------------------------------------------------

    def stop_clusters(self) -> None:
        """SIGTERM to each cluster's main process only, SIGKILL to its group after stop_seconds
        (or at once on a second stop signal); the clusters stop side by side, within one
        stop_seconds. Returns when they are gone."""
        children = dict(self.children)
        for child in children.values():
            if child.poll() is None:
                try:
                    os.kill(child.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        requested = self.stop_requested
        deadline = time.monotonic() + self.stop_seconds

        def running():
            return [lane for lane, child in children.items() if child.poll() is None]

        while running() and time.monotonic() < deadline and self.stop_requested <= max(requested, 1):
            time.sleep(0.05)
        for lane in running():
            logger.warning("The %s lane's qcluster did not stop within %ss; killing it.", lane, self.stop_seconds)
        for child in children.values():
            # Whatever is left of the cluster's group (children of a main process that hung or died).
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            child.wait()
        logger.info("Stopped.")
