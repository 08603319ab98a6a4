"""Webhooks: import.completed / import.failed / import.cancelled POSTed to the reseller's endpoint, and
import.waiting once when a job's vendor orders first meet trouble (webhook_waiting_record).

The endpoint (URL + secret) is accounts.WebhookEndpoint, set on the reseller's SECURITY tab. Here:
- recording: webhook_deliveries_record() writes one WebhookDelivery per finished job whose company
  lies under a reseller with an active endpoint (the nearest such reseller up the tree), in the
  caller's transaction: the runner's (_run_batch, _fail_unexpectedly) and import_cancel's. A run
  that rolls back therefore leaves no event behind, and a finished job always has its event.
- sending: webhooks_send_due() (the outbox lane's sender task, imports.tasks.outbox_send_task)
  claims due deliveries with a lease, POSTs each one signed, marks it sent after a 2xx, or failed
  with the outbox's backoff (1, 2, 4 ... min, at most 1 h), given up after 12 attempts; staff
  "Retry now" in the admin. The claiming, marking and retrying are core.outbox's (DELIVERIES, this
  kind), the same as the emails'; this module is its handler.
- slow receivers: senders run in the outbox lane (core.lanes), never in the jobs' workers. A sender
  starts deliveries while its budget lasts (IMPORT_OUTBOX_BUDGET_SECONDS) and releases what it
  claimed and did not start; each POST may take WEBHOOK_TIMEOUT. A receiver that lets one POST
  time out is not called again in that pass: its other deliveries the pass claims are failed
  attempts (NOTE_RECEIVER_SLOW) and go back to the outbox with the backoff, so one hanging
  receiver costs a sender one timeout, not one per delivery.

The request: Content-Type application/json; X-ICP-Event (the type); X-ICP-Delivery (the event id,
the same on every retry: receivers drop duplicates with it); X-ICP-Timestamp (Unix seconds of this
attempt); X-ICP-Signature: sha256=<hex HMAC-SHA256 of "<X-ICP-Timestamp>.<raw body>", keyed with the
secret>. The timestamp is signed so that a captured request cannot be replayed later: receivers refuse
a timestamp outside their tolerance (5 minutes) and drop an X-ICP-Delivery already seen (README, Webhooks).

Where it goes: the URL is vetted again before every attempt (accounts.webhooks.webhook_destination:
no credentials, https, every address the host resolves to public or allowed), resolved once, and the
connection is made to that vetted address with the name as Host header and TLS server name: a DNS
answer that changes between the check and the connection (rebinding) cannot lead it elsewhere.
Redirects are never followed. A refused destination is a failed attempt, retried like the others.
"""

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import socket
import ssl
import uuid
from collections.abc import Iterable
from typing import NamedTuple

from django.conf import settings
from django.utils import translation

from accounts.models import Company, WebhookEndpoint
from accounts.webhooks import UnsafeWebhookDestination, WebhookDestination, webhook_destination

from core.outbox import Budget, Outbox, OutboxPolicy
from core.stored_messages import rendered
from imports.models import ImportJob, ImportRow, WebhookDelivery

logger = logging.getLogger(__name__)

Event = WebhookDelivery.Event
EVENT_OF_STATUS = {
    ImportJob.Status.COMPLETED: Event.IMPORT_COMPLETED,
    ImportJob.Status.COMPLETED_WITH_ERRORS: Event.IMPORT_COMPLETED_WITH_ERRORS,
    ImportJob.Status.FAILED: Event.IMPORT_FAILED,
    ImportJob.Status.CANCELLED: Event.IMPORT_CANCELLED,
}
SIGNATURE_HEADER = "X-ICP-Signature"
USER_AGENT = "ICP-Portal-Webhooks/1"
# One pass sends at most this many (the rest wait for the next pass).
PASS_LIMIT = 200
# This kind's name in the outbox lane (imports.engine.lanes: which sender task sends what).
KIND = "webhooks"
# Kept in last_error of a delivery not tried because its receiver let another one time out in the
# same pass (staff read it in the admin); counted as an attempt, tried again after the backoff.
NOTE_RECEIVER_SLOW = "Not sent: the receiver let another delivery time out in this pass; tried again after the backoff."


# --- Signing and the body -------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-ICP-Signature value: sha256=<hex HMAC-SHA256 of b"<timestamp>." + the raw body>; the
    timestamp is X-ICP-Timestamp's (Unix seconds), so the signature is only good with it."""
    return "sha256=" + hmac.new(secret.encode(), f"{int(timestamp)}.".encode() + body, hashlib.sha256).hexdigest()


def body_bytes(payload: dict) -> bytes:
    """The raw body sent (and signed): compact JSON, keys sorted, the same bytes on every retry."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def event_payload(
    job: ImportJob, rows: Iterable[ImportRow], *, company_account_id: int, event_id: str, now: dt.datetime,
    event: str | None = None,
) -> dict:
    """{"id", "type", "created_at", "data"}: the job, its company and its rows (account ids, errors).

    A row's error is rendered (core.stored_messages) in the portal's default language, whoever runs
    this: a receiver is a program, its contract must not change with a worker's or a user's language."""
    rows = list(rows)
    with translation.override(settings.LANGUAGE_CODE):
        errors = [rendered(row.error) for row in rows]
    return {
        "id": event_id,
        "type": event or EVENT_OF_STATUS[job.status].value,
        "created_at": _iso(now),
        "data": {
            "job_id": job.pk,
            "name": job.name,
            "source": job.source,
            "account_type": job.account_type,
            "status": job.status,
            "company_account_id": company_account_id,
            "due_at": _iso(job.due_at),
            "finished_at": _iso(job.finished_at),
            "imported_count": job.imported_count,
            "error_count": job.error_count,
            "rows": [
                {
                    "line": row.position,
                    "status": row.status,
                    "account_id": row.result_account_id,
                    "created_account": row.created_account,
                    "error": error,
                }
                for row, error in zip(rows, errors)
            ],
        },
    }


# --- Recording, in the caller's transaction -------------------------------------------------------


def endpoints_for(companies: Iterable[Company]) -> dict[int, WebhookEndpoint]:
    """Company id → the active endpoint of the nearest reseller at or above it (companies without one
    left out). One query, whatever the number of companies."""
    chains = {company.pk: company.ancestor_ids() for company in companies}
    all_ids = {ancestor for chain in chains.values() for ancestor in chain}
    if not all_ids:
        return {}
    endpoints = {
        endpoint.company_id: endpoint
        for endpoint in WebhookEndpoint.objects.filter(
            company_id__in=all_ids, is_active=True, company__kind=Company.Kind.RESELLER
        )
    }
    found = {}
    for pk, chain in chains.items():
        for ancestor in reversed(chain):  # nearest first
            if ancestor in endpoints:
                found[pk] = endpoints[ancestor]
                break
    return found


def _companies_of(jobs: list[ImportJob]) -> dict[int, Company]:
    """The jobs' companies: the ones the caller already loaded, the others in one query."""
    companies = {job.company_id: job.company for job in jobs if ImportJob.company.is_cached(job)}
    missing = {job.company_id for job in jobs} - set(companies)
    if missing:
        companies.update(Company.objects.in_bulk(missing))
    return companies


def webhook_deliveries_record(
    jobs: list[ImportJob], *, now: dt.datetime, rows_of_job: dict[int, list[ImportRow]] | None = None
) -> list[WebhookDelivery]:
    """One delivery per job (already in its final status in memory) that has an endpoint above it.

    Call it inside the transaction that writes the jobs' final status. `rows_of_job` avoids reading
    the rows again when the caller has them. Without any endpoint on the jobs' branches it costs one
    query (none more when the caller loaded the jobs' companies).
    """
    jobs = [job for job in jobs if job.status in EVENT_OF_STATUS]
    if not jobs:
        return []
    companies = _companies_of(jobs)
    endpoints = endpoints_for(companies.values())
    jobs = [job for job in jobs if job.company_id in endpoints]
    if not jobs:
        return []
    if rows_of_job is None:
        rows_of_job = {}
        for row in ImportRow.objects.filter(job__in=[job.pk for job in jobs]).order_by("job_id", "position"):
            rows_of_job.setdefault(row.job_id, []).append(row)
    deliveries = []
    for job in jobs:
        event_id = f"evt_{uuid.uuid4().hex}"
        deliveries.append(
            WebhookDelivery(
                event_id=event_id,
                event=EVENT_OF_STATUS[job.status],
                job_id=job.pk,
                endpoint=endpoints[job.company_id],
                payload=event_payload(
                    job, rows_of_job.get(job.pk, []), company_account_id=companies[job.company_id].account_id,
                    event_id=event_id, now=now,
                ),
                next_attempt_at=now,
                created_at=now,
            )
        )
    return WebhookDelivery.objects.bulk_create(deliveries)


def webhook_waiting_record(job: ImportJob, *, now: dt.datetime, next_try_at: dt.datetime, reason: str) -> bool:
    """The import.waiting event of a job whose vendor orders met transient trouble (imports.vendor.finish):
    the usual payload plus `next_try_at` and `reason` (rendered in the portal's default language, like the
    rows' errors). At most one per job (the unique (job, event)); in the caller's transaction. Returns
    whether the job has an endpoint to tell."""
    company = Company.objects.get(pk=job.company_id) if not ImportJob.company.is_cached(job) else job.company
    endpoint = endpoints_for([company]).get(company.pk)
    if endpoint is None:
        return False
    rows = list(ImportRow.objects.filter(job=job).order_by("position"))
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = event_payload(
        job, rows, company_account_id=company.account_id, event_id=event_id, now=now, event=Event.IMPORT_WAITING.value
    )
    with translation.override(settings.LANGUAGE_CODE):
        payload["data"].update(next_try_at=_iso(next_try_at), reason=rendered(reason))
    created = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event_id=event_id, event=Event.IMPORT_WAITING, job_id=job.pk, endpoint=endpoint,
                         payload=payload, next_attempt_at=now, created_at=now)],
        ignore_conflicts=True,
    )
    return bool(created)


def webhook_change_record(job: ImportJob, change, *, event: str, now: dt.datetime) -> bool:
    """A scheduled change's event after the sync with the vendor moved it ("change.wiped", "change.renewal_failed":
    imports.engine.change_notices): the job's usual payload plus `change` ({"id", "kind", "status", "text", "reason",
    "subscription_account_id"}; text and reason in the portal's default language, like the rows' errors). At most
    one per job and event; in the caller's transaction. Returns whether the job has an endpoint to tell."""
    from orders.changes.describe import change_text

    company = job.company if ImportJob.company.is_cached(job) else Company.objects.get(pk=job.company_id)
    endpoint = endpoints_for([company]).get(company.pk)
    if endpoint is None:
        return False
    rows = list(ImportRow.objects.filter(job=job).order_by("position"))
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = event_payload(job, rows, company_account_id=company.account_id, event_id=event_id, now=now, event=str(event))
    with translation.override(settings.LANGUAGE_CODE):
        payload["data"]["change"] = {
            "id": change.pk, "kind": change.kind, "status": change.status, "text": change_text(change),
            "reason": rendered(change.reason),
            "subscription_account_id": change.subscription.account_id,
        }
    created = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event_id=event_id, event=event, job_id=job.pk, endpoint=endpoint, payload=payload,
                         next_attempt_at=now, created_at=now)],
        ignore_conflicts=True,
    )
    return bool(created)


# --- The outbox kind -----------------------------------------------------------------------------


# Claimed as many at a time as emails (IMPORT_EMAIL_CLAIM_CHUNK, at least one), but at most
# WEBHOOK_CLAIM_CHUNK_MAX: each held for a whole chunk at WEBHOOK_TIMEOUT each and some spare (also how
# long a delivery whose sender died waits for another sender), and the emails' chunk of 50 would hold a
# dead sender's deliveries for over eight minutes. The backoff (1, 2, 4 ... min, at most 1 h) and giving
# up after 12 attempts are core.outbox's defaults, the same as the emails'.
WEBHOOK_CLAIM_CHUNK_MAX = 10
DELIVERIES = Outbox(
    WebhookDelivery,
    OutboxPolicy(
        lease=lambda: dt.timedelta(seconds=settings.WEBHOOK_TIMEOUT * DELIVERIES.chunk() + 20),
        chunk=lambda: min(settings.IMPORT_EMAIL_CLAIM_CHUNK, WEBHOOK_CLAIM_CHUNK_MAX),
    ),
)


# --- Sending --------------------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """http:// (local tests and development only) to the vetted address; Host is the name."""

    def __init__(self, destination: WebhookDestination, *, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._address = destination.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """https:// to the vetted address, with the name as Host header, SNI and certificate name."""

    def __init__(self, destination: WebhookDestination, *, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout, context=ssl.create_default_context())
        self._address = destination.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Answer(NamedTuple):
    code: int | None  # the HTTP status, None when there was none
    error: str  # empty on a 2xx
    timed_out: bool = False  # the receiver did not answer within the timeout


def post(url: str, secret: str, *, event: str, event_id: str, body: bytes, now: dt.datetime) -> tuple[int | None, str]:
    """One signed POST → (HTTP status or None, error text; empty on a 2xx). Redirects are answers
    other than 2xx (a signed POST is never replayed elsewhere)."""
    answer = _post(url, secret, event=event, event_id=event_id, body=body, now=now)
    return answer.code, answer.error


def _post(url: str, secret: str, *, event: str, event_id: str, body: bytes, now: dt.datetime) -> Answer:
    try:
        destination = webhook_destination(url)
    except UnsafeWebhookDestination as exc:
        return Answer(None, str(exc))
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-ICP-Event": event,
        "X-ICP-Delivery": event_id,
        "X-ICP-Timestamp": str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    pinned = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    connection = pinned(destination, timeout=settings.WEBHOOK_TIMEOUT)
    try:
        connection.request("POST", destination.path, body=body, headers=headers)
        response = connection.getresponse()
        code = response.status
        response.read(64 * 1024)  # (a little of the answer, so the connection closes cleanly)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # (socket.timeout is TimeoutError: the connection, the request or the wait for the answer)
        return Answer(None, f"{type(exc).__name__}: {exc}", timed_out=isinstance(exc, TimeoutError))
    finally:
        connection.close()
    if 200 <= code < 300:
        return Answer(code, "")
    return Answer(code, f"HTTP {code}")


def delivery_send(delivery: WebhookDelivery, *, now: dt.datetime) -> Answer:
    """POST one claimed delivery and record the outcome; the receiver's answer (`error` empty on a 2xx)."""
    endpoint = delivery.endpoint
    answer = _post(
        endpoint.url, endpoint.secret, event=delivery.event, event_id=delivery.event_id,
        body=body_bytes(delivery.payload), now=now,
    )
    if not answer.error:
        DELIVERIES.mark_sent(delivery.pk, now=now, last_status_code=answer.code)
        return answer
    logger.warning(
        "Webhook %s to %s failed (attempt %s): %s", delivery.event_id, endpoint.url, delivery.attempts + 1, answer.error
    )
    DELIVERIES.mark_failed(
        delivery.pk, now=now, attempts=delivery.attempts + 1, error=answer.error, last_status_code=answer.code
    )
    return answer


def _deliver(delivery_ids: list[int], *, now: dt.datetime, budget: Budget | None, slow: set[int]) -> int:
    """This kind's handler (core.outbox.Outbox.send_due): POST each claimed delivery while the
    budget lasts (the rest released for the next sender), none to a receiver in `slow` (it let a
    POST of this pass time out: failed attempt, backoff); returns how many receivers answered 2xx."""
    sent = 0
    deliveries = list(WebhookDelivery.objects.filter(pk__in=delivery_ids).select_related("endpoint").order_by("id"))
    for index, delivery in enumerate(deliveries):
        if budget is not None and budget.spent():
            DELIVERIES.release([d.pk for d in deliveries[index:]], now=now)
            break
        try:
            if delivery.endpoint_id in slow:
                DELIVERIES.mark_failed(delivery.pk, now=now, attempts=delivery.attempts + 1, error=NOTE_RECEIVER_SLOW)
                continue
            answer = delivery_send(delivery, now=now)
            sent += not answer.error
            if answer.timed_out:
                slow.add(delivery.endpoint_id)
        except Exception:  # one broken delivery must not stop the others; its lease brings it back
            logger.exception("Webhook delivery %s could not be sent.", delivery.pk)
    return sent


def webhooks_send_due(*, now: dt.datetime, limit: int = PASS_LIMIT, budget: Budget | None = None) -> int:
    """Send what is due (new events, retries whose backoff ended, leases that ran out), starting
    deliveries while `budget` lasts; returns how many receivers answered 2xx. Called by the outbox
    lane's sender task (imports.tasks.outbox_send_task)."""
    slow: set[int] = set()  # receivers that let a POST of this pass time out
    return DELIVERIES.send_due(
        lambda ids: _deliver(ids, now=now, budget=budget, slow=slow), now=now, limit=limit, budget=budget
    )
