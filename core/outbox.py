"""One outbox for everything the portal sends later: email notifications (imports.notify),
webhook deliveries (imports.webhooks), and any kind that comes next (vendor calls, ...).

A kind is three things:
- a model inheriting OutboxItem (its own payload fields beside the shared bookkeeping), written in
  the transaction that decides to send, so a rolled-back decision sends nothing and a committed one
  is never lost;
- an Outbox(model, OutboxPolicy(...)): how long a sender holds what it claimed, how many it claims
  at a time, the backoff and when to give up;
- a handler that sends a claimed chunk (`deliver` of Outbox.send_due) and marks each row.

The moves, each a conditional UPDATE that says whether it happened:
- claim: due Pending rows get `next_attempt_at = now + lease` (core.claiming.claim_ids, so two
  senders never take the same row). The lease is what keeps a second sender off while the first
  one sends; if the first dies, the row is due again when the lease ends. That is the only way a
  row can go out twice: its sender died after the receiver accepted it and before mark_sent.
- mark sent: only once the receiver accepted it (or there was nothing to send), only from Pending
  (the claimed state: there is no separate status, the lease lives in next_attempt_at); one row
  (mark_sent) or the accepted rows of a chunk in one statement (mark_sent_many, after the chunk:
  then a sender dying in between re-sends up to that chunk).
- mark failed: attempts + 1, the error kept, due again after an exponential backoff; after
  max_attempts the row is Failed (staff see it in the admin and can "Retry now").
- release: rows a sender claimed but will not try after all (its time budget ran out) are due
  again at once, their attempts unchanged; only while they are still under that sender's claim.
- retry now: staff's "Retry now" (core.outbox_admin): Pending or Failed rows become due at once;
  sent ones stay sent.

A sender may be given a time Budget (send_due's `budget`): it claims nothing more once the budget
is spent, and its handler releases what it claimed and did not start. Senders run in the outbox's
lane (core.lanes), so a receiver that hangs holds a sender, never a due job's worker; the budget
keeps that sender short, so the others (and the other receivers) are not held either.

How many senders of a kind may be queued or running at once: SenderPlaces (below).

This module imports no app: the kinds import it, never the reverse.
"""

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.db.models import CharField, F, Func, Q, QuerySet, Value
from django.utils.translation import gettext_lazy as _

from core.claiming import claim_ids

# 1 + 2 + 4 + ... + 32 minutes, then hourly: about six hours of trying before giving up.
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=1)
MAX_ATTEMPTS = 12
ERROR_MAX_LENGTH = 2000


class OutboxItem(models.Model):
    """The bookkeeping every outbox row shares. A concrete kind adds its payload fields, inherits
    Meta (`class Meta(OutboxItem.Meta)`) and declares the claim's index with due_index(name)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        # Given up after its policy's max_attempts failures; staff can still "Retry now".
        FAILED = "failed", _("Failed")

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When a sender may pick it up: due now, after a backoff, or after a sender's lease ran out.
    next_attempt_at = models.DateTimeField(_("next attempt"))
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @staticmethod
    def due_index(name: str) -> models.Index:
        """The index claims and "anything due?" read: (status, next_attempt_at, id), the claim's very
        order, so a claim reads its chunk's rows and stops (without the id, a burst's rows, all due at
        one instant, were read and sorted whole for each chunk). Declared by each concrete model under
        its own name (index names are unique per database)."""
        return models.Index(fields=["status", "next_attempt_at", "id"], name=name)


Status = OutboxItem.Status


@dataclass(frozen=True)
class OutboxPolicy:
    """How one kind is sent. `lease` and `chunk` are read at each claim (settings may change them)."""

    # How long a sender holds the rows it claimed: longer than sending a whole chunk, so a live
    # sender never loses them; also how long a row whose sender died waits for another sender.
    lease: Callable[[], dt.timedelta]
    # Rows claimed at a time (at least one).
    chunk: Callable[[], int]
    backoff_base: dt.timedelta = BACKOFF_BASE
    backoff_cap: dt.timedelta = BACKOFF_CAP
    max_attempts: int = MAX_ATTEMPTS
    error_max_length: int = ERROR_MAX_LENGTH
    # Mark sent without waiting for the WAL to reach the disk (PostgreSQL; see
    # committed_without_waiting_for_disk): for kinds sent one commit per row in bursts.
    sent_without_waiting_for_disk: bool = False


class Budget:
    """How long a sender may go on starting sends. On the monotonic clock (a duration, not a
    time of day; `clock` for tests)."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def __repr__(self) -> str:
        return f"Budget({self.seconds} s, {self.left():.1f} s left)"

    def left(self) -> float:
        return max(self._ends - self._clock(), 0.0)

    def spent(self) -> bool:
        return self._clock() >= self._ends


def committed_without_waiting_for_disk(queryset: QuerySet) -> QuerySet:
    """`queryset`, whose UPDATE, on PostgreSQL, commits without waiting for its WAL to reach the
    disk: set_config('synchronous_commit', 'off', is_local) is part of the statement's own
    condition, so the setting covers that one autocommitted statement and nothing else, in one
    round trip.

    Marking a message sent is one commit per message, and waiting for each flush was most of a
    burst's time. Visibility is unchanged: other connections see the mark at once and a worker
    crash loses nothing. Only a crash of the database server itself, within a fraction of a
    second, could lose the mark, and then that message is sent again (the same Message-ID or
    event id): the outbox's promise (at most a re-send, never a loss) still holds.
    """
    if connection.vendor != "postgresql":
        return queryset  # (SQLite: one autocommitted UPDATE)
    setting = Func(Value("synchronous_commit"), Value("off"), Value(True), function="set_config", output_field=CharField())
    return queryset.alias(_sync_commit=setting).filter(_sync_commit="off")


class Outbox:
    """The moves of one kind (`model`, an OutboxItem) under its `policy`."""

    def __init__(self, model: type[OutboxItem], policy: OutboxPolicy):
        self.model = model
        self.policy = policy

    def __repr__(self) -> str:
        return f"Outbox({self.model.__name__})"

    # --- Policy ---------------------------------------------------------------------------------

    def lease(self) -> dt.timedelta:
        return self.policy.lease()

    def chunk(self) -> int:
        return max(self.policy.chunk(), 1)

    def backoff(self, attempts: int) -> dt.timedelta:
        """The wait after the `attempts`-th failure: base, 2 × base, 4 × base, ..., at most the cap.
        (Doubled step by step up to the cap: a row staff retried many times, its attempts past any
        max_attempts, never overflows a timedelta.)"""
        wait, cap, doublings = self.policy.backoff_base, self.policy.backoff_cap, max(attempts - 1, 0)
        while doublings and wait < cap:
            wait, doublings = wait * 2, doublings - 1
        return min(wait, cap)

    # --- Reading --------------------------------------------------------------------------------

    def due(self, *, now: dt.datetime) -> QuerySet:
        """Pending rows a sender may take at `now` (new, backed off long enough, or whose lease ended)."""
        return self.model.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)

    def has_due(self, *, now: dt.datetime) -> bool:
        return self.due(now=now).exists()

    # --- Moves ----------------------------------------------------------------------------------

    def lease_end(self, now: dt.datetime) -> dt.datetime:
        """When a claim made at `now` ends: the claimed rows' next_attempt_at, which also tells
        that claim's rows from rows claimed again by another sender after it ended."""
        return now + self.lease()

    def claim(self, *, now: dt.datetime, limit: int | None, within: Q | None = None) -> list[int]:
        """Due rows (of `within` if given), oldest due first → leased to this caller until now + lease."""
        lease_end = self.lease_end(now)
        due = self.due(now=now)
        if within is not None:
            due = due.filter(within)

        def still_due(ids):
            return self.due(now=now).filter(pk__in=ids)

        with transaction.atomic():
            return claim_ids(
                due.order_by("next_attempt_at", "id"),
                limit=limit,
                move=lambda ids: still_due(ids).update(next_attempt_at=lease_end),
                move_one=lambda pk: still_due([pk]).update(next_attempt_at=lease_end) == 1,
            )

    def mark_sent(self, pk: int, *, now: dt.datetime, note: str = "", **fields) -> bool:
        """The receiver accepted it (or there was nothing to send: `note` says why, for staff).
        `fields`: the kind's own columns to set with it (a webhook's last HTTP status)."""
        pending = self.model.objects.filter(pk=pk, status=Status.PENDING)
        if self.policy.sent_without_waiting_for_disk:
            pending = committed_without_waiting_for_disk(pending)
        return (
            pending.update(status=Status.SENT, sent_at=now, last_error=note, attempts=F("attempts") + 1, **fields)
            == 1
        )

    def mark_sent_many(self, ids: Iterable[int], *, now: dt.datetime, note: str = "") -> int:
        """mark_sent for several rows in one statement: a sender that handed a whole chunk to the
        receiver marks the ones it accepted together once the chunk is done (one commit per chunk,
        not per row). The same guarantees as mark_sent, row by row: only rows still Pending move,
        each `attempts + 1`; returns how many moved. The price, stated by the kind that uses it: a
        sender dying after the receiver accepted a row and before this statement re-sends every
        row of its chunk it had handed over (at most a chunk), when the lease ends."""
        ids = list(ids)
        if not ids:
            return 0
        pending = self.model.objects.filter(pk__in=ids, status=Status.PENDING)
        if self.policy.sent_without_waiting_for_disk:
            pending = committed_without_waiting_for_disk(pending)
        return pending.update(status=Status.SENT, sent_at=now, last_error=note, attempts=F("attempts") + 1)

    def mark_failed(self, pk: int, *, now: dt.datetime, attempts: int, error: str, **fields) -> bool:
        """The `attempts`-th attempt failed: due again after the backoff, or given up (Failed) after
        max_attempts. `fields`: the kind's own columns to set with it."""
        return (
            self.model.objects.filter(pk=pk, status=Status.PENDING).update(
                attempts=attempts,
                last_error=error[: self.policy.error_max_length],
                next_attempt_at=now + self.backoff(attempts),
                status=Status.FAILED if attempts >= self.policy.max_attempts else Status.PENDING,
                **fields,
            )
            == 1
        )

    def release(self, ids: Iterable[int], *, now: dt.datetime) -> int:
        """Rows claimed at `now` that the sender will not try after all (its budget ran out): due
        again at once, attempts unchanged, for the next sender. Only rows still under that very
        claim (a row another sender claimed after the lease ended is his); returns how many."""
        return self.model.objects.filter(
            pk__in=list(ids), status=Status.PENDING, next_attempt_at=self.lease_end(now)
        ).update(next_attempt_at=now)

    def retry_now(self, ids: Iterable[int], *, now: dt.datetime) -> int:
        """Staff's "Retry now": Pending or Failed rows become due at once; sent ones stay sent.

        A Pending row a sender holds right now (its lease) is made due too: the worst case is that
        very row sent twice, which staff asked for.
        """
        return self.model.objects.filter(pk__in=list(ids), status__in=[Status.PENDING, Status.FAILED]).update(
            status=Status.PENDING, next_attempt_at=now
        )

    # --- Sending --------------------------------------------------------------------------------

    def send_due(
        self,
        deliver: Callable[[list[int]], int],
        *,
        now: dt.datetime,
        limit: int | None = None,
        within: Q | None = None,
        stop: Callable[[], bool] | None = None,
        budget: Budget | None = None,
    ) -> int:
        """Claim what is due a chunk at a time (of `within`, at most `limit` rows) and hand each
        chunk's ids to `deliver`, the kind's handler, which sends them, marks each one and returns
        how many were accepted. `stop` is asked before each chunk (a reason to leave the rest for
        later); nothing more is claimed once `budget` is spent (the handler, which knows it too,
        releases what it claimed and did not start). Returns the sum of what `deliver` returned."""
        sent = 0
        remaining = limit
        while remaining is None or remaining > 0:
            if stop is not None and stop():
                break
            if budget is not None and budget.spent():
                break
            chunk = self.chunk() if remaining is None else min(self.chunk(), remaining)
            claimed = self.claim(now=now, limit=chunk, within=within)
            if not claimed:
                break
            if remaining is not None:
                remaining -= len(claimed)
            sent += deliver(claimed)
        return sent


# --- Senders: how many tasks send a kind at once ---------------------------------------------


class SenderPlaces:
    """At most `most()` sender tasks of one outbox kind queued or running at once.

    Runs, dispatch ticks and senders all ask for senders when something is due; without a bound
    each ask enqueued more (after 10,000 single-job runs the queue held 28,938 sender tasks, nearly
    all of which found nothing left). A task is enqueued only into a free place (a row of
    core.models.OutboxSenderPlace, taken with a conditional UPDATE like any claim), which it holds
    while it waits in the queue and runs, and frees when it ends. A sender whose budget ran out
    with more due hands its place to the task that goes on (`hand_on`), so a backlog is worked
    off without waiting for the next ask.

    A place is also free once `held_until` passes: `hold()` from when it was taken (long enough
    for a task to wait in the queue and run: Q_RETRY + Q_TIMEOUT) or from when its task started
    (Q_TIMEOUT: no task runs longer). So a lost task (a broker that drops it, a worker killed)
    holds a place for that long at most; and a task that waited past its hold may find its place
    taken by another, which makes one sender more than the bound for that while, never a message
    sent twice (the claims see to that).
    """

    def __init__(self, kind: str, *, most: Callable[[], int], hold: Callable[[], dt.timedelta],
                 running: Callable[[], dt.timedelta]):
        self.kind = kind
        self.most = most
        self.hold = hold
        self.running = running

    def __repr__(self) -> str:
        return f"SenderPlaces({self.kind})"

    def _model(self):
        # Function-local: this module is imported while the models load (OutboxItem, above).
        from core.models import OutboxSenderPlace

        return OutboxSenderPlace

    def take(self, *, now: dt.datetime, count: int = 1) -> list[str]:
        """Up to `count` free places, each now held under a new token (returned); none when every
        place is held. Two callers never take the same place."""
        model, most = self._model(), self.most()
        free = model.objects.filter(kind=self.kind, place__lt=most).filter(Q(held_until__isnull=True) | Q(held_until__lte=now))
        taken: list[str] = []
        for attempt in range(2):
            with transaction.atomic():
                ids = claim_ids(
                    free.order_by("place"), limit=count - len(taken),
                    move=lambda ids: model.objects.filter(pk__in=ids).filter(
                        Q(held_until__isnull=True) | Q(held_until__lte=now)).update(held_until=now + self.hold()),
                    move_one=lambda pk: model.objects.filter(pk=pk).filter(
                        Q(held_until__isnull=True) | Q(held_until__lte=now)).update(held_until=now + self.hold()) == 1,
                )
                for pk in ids:
                    token = uuid.uuid4().hex
                    model.objects.filter(pk=pk).update(token=token)
                    taken.append(token)
            if len(taken) >= count or attempt:
                break
            # The places are rows made on first need: make the missing ones (a unique pair per
            # place, so two callers making them at once make each once), then look again.
            if model.objects.filter(kind=self.kind, place__lt=most).count() >= most:
                break
            model.objects.bulk_create([model(kind=self.kind, place=p) for p in range(most)], ignore_conflicts=True)
        return taken

    def started(self, token: str, *, now: dt.datetime) -> bool:
        """Its task runs: held for `running()` from now (it cannot run longer). False when the
        place is no longer this token's (its hold passed while it waited and another took it)."""
        return self._model().objects.filter(kind=self.kind, token=token).update(held_until=now + self.running()) == 1

    def hand_on(self, token: str, *, now: dt.datetime) -> bool:
        """The place passes to the task that goes on with the rest (enqueued by the caller under
        the same token): held for `hold()` again, as a place just taken."""
        return self._model().objects.filter(kind=self.kind, token=token).update(held_until=now + self.hold()) == 1

    def free(self, token: str, *, now: dt.datetime) -> bool:
        """Its task ended: the place is free (only if still this token's)."""
        return self._model().objects.filter(kind=self.kind, token=token).update(token="", held_until=None) == 1

    def held(self, *, now: dt.datetime) -> int:
        """Places held now (senders queued or running, as far as the places know)."""
        return self._model().objects.filter(kind=self.kind, place__lt=self.most(), held_until__gt=now).count()
