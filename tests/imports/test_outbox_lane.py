"""The outbox lane (issue 22, point 3: deliveries never occupy the job lanes): sender tasks go to
a queue of their own, one per kind with something due; a sender starts deliveries only while its
time budget lasts and hands back what it claimed and did not start; a receiver that lets a POST
time out is not called again in that pass, its other deliveries go back with the backoff.

Budgets run on injected clocks, never on sleeps; the one real timeout is a local receiver that
does not answer, against a WEBHOOK_TIMEOUT of a fifth of a second."""

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.core.mail.backends.locmem import EmailBackend

from accounts.models import WebhookEndpoint
from core.lanes import JOBS, OUTBOX, lane_queue, lane_waiting
from core.outbox import Budget
from imports import tasks
from imports.engine import outbox_lane
from imports.engine.dispatch import RUN_BATCH_TASK, dispatch_tick
from imports.models import Notification, WebhookDelivery
from imports.notify.send import emails_send
from imports.webhooks import delivery as webhooks

from .helpers import UTC, schedule
from .test_fanout import queued_tasks

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
Sent, Pending = WebhookDelivery.Status.SENT, WebhookDelivery.Status.PENDING


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Receiver:
    """A real HTTP server on 127.0.0.1: answers 200 at once, or, for paths under /hang, holds the
    request without answering until the test ends."""

    def __init__(self):
        self.requests: list[str] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(self.path)
                if self.path.startswith("/hang"):
                    receiver.release.wait(10)
                    return
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    settings.WEBHOOK_TIMEOUT = 0.2
    server = Receiver()
    yield server
    server.close()


def deliveries_to(demo, endpoint: WebhookEndpoint, n: int) -> list[int]:
    """`n` deliveries due at DUE to `endpoint`, each of a job of its own (not run: only the outbox matters)."""
    ids = []
    for _ in range(n):
        job = schedule(demo, due_at=DUE)
        event_id = f"evt_{job.pk}_{endpoint.pk}"
        ids.append(
            WebhookDelivery.objects.create(
                event_id=event_id, event=WebhookDelivery.Event.IMPORT_COMPLETED, job=job, endpoint=endpoint,
                payload={"id": event_id}, next_attempt_at=DUE, created_at=DUE,
            ).pk
        )
    return ids


def rows(ids):
    return list(WebhookDelivery.objects.filter(pk__in=ids).order_by("id").values_list("status", "attempts", "next_attempt_at"))


# --- The budget and the release move -------------------------------------------------------------


def test_a_budget_is_spent_after_its_seconds_on_its_clock():
    clock = Clock()
    budget = Budget(20, clock=clock)
    assert not budget.spent() and budget.left() == 20
    clock.t += 19.5
    assert not budget.spent() and budget.left() == 0.5
    clock.t += 0.5
    assert budget.spent() and budget.left() == 0


def test_release_hands_back_only_what_is_still_under_that_claim(demo):
    endpoint = WebhookEndpoint.objects.create(company=demo.abbiebox, url="https://hooks.example/icp", secret="s")
    ids = deliveries_to(demo, endpoint, 3)
    outbox = webhooks.DELIVERIES
    assert outbox.claim(now=DUE, limit=3) == ids
    # Another sender took the third one again after this claim's lease ended (a claim of its own).
    later = DUE + outbox.lease() + dt.timedelta(seconds=1)
    WebhookDelivery.objects.filter(pk=ids[2]).update(next_attempt_at=later - dt.timedelta(seconds=2))
    assert outbox.claim(now=later, limit=1) == [ids[2]]
    assert outbox.release(ids[1:], now=DUE) == 1
    assert rows(ids) == [
        (Pending, 0, outbox.lease_end(DUE)),  # not released: still this sender's
        (Pending, 0, DUE),  # due again at once, no attempt counted
        (Pending, 0, outbox.lease_end(later)),  # the other sender's claim stands
    ]


def test_a_spent_budget_claims_nothing(demo):
    endpoint = WebhookEndpoint.objects.create(company=demo.abbiebox, url="https://hooks.example/icp", secret="s")
    ids = deliveries_to(demo, endpoint, 2)
    clock = Clock()
    budget = Budget(1, clock=clock)
    clock.t += 1
    assert webhooks.webhooks_send_due(now=DUE, budget=budget) == 0
    assert rows(ids) == [(Pending, 0, DUE)] * 2


# --- Webhooks within the budget ------------------------------------------------------------------


def test_a_webhook_sender_starts_no_delivery_once_its_budget_is_spent_and_releases_the_rest(demo, receiver, settings):
    settings.IMPORT_EMAIL_CLAIM_CHUNK = 10  # one claim holds all five
    endpoint = WebhookEndpoint.objects.create(company=demo.abbiebox, url=f"{receiver.base}/icp", secret="s")
    ids = deliveries_to(demo, endpoint, 5)
    clock = Clock()
    budget = Budget(2.5, clock=clock)
    real_post = webhooks._post

    def post_taking_a_second(*args, **kwargs):
        clock.t += 1
        return real_post(*args, **kwargs)

    settings.WEBHOOK_TIMEOUT = 5
    with mock.patch.object(webhooks, "_post", post_taking_a_second):
        assert webhooks.webhooks_send_due(now=DUE, budget=budget) == 3
    assert len(receiver.requests) == 3
    # The two it did not start are due again at once, for the next sender, no attempt counted.
    assert [(status, attempts) for status, attempts, _ in rows(ids)[:3]] == [(Sent, 1)] * 3
    assert rows(ids)[3:] == [(Pending, 0, DUE)] * 2
    assert webhooks.webhooks_send_due(now=DUE) == 2


def test_a_receiver_that_times_out_is_called_once_a_pass_and_its_other_deliveries_back_off(demo, receiver, settings):
    settings.IMPORT_EMAIL_CLAIM_CHUNK = 2  # the slow receiver's deliveries span several claims
    slow = WebhookEndpoint.objects.create(company=demo.abbiebox, url=f"{receiver.base}/hang", secret="s")
    fast = WebhookEndpoint.objects.create(company=demo.andes, url=f"{receiver.base}/ok", secret="s")
    slow_ids = deliveries_to(demo, slow, 4)
    fast_ids = deliveries_to(demo, fast, 2)
    assert webhooks.webhooks_send_due(now=DUE, budget=Budget(20)) == 2
    assert sorted(receiver.requests) == ["/hang", "/ok", "/ok"]  # one POST to the slow receiver, not four
    retry_at = DUE + dt.timedelta(minutes=1)  # the outbox's backoff after a first failure
    assert rows(slow_ids) == [(Pending, 1, retry_at)] * 4
    errors = list(WebhookDelivery.objects.filter(pk__in=slow_ids).order_by("id").values_list("last_error", flat=True))
    assert errors[0].startswith("TimeoutError")
    assert errors[1:] == [webhooks.NOTE_RECEIVER_SLOW] * 3
    assert [status for status, _, _ in rows(fast_ids)] == [Sent, Sent]
    # The next pass, after the backoff, calls it again (once).
    receiver.requests.clear()
    webhooks.webhooks_send_due(now=retry_at, budget=Budget(20))
    assert receiver.requests == ["/hang"]
    assert [attempts for _, attempts, _ in rows(slow_ids)] == [2] * 4


# --- Emails within the budget --------------------------------------------------------------------


def test_an_email_sender_stops_at_its_budget_and_releases_the_rest(demo, mailoutbox, monkeypatch, settings):
    settings.IMPORT_EMAIL_CLAIM_CHUNK = 10
    jobs = [schedule(demo, due_at=DUE) for _ in range(4)]
    for job in jobs:
        Notification.for_job(job.pk, now=DUE).save()
    clock = Clock()
    real_send = EmailBackend.send_messages

    def send_taking_a_second(self, messages):
        clock.t += 1
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_taking_a_second)
    assert emails_send(now=DUE, budget=Budget(1.5, clock=clock)) == 2
    statuses = list(Notification.objects.order_by("id").values_list("status", "next_attempt_at", "attempts"))
    assert [s for s, _, _ in statuses] == ["sent", "sent", "pending", "pending"]
    assert statuses[2:] == [("pending", DUE, 0)] * 2  # due at once for the next sender
    assert emails_send(now=DUE) == 2 and len(mailoutbox) == 4


# --- The sender task and its enqueueing ------------------------------------------------------------


def test_a_sender_task_sends_its_kind_only(demo, receiver, mailoutbox, monkeypatch):
    endpoint = WebhookEndpoint.objects.create(company=demo.abbiebox, url=f"{receiver.base}/ok", secret="s")
    (delivery,) = deliveries_to(demo, endpoint, 1)
    job = schedule(demo, due_at=DUE)
    Notification.for_job(job.pk, now=DUE).save()
    monkeypatch.setattr("django.utils.timezone.now", lambda: DUE)
    assert tasks.outbox_send_task("webhooks") == 1
    assert Notification.objects.get().status == "pending"
    assert tasks.outbox_send_task("emails") == 1
    assert Notification.objects.get().status == "sent" and WebhookDelivery.objects.get().status == Sent


def test_a_kindless_sender_task_queued_before_the_lanes_sends_every_kind_within_one_budget(demo, receiver, mailoutbox, monkeypatch):
    endpoint = WebhookEndpoint.objects.create(company=demo.abbiebox, url=f"{receiver.base}/ok", secret="s")
    deliveries_to(demo, endpoint, 1)
    job = schedule(demo, due_at=DUE)
    Notification.for_job(job.pk, now=DUE).save()
    monkeypatch.setattr("django.utils.timezone.now", lambda: DUE)
    assert tasks.outbox_send_task() == 2
    # Kinds take turns in one budget: once it is spent, the next kind waits for the next task.
    clock = Clock()
    budget = Budget(1, clock=clock)
    calls = []

    def emails_spending_the_budget(*, now, budget):
        calls.append("emails")
        clock.t += 1
        return 0

    monkeypatch.setitem(outbox_lane.KINDS, "emails", outbox_lane.SenderKind(has_due=lambda **k: True, send=emails_spending_the_budget))
    assert outbox_lane.outbox_send(budget=budget) == 0 and calls == ["emails"]


def test_senders_are_enqueued_per_due_kind_in_the_outbox_lane_and_not_beyond_their_places(demo, settings):
    settings.IMPORT_OUTBOX_SENDERS = 1
    endpoint = WebhookEndpoint.objects.create(company=demo.abbiebox, url="https://hooks.example/icp", secret="s")
    assert outbox_lane.outbox_senders_enqueue(now=DUE) == []
    deliveries_to(demo, endpoint, 1)
    job = schedule(demo, due_at=DUE)
    Notification.for_job(job.pk, now=DUE).save()
    assert outbox_lane.outbox_senders_enqueue(now=DUE) == ["emails", "webhooks"]
    assert lane_waiting(OUTBOX) == 2 and lane_waiting(JOBS) == 0
    # A sender of each kind is on its way (as many as IMPORT_OUTBOX_SENDERS): none more.
    assert outbox_lane.outbox_senders_enqueue(now=DUE) == []
    queued = queued_tasks()
    assert [(t["func"], t["args"], t["cluster"]) for t in queued] == [
        ("imports.tasks.outbox_send_task", ("emails",), lane_queue(OUTBOX)),
        ("imports.tasks.outbox_send_task", ("webhooks",), lane_queue(OUTBOX)),
    ]
    assert all(t["kwargs"]["place"] for t in queued)  # each with the place it holds


def test_batches_are_enqueued_to_the_jobs_lane_by_name(demo, monkeypatch, django_capture_on_commit_callbacks):
    """Named, not left to the default queue: inside the outbox lane's cluster the default queue
    is the outbox's (the every-minute tick or a sender's hand-off must never put a batch there)."""
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kwargs: calls.append((func, kwargs["cluster"])))
    schedule(demo, due_at=DUE)
    with django_capture_on_commit_callbacks(execute=True):  # (Redis: enqueued once the claim commits)
        dispatch_tick(now=DUE)
    assert calls == [(RUN_BATCH_TASK, lane_queue(JOBS))]
    assert lane_queue(JOBS) != lane_queue(OUTBOX) == f"{lane_queue(JOBS)}-outbox"
