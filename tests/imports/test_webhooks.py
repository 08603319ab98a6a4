"""Webhooks: import.completed / failed / cancelled events written with the job's final state,
POSTed signed (HMAC-SHA256) to the reseller's endpoint by the worker, retried with backoff,
given up after MAX_ATTEMPTS, retried by staff from the admin."""

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.urls import reverse

from accounts.models import Company
from accounts.webhooks import webhook_endpoint_save
from imports import tasks
from imports.webhooks import delivery as webhooks
from imports.engine.dispatch import dispatch_due_imports
from imports.engine.dispatch import imports_claim_due
from imports.models import ImportJob, WebhookDelivery
from core.outbox import MAX_ATTEMPTS
from imports.engine.runner import run_jobs
from imports.jobs.services import import_cancel

from .helpers import UTC, schedule

DUE = dt.datetime(2024, 7, 22, 15, 30, tzinfo=UTC)
Sent, Pending, Failed = WebhookDelivery.Status.SENT, WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED


class Boom(Exception):
    pass


class Receiver:
    """A real HTTP server on 127.0.0.1 in a thread: answers with `codes` in turn (the last one
    repeats) and keeps every request (headers and raw body)."""

    def __init__(self, codes=(200,)):
        self.codes = list(codes)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": self.headers, "body": body, "path": self.path})
                code = receiver.codes.pop(0) if len(receiver.codes) > 1 else receiver.codes[0]
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/icp"
        # shutdown() waits for serve_forever() to look at its flag, every poll_interval (0.5 s by default).
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _local_http(settings):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    settings.WEBHOOK_TIMEOUT = 5


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def _endpoint(demo, url="https://hooks.abbiebox.example/icp"):
    return webhook_endpoint_save(actor=demo.admin_abbie, company=demo.abbiebox, url=url)


def _run(demo, **fields) -> ImportJob:
    job = schedule(demo, due_at=DUE, **fields)
    dispatch_due_imports(now=DUE)
    job.refresh_from_db()
    return job


# --- Signing, payload, backoff --------------------------------------------------------------------


TOLERANCE = 300  # seconds: the README's window


def receiver_verifies(secret: str, body: bytes, signature: str, timestamp: str, *, now: float) -> bool:
    """What a receiver does (the README's recipe), written apart from the sender's own `sign`:
    refuse a timestamp outside the tolerance, then HMAC-SHA256 of "<timestamp>." + the raw body,
    compared in constant time. (It also drops an X-ICP-Delivery it has already handled.)"""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent_at) > TOLERANCE:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), f"{sent_at}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature or "")


def test_the_signature_covers_the_timestamp_and_the_raw_body():
    body = b'{"id":"evt_1","type":"import.completed"}'
    t = 1721662200
    expected = hmac.new(b"s3cret", b"1721662200." + body, hashlib.sha256).hexdigest()
    assert webhooks.sign("s3cret", t, body) == f"sha256={expected}"
    assert receiver_verifies("s3cret", body, f"sha256={expected}", str(t), now=t + 10)
    assert not receiver_verifies("other", body, f"sha256={expected}", str(t), now=t)
    assert not receiver_verifies("s3cret", body + b" ", f"sha256={expected}", str(t), now=t)
    # A captured request replayed later: its old timestamp is outside the window, and a fresh
    # timestamp does not match the signature.
    assert not receiver_verifies("s3cret", body, f"sha256={expected}", str(t), now=t + TOLERANCE + 1)
    assert not receiver_verifies("s3cret", body, f"sha256={expected}", str(t + 3600), now=t + 3600)
    # The body alone (the former scheme) no longer verifies.
    body_only = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert webhooks.sign("s3cret", t, body) != body_only


def test_the_body_is_stable_bytes():
    payload = {"b": 1, "a": {"ñ": "é"}}
    assert webhooks.body_bytes(payload) == webhooks.body_bytes(json.loads(webhooks.body_bytes(payload)))
    assert webhooks.body_bytes(payload) == '{"a":{"ñ":"é"},"b":1}'.encode()


def test_backoff_doubles_from_one_minute_up_to_an_hour():
    backoff = webhooks.DELIVERIES.backoff
    assert [backoff(n) for n in (1, 2, 3, 4)] == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(7) == backoff(MAX_ATTEMPTS) == dt.timedelta(hours=1)
    assert webhooks.DELIVERIES.policy.max_attempts == MAX_ATTEMPTS


def test_a_completed_job_writes_its_event_with_the_payload(demo):
    endpoint = _endpoint(demo)
    job = _run(demo, quantity=2)
    assert job.status == ImportJob.Status.COMPLETED
    delivery = WebhookDelivery.objects.get()
    assert (delivery.job, delivery.endpoint, delivery.event, delivery.status) == (job, endpoint, "import.completed", Pending)
    body = delivery.payload
    assert body["id"] == delivery.event_id and body["type"] == "import.completed"
    assert body["created_at"] == "2024-07-22T15:30:00Z"
    data = body["data"]
    row = job.rows.get()
    assert data["job_id"] == job.pk and data["status"] == "completed"
    assert data["company_account_id"] == demo.eritech.account_id
    assert (data["imported_count"], data["error_count"]) == (1, 0)
    created = {"type": "subscription", "id": row.result_account_id, "name": "", "email": ""}
    assert data["rows"] == [{"line": 1, "status": "completed", "account_id": row.result_account_id, "created_account": created, "error": ""}]
    assert row.result_account_id


def test_a_failed_job_writes_import_failed_with_the_row_error(demo):
    _endpoint(demo)
    Company.objects.filter(pk=demo.eritech.pk).update(status=Company.Status.SUSPENDED)
    job = _run(demo)
    assert job.status == ImportJob.Status.FAILED
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "import.failed"
    [row] = delivery.payload["data"]["rows"]
    assert row["status"] == "failed" and row["account_id"] is None and row["error"]
    assert delivery.payload["data"]["error_count"] == 1


def test_no_endpoint_or_an_inactive_one_writes_nothing(demo):
    _run(demo)
    endpoint = _endpoint(demo)
    endpoint.is_active = False
    endpoint.save()
    _run(demo)
    assert not WebhookDelivery.objects.exists()


def test_the_nearest_reseller_with_an_active_endpoint_owns_the_event(demo):
    """ERITECH (a customer under ABBIE BOX) : ABBIE BOX's endpoint, not a distributor's or another branch's."""
    webhook_endpoint_save(actor=demo.admin_andes, company=demo.andes, url="https://andes.example/h")
    mine = _endpoint(demo)
    assert webhooks.endpoints_for([demo.eritech]) == {demo.eritech.pk: mine}
    assert webhooks.endpoints_for([demo.intcomex]) == {}


def test_a_rolled_back_run_writes_no_delivery(demo):
    _endpoint(demo)
    job = schedule(demo, due_at=DUE)
    with pytest.raises(Boom), transaction.atomic():
        run_jobs(imports_claim_due(now=DUE, limit=10), now=DUE)
        assert WebhookDelivery.objects.filter(job=job).exists()
        raise Boom  # the run's transaction never commits
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING
    assert not WebhookDelivery.objects.exists()


def test_an_unexpected_failure_writes_import_failed(demo, monkeypatch):
    _endpoint(demo)
    job = schedule(demo, due_at=DUE)

    def broken(*args, **kwargs):
        raise Boom("bug")

    monkeypatch.setattr("imports.engine.runner._process_row", broken)
    dispatch_due_imports(now=DUE)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    delivery = WebhookDelivery.objects.get(job=job)
    assert delivery.event == "import.failed" and delivery.payload["data"]["error_count"] == 1


def test_cancelling_writes_import_cancelled(demo):
    _endpoint(demo)
    job = schedule(demo, due_at=DUE)
    assert import_cancel(job_id=job.pk, user=demo.admin_abbie) is True
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "import.cancelled" and delivery.payload["data"]["status"] == "cancelled"
    assert delivery.payload["data"]["rows"][0]["status"] == "pending"
    # A second (losing) cancel writes no second event.
    assert import_cancel(job_id=job.pk, user=demo.staff) is False
    assert WebhookDelivery.objects.count() == 1


# --- Delivery against a real HTTP server -----------------------------------------------------------


def test_a_delivery_is_signed_and_verifies_with_the_secret(demo, receiver):
    endpoint = _endpoint(demo, url=receiver.url)
    job = _run(demo)
    assert webhooks.webhooks_send_due(now=DUE) == 1
    [request] = receiver.requests
    delivery = WebhookDelivery.objects.get()
    headers = request["headers"]
    assert request["path"] == "/hooks/icp"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-ICP-Event"] == "import.completed"
    assert headers["X-ICP-Delivery"] == delivery.event_id
    assert headers["X-ICP-Timestamp"] == str(int(DUE.timestamp()))
    assert receiver_verifies(endpoint.secret, request["body"], headers["X-ICP-Signature"], headers["X-ICP-Timestamp"],
                             now=DUE.timestamp() + 1)
    assert json.loads(request["body"])["data"]["job_id"] == job.pk
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.sent_at) == (Sent, 1, 200, DUE)
    assert webhooks.webhooks_send_due(now=DUE + dt.timedelta(hours=1)) == 0  # sent once


def test_a_500_is_retried_after_the_backoff_then_succeeds_with_the_same_event_id(demo, receiver):
    receiver.codes = [500, 200]
    _endpoint(demo, url=receiver.url)
    _run(demo)
    assert webhooks.webhooks_send_due(now=DUE) == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Pending, 1, 500)
    assert delivery.last_error == "HTTP 500" and delivery.next_attempt_at == DUE + dt.timedelta(minutes=1)
    assert webhooks.webhooks_send_due(now=DUE + dt.timedelta(seconds=30)) == 0  # not due yet
    assert len(receiver.requests) == 1
    assert webhooks.webhooks_send_due(now=DUE + dt.timedelta(minutes=1)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (Sent, 2, 200, "")
    first, second = receiver.requests
    assert first["headers"]["X-ICP-Delivery"] == second["headers"]["X-ICP-Delivery"] == delivery.event_id
    assert first["body"] == second["body"]


def test_it_gives_up_after_the_attempts(demo, receiver):
    receiver.codes = [503]
    _endpoint(demo, url=receiver.url)
    _run(demo)
    now = DUE
    for attempt in range(1, MAX_ATTEMPTS + 1):
        webhooks.webhooks_send_due(now=now)
        delivery = WebhookDelivery.objects.get()
        assert delivery.attempts == attempt
        now = delivery.next_attempt_at
    assert delivery.status == Failed and delivery.last_status_code == 503
    assert webhooks.webhooks_send_due(now=now + dt.timedelta(days=1)) == 0
    assert len(receiver.requests) == MAX_ATTEMPTS


def test_an_unreachable_endpoint_is_a_failed_attempt(demo, receiver):
    url = receiver.url
    receiver.close()  # nothing listens there any more
    _endpoint(demo, url=url)
    _run(demo)
    assert webhooks.webhooks_send_due(now=DUE) == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Pending and delivery.attempts == 1 and delivery.last_status_code is None
    assert delivery.last_error


def test_the_outbox_task_sends_due_deliveries(demo, receiver, monkeypatch):
    _endpoint(demo, url=receiver.url)
    _run(demo)
    monkeypatch.setattr("django.utils.timezone.now", lambda: DUE)
    tasks.outbox_send_task()
    assert WebhookDelivery.objects.get().status == Sent and len(receiver.requests) == 1


def test_the_worker_enqueues_the_sender_when_deliveries_are_due(demo, monkeypatch, settings):
    from imports.engine.outbox_lane import outbox_senders_enqueue

    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: calls.append((args, kwargs["cluster"])))
    _endpoint(demo)
    assert outbox_senders_enqueue(now=DUE) == []
    assert calls == []
    job = schedule(demo, due_at=DUE)
    import_cancel(job_id=job.pk, user=demo.admin_abbie)  # its email-less event is due at once
    from imports.models import Notification

    assert not Notification.objects.filter(status=Notification.Status.PENDING).exists()
    assert outbox_senders_enqueue(now=WebhookDelivery.objects.get().next_attempt_at) == ["webhooks"]
    # A sender of this kind, in the outbox lane's queue (its own cluster, never the jobs').
    assert calls == [(("imports.tasks.outbox_send_task", "webhooks"), f"{settings.Q_CLUSTER['name']}-outbox")]


# --- Admin --------------------------------------------------------------------------------------------


def test_the_delivery_log_and_the_retry_action_in_the_admin(client, demo, receiver):
    receiver.codes = [500]
    _endpoint(demo, url=receiver.url)
    _run(demo)
    now = DUE
    for _attempt in range(MAX_ATTEMPTS):
        webhooks.webhooks_send_due(now=now)
        now = WebhookDelivery.objects.get().next_attempt_at
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Failed
    client.force_login(demo.staff)
    changelist = reverse("admin:imports_webhookdelivery_changelist")
    for url in (
        changelist,
        changelist + "?status__exact=failed&event__exact=import.completed",
        changelist + "?q=" + delivery.event_id,
        reverse("admin:imports_webhookdelivery_change", args=[delivery.pk]),
        reverse("admin:accounts_webhookendpoint_changelist"),
    ):
        assert client.get(url).status_code == 200, url
    assert delivery.event_id in client.get(changelist + "?status__exact=failed").content.decode()
    response = client.post(
        changelist, {"action": "retry_now", "_selected_action": [delivery.pk]}, follow=True
    )
    assert "1 webhook delivery will be sent with the next pass." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == Pending
    receiver.codes = [200]
    assert webhooks.webhooks_send_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.status == Sent and delivery.attempts == MAX_ATTEMPTS + 1


# --- Where a POST may go: vetted again at send time, connected to the vetted address ---------------


def test_a_host_that_now_resolves_to_an_internal_address_is_a_failed_attempt(demo, receiver, monkeypatch):
    """Saved while its name did not resolve (or resolved to a public address), the host resolves to
    an internal one when the worker sends (DNS rebinding): nothing is sent, the attempt fails with
    the reason and is retried like any other."""
    _endpoint(demo, url="https://hooks.abbiebox.example/icp")
    _run(demo)
    monkeypatch.setattr("accounts.webhooks.resolve", lambda host, port: ["93.184.216.34", "10.0.0.5"])
    assert webhooks.webhooks_send_due(now=DUE) == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Pending, 1, None)
    assert delivery.last_error == "refused: hooks.abbiebox.example resolves to 10.0.0.5, not a public address"
    assert delivery.next_attempt_at == DUE + dt.timedelta(minutes=1)
    assert receiver.requests == []


def test_a_saved_internal_url_is_refused_at_send_time(demo, settings):
    """An endpoint written before the rule (or by hand): refused when sending, credentials too."""
    _endpoint(demo)
    _run(demo)
    from accounts.models import WebhookEndpoint

    for url, reason in (("https://169.254.169.254/latest/", "refused: 169.254.169.254 is not a public address"),
                        ("https://u:p@hooks.abbiebox.example/", "refused: The webhook URL may not contain")):
        WebhookEndpoint.objects.update(url=url)
        code, error = webhooks.post(url, "s", event="import.completed", event_id="evt_1", body=b"{}", now=DUE)
        assert code is None and error.startswith(reason), (url, error)


def test_the_connection_goes_to_the_vetted_address_with_the_name_as_host(receiver):
    """Resolved once: the socket is opened to the vetted address, the Host header names the host."""
    port = receiver.server.server_address[1]
    from accounts.webhooks import WebhookDestination

    destination = WebhookDestination(scheme="http", host="hooks.abbiebox.example", port=port, path="/hooks/icp?x=1",
                                     address="127.0.0.1")
    connection = webhooks._PinnedHTTPConnection(destination, timeout=5)
    connection.request("POST", destination.path, body=b"{}", headers={"Content-Type": "application/json"})
    assert connection.getresponse().status == 200
    connection.close()
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"hooks.abbiebox.example:{port}" and request["path"] == "/hooks/icp?x=1"


def test_redirects_are_not_followed(demo, receiver):
    receiver.codes = [302]
    _endpoint(demo, url=receiver.url)
    _run(demo)
    assert webhooks.webhooks_send_due(now=DUE) == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error == "HTTP 302" and len(receiver.requests) == 1
