"""Sending emails from the outbox: emails_send, the one way to send (what they say is
imports.notify.content'; the outbox's moves are core.outbox's, the kind imports.notify.outbox).

Whoever decides an email writes its Notification row in its own transaction: the run that
finishes a job (imports.engine.runner), the scheduling (imports.jobs.services: "Your provisioning
is scheduled"), the reminders (imports.notify.reminders). So a finished job always has its email
queued and a rolled-back one never has. Then emails_send sends:
- after a run commits, its jobs' emails (the fast path: at once, or after the due jobs during a
  burst, see imports.notify.priority); after a scheduling commits, its notice;
- from sender tasks (imports.tasks.outbox_send_task, in the outbox lane: core.lanes) and each
  dispatch pass, whatever the outbox has due, so a worker killed before or while sending loses
  nothing. A sender task starts messages while its budget lasts (IMPORT_OUTBOX_BUDGET_SECONDS)
  and releases the rest of its claim for the next one, so a mail server that stalls holds it
  for about the budget, not for a whole claim at EMAIL_TIMEOUT each.
A message is marked sent only after the mail server accepted it. A chunk (IMPORT_EMAIL_CLAIM_CHUNK
messages, 50, claimed together) is sent over one SMTP connection, and the messages the server
accepted are marked sent together, in one UPDATE once the chunk is done
(core.outbox.Outbox.mark_sent_many); a failure is marked at once, for that message only (its
backoff). So what a crash can re-send: a sender dying after the server accepted messages and
before the chunk's UPDATE re-sends those, at most one chunk (50), when its lease ends
(IMPORT_EMAIL_LEASE_SECONDS, 60 s), each with its own stable Message-ID; never zero times.

What an email costs: the chunk's notifications, jobs and rows are read once (three queries, only
the columns an email shows: _load); each distinct content is rendered once with its per-message
values stood in (imports.notify.content), and on an SMTP connection its MIME is built once too, each
message's bytes made from it (imports.notify.mime), its envelope pipelined where the server offers
it (imports.notify.smtp). Measured with `manage.py bench_emails` (PostgreSQL, a local SMTP server):
about 0.6 ms of CPU per email at the default chunk, against about 1 ms for the job it reports.
"""

import datetime as dt
import logging
import socket
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db.models import Prefetch, Q

from core.clock import db_now

from core.outbox import Budget
from imports.models import ImportJob, ImportRow, Notification
from imports.notify import priority as email_priority
from imports.notify import smtp
from imports.notify.content import email_message, email_parts, recipients_for
from imports.notify.mime import Prepared, prepared
from imports.notify.outbox import KIND, NOTIFICATIONS
from imports.notify.senders import senders_enqueue

logger = logging.getLogger(__name__)
UTC = dt.timezone.utc

# At most this many emails at the start of a dispatch pass (imports.engine.dispatch), so a backlog
# cannot hold back due jobs.
UNSENT_PASS_LIMIT = 1000
# Kept in last_error of a notification marked sent without sending (staff read it in the admin).
NOTE_NO_RECIPIENTS = "Nothing sent: the job has no recipient."
NOTE_NOT_PENDING = "Nothing sent: the job is no longer pending."


# The columns an email reads (imports.notify.content: its context, recipients and language). Loading
# a chunk's jobs was half of a sender's CPU while it worked off a burst's backlog (eight model instances
# an email, every column one more value to decode and set on each); reading only these cuts it by half.
# A column left out is still read on access (one query), so a new field an email shows costs queries
# until it is added here; tests/imports/test_email_chunks.py counts them.
JOB_COLUMNS = (
    "name", "source", "status", "due_at", "created_at", "imported_count", "error_count", "notify_emails",
    "created_by__email", "created_by__first_name", "created_by__last_name", "created_by__email_language",
    "created_by__company__language", "company__name", "company__account_id",
)
ROW_COLUMNS = (
    "job_id", "position", "import_type", "status", "error", "payload", "change_id", "order__service__code",
    "order__service__name",
)


def _load(job_ids: list[int]) -> dict[int, tuple[ImportJob, list[ImportRow]]]:
    rows = ImportRow.objects.select_related("order__service").only(*ROW_COLUMNS).order_by("position")
    jobs = (
        ImportJob.objects.filter(pk__in=job_ids)
        .select_related("created_by__company", "company")
        .only(*JOB_COLUMNS)
        .prefetch_related(Prefetch("rows", queryset=rows))
    )
    return {job.pk: (job, list(job.rows.all())) for job in jobs}


def _close_quietly(mail) -> None:
    """Drop a connection a failure may have broken; the next send opens a fresh one."""
    try:
        mail.close()
    except Exception:
        logger.debug("Closing the mail connection failed.", exc_info=True)


def _no_delay(mail) -> None:
    """TCP_NODELAY on an SMTP backend's socket. smtplib writes each command on its own and waits
    for its reply; on a connection kept open for several messages, Nagle's algorithm holding a
    small write until the server's delayed ACK adds tens of milliseconds to a message (measured:
    the kept connection slower than one per message without it)."""
    sock = getattr(getattr(mail, "connection", None), "sock", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            logger.debug("Could not set TCP_NODELAY on the mail connection.", exc_info=True)


class _Chunk:
    """One chunk's sending: its one mail connection and what it marks at the end.

    The connection is opened before the first message and kept for the whole chunk (a backend's
    send_messages closes only a connection it opened itself): one TCP connection, EHLO and QUIT
    per chunk, not per message. A failure drops it, and the next message opens a fresh one.
    """

    def __init__(self):
        self.mail = get_connection()
        # On an SMTP backend a message goes to smtplib as bytes built from its content's one MIME
        # build (imports.notify.mime); any other backend gets Django messages.
        self.smtp = isinstance(self.mail, SMTPBackend)
        self.is_open = False
        self.accepted: list[int] = []
        self.notes: dict[str, list[int]] = {}

    def _open(self) -> None:
        if not self.is_open:
            self.mail.open()
            self.is_open = True
            _no_delay(self.mail)

    def send(self, message) -> None:
        self._open()
        self.mail.send_messages([message])

    def send_prepared(self, message: Prepared) -> None:
        """What the SMTP backend's send_messages does with a Django message (envelope, then the
        bytes), minus building them, and pipelined where the server allows (imports.notify.smtp):
        a refusal raises, as it does in the backend."""
        self._open()
        smtp.send(self.mail.connection, message.from_email, message.recipients, message.data)

    def broken(self) -> None:
        _close_quietly(self.mail)
        self.is_open = False

    def mark(self) -> None:
        """The accepted messages sent, in one UPDATE (sent_at: now, when the server has accepted
        them all; a sender working off a backlog is far past the `now` it claimed at), and the
        ones with nothing to send, one UPDATE per note."""
        if self.accepted:
            NOTIFICATIONS.mark_sent_many(self.accepted, now=db_now())
            self.accepted = []
        for note, ids in self.notes.items():
            NOTIFICATIONS.mark_sent_many(ids, now=db_now(), note=note)
        self.notes = {}


def _deliver(
    notification_ids: list[int],
    *,
    now: dt.datetime,
    loaded: dict,
    rendered: dict,
    languages: dict | None = None,
    budget: Budget | None = None,
) -> int:
    """The email kind's handler (core.outbox.Outbox.send_due): send each claimed notification over
    the chunk's one mail connection while `budget` lasts (the rest released for the next sender),
    then mark the ones the server accepted sent together; returns how many the server accepted.

    Marked after the chunk, not one by one: a sender dying after the server accepted some and
    before the chunk's UPDATE re-sends those (at most IMPORT_EMAIL_CLAIM_CHUNK messages, each
    with its own stable Message-ID) when the lease ends; never zero times. A failure is marked at
    once, for that message only (mark_failed: its backoff), and the others go on.
    """
    notifications = list(Notification.objects.filter(pk__in=notification_ids).order_by("id"))
    missing = {n.job_id for n in notifications} - loaded.keys()
    if missing:
        loaded.update(_load(sorted(missing)))
    languages = {} if languages is None else languages
    chunk = _Chunk()
    try:
        for index, notification in enumerate(notifications):
            if budget is not None and budget.spent():
                NOTIFICATIONS.release([n.pk for n in notifications[index:]], now=now)
                break
            job, rows = loaded[notification.job_id]
            if not recipients_for(notification.kind, job):
                chunk.notes.setdefault(NOTE_NO_RECIPIENTS, []).append(notification.pk)
                continue
            try:
                parts = email_parts(notification, job, rows, rendered=rendered, languages=languages, now=now)
                if parts is None:
                    # A scheduled notice or reminder of a job cancelled or run meanwhile: nothing to say.
                    chunk.notes.setdefault(NOTE_NOT_PENDING, []).append(notification.pk)
                    continue
                ready = prepared(parts, message_id=notification.message_id, cache=rendered) if chunk.smtp else None
                if ready is not None:
                    chunk.send_prepared(ready)
                else:
                    chunk.send(email_message(parts, message_id=notification.message_id, connection=chunk.mail))
            except Exception as exc:
                # Refused, timed out, anything: the job keeps its status, the message its place in
                # the outbox, and a later pass tries again after the backoff.
                logger.warning("Could not send notification %s of import job %s.", notification.pk, job.pk, exc_info=True)
                NOTIFICATIONS.mark_failed(
                    notification.pk, now=now, attempts=notification.attempts + 1, error=f"{type(exc).__name__}: {exc}"
                )
                chunk.broken()
                continue
            # Accepted by the mail server: sent, marked with the chunk's others below.
            chunk.accepted.append(notification.pk)
    finally:
        chunk.broken()  # QUIT once the chunk is done (or abandoned)
    # Only after the loop: an exception above (the database gone) leaves the accepted ones Pending
    # under this claim, re-sent when the lease ends, as the docstring says.
    accepted = len(chunk.accepted)
    chunk.mark()
    return accepted


def emails_send(
    *,
    job_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    limit: int | None = None,
    yield_to_jobs: bool = False,
    loaded: dict[int, tuple[ImportJob, list[ImportRow]]] | None = None,
    budget: Budget | None = None,
) -> int:
    """Send the outbox's due emails; returns how many the mail server accepted.

    - `job_ids`: only these jobs' emails (the fast path after a run or a scheduling commits);
      without it, everything the outbox has due (sender tasks, the dispatch pass).
    - `limit`: at most this many (the dispatch pass's UNSENT_PASS_LIMIT).
    - `yield_to_jobs`: provisioning goes first (imports.notify.priority). For the whole outbox, a
      burst of due jobs stops the sending before each chunk. For `job_ids` (a run that just
      committed), a burst leaves them all in the outbox; otherwise they are sent, and emails other
      runs left are handed to sender tasks (at most IMPORT_OUTBOX_SENDERS on their way at once).
    - `loaded` (job id → the job and its rows, as the run that just finished them left them in
      memory) spares reading them again; jobs missing from it are read from the database.
    - `budget`: start messages only while it lasts (the outbox lane's sender tasks).

    Claimed a chunk at a time (core.outbox), each under a lease long enough to send it within.
    `now` (the claim's clock) defaults to the current time.
    """
    now = now or db_now()
    if job_ids is None:
        return _send_due(now=now, limit=limit, loaded=loaded, yield_to_jobs=yield_to_jobs, budget=budget)
    if yield_to_jobs and email_priority.emails_wait(now=db_now()):
        return 0
    job_ids = sorted(set(job_ids))
    sent = _send_due(now=now, limit=limit, loaded=loaded, job_ids=job_ids, budget=budget) if job_ids else 0
    if yield_to_jobs and email_priority.emails_due(now=db_now()):
        # Emails other runs left: as many senders as may be on their way at once (imports.notify.senders).
        senders_enqueue(KIND, now=db_now(), count=settings.IMPORT_OUTBOX_SENDERS)
    return sent


def _within_lease(budget: Budget | None) -> Budget:
    """`budget`, cut to what the run's claims allow: every claim of a run ends at its `now` plus
    the lease (IMPORT_EMAIL_LEASE_SECONDS), and a message is started only while at least
    EMAIL_TIMEOUT of it is left, so a live sender never sends a message another may have claimed
    after the lease ended, whatever the chunk's size (the rest is released for the next sender).
    That is what lets the lease be short (how long a dead sender's chunk waits) and the chunk large."""
    lease = NOTIFICATIONS.lease().total_seconds() - settings.EMAIL_TIMEOUT
    if budget is None or budget.left() > lease:
        return Budget(max(lease, 0.0))
    return budget


def _send_due(
    *,
    now: dt.datetime,
    limit: int | None,
    loaded: dict | None,
    job_ids: list[int] | None = None,
    yield_to_jobs: bool = False,
    budget: Budget | None = None,
) -> int:
    """Claim due notifications (of `job_ids` if given) a chunk at a time and send them, stopping
    before a chunk while a burst of due jobs waits if `yield_to_jobs`, and once `budget` is spent."""
    loaded = dict(loaded or {})
    rendered: dict = {}  # one sending run's rendered bodies and MIME builds (imports.notify.content, .mime)
    languages: dict = {}  # and its creators' languages
    budget = _within_lease(budget)
    return NOTIFICATIONS.send_due(
        lambda ids: _deliver(ids, now=now, loaded=loaded, rendered=rendered, languages=languages, budget=budget),
        now=now,
        limit=limit,
        within=Q(job_id__in=job_ids) if job_ids is not None else None,
        stop=(lambda: email_priority.emails_wait(now=db_now())) if yield_to_jobs else None,
        budget=budget,
    )
