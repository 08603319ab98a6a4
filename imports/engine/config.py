"""The import engine's configuration: every knob of the dispatcher, the leases, the worker, the
django-q2 cluster and the email outbox, with its default, its meaning and its invariants, in one
place.

config.settings turns the environment into settings with `settings_from_env` (one line there);
code reads them typed through `engine_config()`, built from django.conf.settings on each call so
that tests (and `override_settings`) change them like any setting. The invariants are a Django
system check (imports.engine.checks): `manage.py check`, `imports_worker`, `migrate` and
`runserver` refuse to start with a configuration that could run a job twice.

This module imports nothing of Django's app machinery: the settings module imports it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from django.conf import settings

from core.lanes import JOBS, LANES, OUTBOX, lane_queue

# The management commands that are the engine's processes: their PostgreSQL sessions carry the
# timeouts of EngineConfig.db_session_options (config.settings applies them).
ENGINE_COMMANDS = ("imports_worker", "qcluster", "run_due_imports")

# A job claimed by a worker that died must run again within this long (the README's promise).
RECOVERY_PROMISE_SECONDS = 120

# The most vendor calls one try of a vendor order makes (imports.vendor.place: two checks, cart, checkout).
VENDOR_CALLS_PER_TRY = 4


def _knob(setting: str, kind: type, default, doc: str):
    return field(default=default, metadata={"setting": setting, "kind": kind, "doc": doc})


@dataclass(frozen=True)
class EngineConfig:
    # A batch takes about a second; Q_TIMEOUT is the hard stop for one that hangs (django-q2 then
    # kills that worker process, the batch's transaction rolls back).
    q_timeout: int = _knob("Q_TIMEOUT", int, 60, "seconds a batch task may run before it is killed")
    # The ORM broker hands a task that was taken but never acknowledged (its worker died) to
    # another worker after Q_RETRY; it must exceed Q_TIMEOUT or a still-running task runs twice.
    q_retry: int = _knob("Q_RETRY", int, 75, "seconds before an unacknowledged task is redelivered")
    q_workers: int = _knob("Q_WORKERS", int, 1, "worker processes per cluster (about one per core)")
    q_cluster_name: str = _knob("Q_CLUSTER_NAME", str, "icp", "the queue's name, shared by every cluster")
    q_poll: float = _knob("Q_POLL", float, 0.2, "seconds an idle cluster waits before looking at the ORM queue again")
    # The lease runs from the claim: it covers the wait in the queue (bounded by the in-flight
    # limit, a few seconds of work) plus at most Q_TIMEOUT of running, so a live worker is never
    # overtaken; anything longer only delays recovery.
    lease_seconds: int = _knob("IMPORT_LEASE_SECONDS", int, 90, "seconds a claimed job belongs to its worker")
    # How often the dispatcher looks for due jobs (it also wakes up exactly when the next one is due).
    dispatch_poll_seconds: float = _knob("IMPORT_DISPATCH_POLL_SECONDS", float, 1.0, "dispatcher poll")
    # Jobs per task. Small enough that a burst spreads over every worker, large enough that the
    # per-batch work (the task's trip through the broker, the reads: five queries for any number of
    # orders, a dozen statements to compile) stays small beside the jobs'. make bench-midnight, 10,000
    # jobs on 2 x 2: 50 a batch cost 9 CPU-seconds of jobs-lane workers and took 6.7 s, 100 cost 7
    # and took 5.0-5.6 s (and through the vendor 41.4 s against 43-45).
    dispatch_batch_size: int = _knob("IMPORT_DISPATCH_BATCH_SIZE", int, 100, "jobs per batch task")
    # At most this many jobs claimed and not yet finished, across all clusters: keeps every worker
    # busy during a burst while bounding how long a claimed job waits in the queue (see the lease).
    dispatch_in_flight: int = _knob("IMPORT_DISPATCH_IN_FLIGHT", int, 1000, "jobs claimed and unfinished, at most")
    # How often the dispatcher hands expired leases back and enqueues senders (outbox lane) for what the outbox has due.
    recovery_seconds: float = _knob("IMPORT_RECOVERY_SECONDS", float, 5.0, "seconds between lease recoveries")
    # What is due, leases, backoffs and the broker's locks are decided on the database's clock
    # (core.clock), so a worker whose clock is off runs nothing early; but its logs, django-q2's
    # task times and its schedules still follow its own clock. The health report names every
    # worker (imports.engine.workers) whose clock is further than this from the database's.
    clock_offset_warn_seconds: float = _knob(
        "IMPORT_CLOCK_OFFSET_WARN_SECONDS", float, 2.0, "a worker clock this far from the database's is reported"
    )
    # `imports_worker` stops its clusters gracefully on SIGTERM/SIGINT and kills what is left after
    # this long, so a stop never takes more than about ten seconds (a killed batch rolls back and
    # runs again after its lease).
    worker_stop_seconds: float = _knob("IMPORT_WORKER_STOP_SECONDS", float, 8.0, "graceful stop, then kill")
    # The email outbox (imports.notify.send). A sender claims a chunk of emails at a time, sends
    # them over one SMTP connection and marks the accepted ones sent in one UPDATE after the chunk.
    # At 50, a batch's emails are two claims, two connections, two UPDATEs, and the per-chunk work
    # (claim, reads, mark) is spread over 50 messages (CPU per email, bench_emails on PostgreSQL: about
    # 1.6 ms at 10, 1.0 ms at 50 before the chunk's reads were narrowed and its envelopes pipelined,
    # 0.6 ms since). Its price, what a crash may re-send: a sender dying after the mail server
    # accepted messages and before the chunk's UPDATE re-sends at most IMPORT_EMAIL_CLAIM_CHUNK
    # messages (50), each with its own stable Message-ID, once the lease ends; never loses one.
    email_timeout: int = _knob("EMAIL_TIMEOUT", int, 10, "seconds one SMTP exchange may take")
    email_claim_chunk: int = _knob("IMPORT_EMAIL_CLAIM_CHUNK", int, 50, "emails a sender claims at a time")
    # How long a sender holds what it claimed: how long a dead sender's chunk waits before another
    # sender takes it. Independent of the chunk: a sender starts a message only while at least
    # EMAIL_TIMEOUT of its claim's lease is left and releases the rest, so a live sender never loses
    # a message it is sending (imports.E004: the lease must leave room for one exchange at least).
    email_lease_seconds: int | None = _knob(
        "IMPORT_EMAIL_LEASE_SECONDS", int, None, "seconds a sender holds its claim (default: 4 x EMAIL_TIMEOUT + 20)"
    )
    # While due jobs wait for a worker, finished jobs' emails wait in the outbox (provisioning
    # first, imports.notify.priority), but never longer than this: then they go whatever waits.
    email_defer_seconds: int = _knob("IMPORT_EMAIL_DEFER_SECONDS", int, 60, "longest an email waits for a burst")
    # ... and only during a burst: while at least this many due jobs are unfinished (default: a
    # batch). With fewer, as when jobs fall due one at a time, every run sends its emails at once.
    email_burst_jobs: int | None = _knob("IMPORT_EMAIL_BURST_JOBS", int, None, "due jobs that make a burst")
    # Sender tasks of one outbox kind (emails, webhooks, vendor orders) queued or running at once, at
    # most, whoever asks for them (runs, the dispatcher, senders handing on: core.outbox.SenderPlaces):
    # about the outbox workers of all machines, so each one helps; more would only queue up behind
    # them and end at once, finding nothing left to claim.
    outbox_senders: int = _knob("IMPORT_OUTBOX_SENDERS", int, 4, "sender tasks of a kind queued or running, at most")
    # The outbox lane (core.lanes): webhook deliveries and the emails the fast path left run in a
    # cluster of their own, on the queue "<Q_CLUSTER_NAME>-outbox", so a receiver that hangs
    # holds none of the workers due jobs need. `imports_worker` starts it beside the jobs' one.
    # Its workers mostly wait on the network, so a couple per machine are cheap.
    outbox_workers: int = _knob("IMPORT_OUTBOX_WORKERS", int, 2, "worker processes of the outbox lane's cluster")
    # A sender task starts no new delivery after this long (the rest stay in the outbox for the
    # next sender), and each delivery's exchange is bounded by its own timeout (WEBHOOK_TIMEOUT,
    # EMAIL_TIMEOUT): a sender ends on its own within the budget plus one timeout, well before
    # Q_TIMEOUT would kill it (imports.E007).
    outbox_budget_seconds: float = _knob(
        "IMPORT_OUTBOX_BUDGET_SECONDS", float, 20.0, "seconds a sender task goes on starting deliveries"
    )
    # One webhook POST (connect, send, each wait for the answer). A receiver slower than this has
    # the attempt counted as failed and its other deliveries of that pass put back with the backoff.
    webhook_timeout: float = _knob("WEBHOOK_TIMEOUT", float, 10.0, "seconds one webhook request may take")

    # Transient database trouble (a lost connection, a restart, a deadlock, a lock or statement
    # timeout) is not a verdict on an order: the batch task tries again, waiting 0.5, 1, 2 ... s, for
    # at most this long (well inside Q_TIMEOUT), then leaves its jobs to lease recovery, which hands
    # them to a later pass.
    transient_retry_seconds: float = _knob(
        "IMPORT_TRANSIENT_RETRY_SECONDS", float, 20.0, "seconds a batch keeps retrying after a database blip"
    )
    # A job whose runs keep meeting transient trouble fails (with a reason saying so) only once it is
    # this late: long enough for any restart or failover, short enough that a reseller hears of it.
    transient_deadline_seconds: int = _knob(
        "IMPORT_TRANSIENT_DEADLINE_SECONDS", int, 3600, "seconds past due before transient trouble fails a job"
    )
    # The vendor outbox (imports.vendor: orders placed with Microsoft and other vendors with a connector).
    # Transient vendor trouble (5xx, 429, no answer) keeps a job Waiting, tried again with backoff, until
    # this long after its due time; then its vendor orders expire and the job fails with the last reason.
    vendor_deadline_seconds: int = _knob(
        "IMPORT_VENDOR_DEADLINE_SECONDS", int, 6 * 3600, "seconds past due before vendor trouble fails a job"
    )
    # Vendor orders a sender tries at once (threads: each only waits on the vendor's answer, the sender's
    # own thread does the database work), on the batch's fast path and in the outbox lane's senders. A
    # batch's (IMPORT_DISPATCH_BATCH_SIZE, 100) in two rounds: its try takes two tries' calls (about
    # 6 x the vendor's latency), not one try's times the batch over 16 (make bench-midnight). At most
    # MICROSOFT_MAX_CONNECTIONS (a thread never waits for a pooled connection).
    vendor_concurrency: int = _knob("IMPORT_VENDOR_CONCURRENCY", int, 50, "vendor orders tried at once by one sender")
    # How long a sender holds a vendor order it claimed: one try is a few calls (checks, cart, checkout),
    # each bounded by MICROSOFT_CONNECT_TIMEOUT + MICROSOFT_READ_TIMEOUT, so a live sender never loses it;
    # also how long a vendor order whose sender died waits before another sender finishes it (same ids).
    vendor_lease_seconds: int = _knob("IMPORT_VENDOR_LEASE_SECONDS", int, 180, "seconds a sender holds a vendor order")
    # The wait after a vendor order's first transient trouble, doubled after each further one up to 60 times
    # this (15 s → 15 min by default; never earlier than the vendor's Retry-After). A knob like every other
    # engine timing, so a fault drill (tests/reliability/test_vendor_burst.py) finishes in minutes, not hours.
    vendor_backoff_seconds: float = _knob(
        "IMPORT_VENDOR_BACKOFF_SECONDS", float, 15.0, "seconds before a vendor order's first retry (doubling)"
    )

    # PostgreSQL sessions of the engine's processes (imports_worker, qcluster, run_due_imports)
    # carry these, so a frozen or hung worker cannot hold locks others need for long:
    # - a transaction left idle (its process stopped, e.g. SIGSTOP or a swap storm) is ended by the
    #   server after this long, which frees its row locks well before its jobs' lease runs out;
    db_idle_in_transaction_seconds: int = _knob(
        "IMPORT_DB_IDLE_IN_TRANSACTION_SECONDS", int, 20, "idle_in_transaction_session_timeout of workers"
    )
    # - a statement waiting for a lock gives up after this long (a transient error: retried);
    db_lock_timeout_seconds: int = _knob("IMPORT_DB_LOCK_TIMEOUT_SECONDS", int, 5, "lock_timeout of workers")
    # - and no statement runs longer than this (a batch's statements take milliseconds).
    db_statement_timeout_seconds: int = _knob(
        "IMPORT_DB_STATEMENT_TIMEOUT_SECONDS", int, 30, "statement_timeout of workers"
    )

    def __post_init__(self):
        # Derived defaults, so that changing one knob moves what depends on it.
        if self.email_lease_seconds is None:
            object.__setattr__(self, "email_lease_seconds", 4 * self.email_timeout + 20)
        if self.email_burst_jobs is None:
            object.__setattr__(self, "email_burst_jobs", self.dispatch_batch_size)

    @classmethod
    def knobs(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    def errors(self) -> list[tuple[str, str]]:
        """(id, message) for each invariant this configuration breaks: each one could run a job
        or send an email twice, or stop the engine."""
        found = []
        positive = ("q_timeout", "q_retry", "q_workers", "lease_seconds", "dispatch_batch_size", "dispatch_in_flight",
                    "email_timeout", "email_claim_chunk", "email_lease_seconds", "outbox_senders", "email_burst_jobs",
                    "transient_deadline_seconds", "db_idle_in_transaction_seconds", "db_lock_timeout_seconds",
                    "db_statement_timeout_seconds", "outbox_workers", "vendor_deadline_seconds", "vendor_concurrency",
                    "vendor_lease_seconds", "vendor_backoff_seconds")
        for name in positive:
            if getattr(self, name) <= 0:
                found.append(("imports.E001", f"{_setting(name)} must be greater than 0 (it is {getattr(self, name)})."))
        for name in ("dispatch_poll_seconds", "recovery_seconds", "worker_stop_seconds", "q_poll", "outbox_budget_seconds",
                     "webhook_timeout", "clock_offset_warn_seconds"):
            if getattr(self, name) <= 0:
                found.append(("imports.E001", f"{_setting(name)} must be greater than 0 (it is {getattr(self, name)})."))
        if self.transient_retry_seconds < 0:
            found.append(("imports.E001", f"IMPORT_TRANSIENT_RETRY_SECONDS must not be negative (it is {self.transient_retry_seconds})."))
        if self.transient_retry_seconds + self.db_statement_timeout_seconds >= self.q_timeout:
            found.append((
                "imports.E005",
                "IMPORT_TRANSIENT_RETRY_SECONDS + IMPORT_DB_STATEMENT_TIMEOUT_SECONDS must be less than Q_TIMEOUT: "
                "a batch retrying after a database blip would be killed mid-retry.",
            ))
        if self.db_idle_in_transaction_seconds >= self.lease_seconds:
            found.append((
                "imports.E006",
                "IMPORT_DB_IDLE_IN_TRANSACTION_SECONDS must be less than IMPORT_LEASE_SECONDS: a frozen worker "
                "would still hold its jobs' locks when their lease ends, and recovery could not hand them back.",
            ))
        if self.db_lock_timeout_seconds >= self.q_timeout or self.db_statement_timeout_seconds >= self.q_timeout:
            found.append((
                "imports.E006",
                "IMPORT_DB_LOCK_TIMEOUT_SECONDS and IMPORT_DB_STATEMENT_TIMEOUT_SECONDS must be less than Q_TIMEOUT.",
            ))
        if self.email_defer_seconds < 0:
            found.append(("imports.E001", f"IMPORT_EMAIL_DEFER_SECONDS must not be negative (it is {self.email_defer_seconds})."))
        if self.q_retry <= self.q_timeout:
            found.append(("imports.E002", "Q_RETRY must be greater than Q_TIMEOUT: a task still running would be delivered again."))
        if self.lease_seconds <= self.q_timeout:
            found.append(("imports.E003", "IMPORT_LEASE_SECONDS must be greater than Q_TIMEOUT: a live worker's jobs would be claimed again."))
        if self.email_lease_seconds < 2 * self.email_timeout:
            found.append((
                "imports.E004",
                "IMPORT_EMAIL_LEASE_SECONDS must be at least twice EMAIL_TIMEOUT: a sender starts a message only while "
                "EMAIL_TIMEOUT of its claim's lease is left, so a shorter lease leaves it hardly any time to send.",
            ))
        if self.outbox_budget_seconds + max(self.webhook_timeout, self.email_timeout) >= self.q_timeout:
            found.append((
                "imports.E007",
                "IMPORT_OUTBOX_BUDGET_SECONDS plus the longest delivery timeout (WEBHOOK_TIMEOUT, EMAIL_TIMEOUT) must be "
                "less than Q_TIMEOUT: a sender would be killed mid-delivery, and what it claimed would wait for its lease.",
            ))
        # One try of a vendor order: the vendor checks (a couple of reads), the cart, its checkout.
        vendor_try = VENDOR_CALLS_PER_TRY * (
            float(getattr(settings, "MICROSOFT_CONNECT_TIMEOUT", 5.0)) + float(getattr(settings, "MICROSOFT_READ_TIMEOUT", 30.0))
        )
        if self.vendor_lease_seconds < vendor_try:
            found.append((
                "imports.E008",
                f"IMPORT_VENDOR_LEASE_SECONDS must cover a whole vendor try ({VENDOR_CALLS_PER_TRY} calls of "
                f"MICROSOFT_CONNECT_TIMEOUT + MICROSOFT_READ_TIMEOUT, {vendor_try:g} s): another sender would take "
                "the vendor order while the first still waits on the vendor.",
            ))
        return found

    def warnings(self) -> list[tuple[str, str]]:
        if self.lease_seconds + self.recovery_seconds + self.dispatch_poll_seconds >= RECOVERY_PROMISE_SECONDS:
            return [("imports.W001", "A dead worker's jobs will wait more than two minutes before they run again.")]
        return []

    def db_session_options(self) -> str:
        """libpq `options` for the engine processes' PostgreSQL sessions (config.settings applies them)."""
        return (
            f"-c idle_in_transaction_session_timeout={self.db_idle_in_transaction_seconds * 1000}"
            f" -c lock_timeout={self.db_lock_timeout_seconds * 1000}"
            f" -c statement_timeout={self.db_statement_timeout_seconds * 1000}"
        )

    def q_cluster(self, *, redis_url: str, label, lane: str = JOBS) -> dict:
        """django-q2's Q_CLUSTER for these values: Redis when `redis_url`, else the ORM broker.
        A cluster started with it serves `lane` (core.lanes): the jobs' queue, or the outbox's."""
        if lane not in LANES:
            raise ValueError(f"IMPORT_WORKER_LANE must be one of {', '.join(LANES)} (it is {lane!r}).")
        cluster = {
            # The installation's name: the jobs' queue, the prefix of every lane's queue, and the
            # key that signs tasks (so every lane's clusters must share it).
            "name": self.q_cluster_name,
            "workers": self.q_workers,
            "timeout": self.q_timeout,
            "retry": self.q_retry,
            # Never replay missed runs of the every-minute fallback tick: one tick picks up every due job.
            "catch_up": False,
            "max_attempts": 1,
            "ack_failures": True,
            "save_limit": 500,
            # Each cluster takes from the shared queue one task beyond those its workers run (django-q2's
            # default prefetches workers squared): batches spread over every cluster instead of the
            # quickest one hoarding them, and a graceful stop has little queued work to finish.
            "queue_limit": 1,
            "label": label,
        }
        if lane == OUTBOX:
            # The queue this cluster takes tasks from (and its scheduler runs no null-cluster schedule:
            # the every-minute tick stays in the jobs' lane).
            cluster["cluster_name"] = lane_queue(OUTBOX, name=self.q_cluster_name)
            cluster["workers"] = self.outbox_workers
        if redis_url:
            cluster["redis"] = redis_url
        else:
            # ORM broker on the default database: no extra service to run; tasks in enqueue order.
            cluster["orm"] = "default"
            cluster["broker_class"] = "imports.engine.broker.FifoORM"
            # How soon a cluster that found the queue empty looks again. A batch takes about 50 ms, so
            # at 0.5 s the cluster that happened to be awake took a whole small burst (500 jobs) alone.
            cluster["poll"] = self.q_poll
        return cluster


def _setting(name: str) -> str:
    return EngineConfig.__dataclass_fields__[name].metadata["setting"]


def config_from_env(env) -> EngineConfig:
    """The configuration the environment asks for, read with django-environ's `env` (config.settings)."""
    values = {}
    for knob in EngineConfig.knobs():
        reader = {int: env.int, float: env.float, str: env.str}[knob.metadata["kind"]]
        values[knob.name] = reader(knob.metadata["setting"], default=knob.default)
    return EngineConfig(**values)


def as_settings(config: EngineConfig) -> dict:
    """The configuration as Django settings, by their names (IMPORT_LEASE_SECONDS, ...)."""
    return {knob.metadata["setting"]: getattr(config, knob.name) for knob in EngineConfig.knobs()}


def engine_config() -> EngineConfig:
    """The configuration in force, typed, from django.conf.settings."""
    return EngineConfig(**{knob.name: getattr(settings, knob.metadata["setting"]) for knob in EngineConfig.knobs()})
