"""The fault knobs (at start from the environment, at run time from POST /_sandbox/faults), the ledger,
reset, and a clean stop on SIGTERM and SIGINT."""

import http.client
import signal
import time
import uuid

import pytest

from .conftest import Sandbox

pytestmark = pytest.mark.once  # a process of its own, whatever the test database

NO_FAULTS = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0.0, "rate_limit_rate": 0.0,
             "lost_response_rate": 0.0, "down": False}


def test_faults_are_shown_and_keys_left_out_keep_their_value(sandbox):
    assert sandbox.request("GET", "/_sandbox/faults", auth=False, request_id=False).json() == NO_FAULTS
    assert sandbox.faults(latency_ms=5, error_rate=0.25).json() == {**NO_FAULTS, "latency_ms": 5, "error_rate": 0.25}
    assert sandbox.faults(jitter_ms=2).json() == {**NO_FAULTS, "latency_ms": 5, "error_rate": 0.25, "jitter_ms": 2}
    shown = sandbox.request("GET", "/_sandbox/faults", auth=False, request_id=False).json()
    assert shown == {**NO_FAULTS, "latency_ms": 5, "error_rate": 0.25, "jitter_ms": 2}


@pytest.mark.parametrize("body", [
    b"not json", b"[1]", {"error_rate": 1.5}, {"error_rate": -0.1}, {"error_rate": "0.2"}, {"latency_ms": -1},
    {"latency_ms": 1.5}, {"down": "yes"}, {"down": 1}, {"rate_limit_rate": True}, {"surprise": 1},
    {"latency_ms": 10, "lost_response_rate": 2},
])
def test_a_bad_faults_body_is_400_and_changes_nothing(sandbox, body):
    response = sandbox.request("POST", "/_sandbox/faults", body, auth=False, request_id=False)
    assert response.status == 400 and response.json()["description"]
    assert sandbox.request("GET", "/_sandbox/faults", auth=False, request_id=False).json() == NO_FAULTS


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_latency_and_jitter(sandbox):
    customer = sandbox.customer()
    path = f"/v1/customers/{customer['id']}"
    sandbox.token()
    sandbox.faults(latency_ms=300)
    response, seconds = _timed(lambda: sandbox.request("GET", path))
    assert response.status == 200 and seconds >= 0.3
    sandbox.faults(latency_ms=200, jitter_ms=200)
    for _ in range(3):
        response, seconds = _timed(lambda: sandbox.request("GET", path))
        assert response.status == 200 and seconds < 3  # at most 0.4 s of fault; the rest is a busy machine's slack
    # The sandbox's own endpoints are never slowed down: a 10 s latency would show whatever the machine's load.
    sandbox.faults(latency_ms=10_000)
    _, seconds = _timed(sandbox.ledger)
    assert seconds < 10


def test_error_rate_answers_5xx_without_doing_the_work(sandbox):
    customer = sandbox.customer()
    sandbox.token()
    sandbox.faults(error_rate=1)
    response = sandbox.cart(customer["id"])
    assert response.status in (500, 503) and isinstance(response.json()["code"], int)
    sandbox.faults(error_rate=0)
    assert not [c for c in sandbox.ledger()["carts"] if c["customer_id"] == customer["id"]]


def test_rate_limit_rate_answers_429_with_retry_after(sandbox):
    customer = sandbox.customer()
    sandbox.token()
    sandbox.faults(rate_limit_rate=1)
    response = sandbox.request("GET", f"/v1/customers/{customer['id']}/subscriptions")
    assert response.status == 429 and int(response.headers["Retry-After"]) >= 1


def test_down_answers_503_to_every_partner_center_call(sandbox):
    sandbox.token()
    sandbox.faults(down=True)
    assert sandbox.request("GET", f"/v1/customers/{uuid.uuid4()}").status == 503
    assert sandbox.request("POST", "/any/oauth2/token", form={"grant_type": "client_credentials"}, auth=False,
                           request_id=False).status == 503
    assert sandbox.request("POST", "/v1/customers", {}, auth=False, request_id=False).status == 503
    assert sandbox.request("GET", "/_sandbox/faults", auth=False, request_id=False).json()["down"] is True
    sandbox.faults(down=False)
    assert sandbox.request("GET", f"/v1/customers/{uuid.uuid4()}").status == 404


def test_a_lost_response_does_the_work_and_closes_without_answering(sandbox):
    customer = sandbox.customer()
    cart_id = sandbox.cart(customer["id"]).json()["id"]
    checkout = f"/v1/customers/{customer['id']}/carts/{cart_id}/checkout"
    request_id = str(uuid.uuid4())
    sandbox.token()
    sandbox.faults(lost_response_rate=1)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine)):
        sandbox.request("POST", checkout, request_id=request_id)
    sandbox.faults(lost_response_rate=0)
    [order] = [o for o in sandbox.ledger()["orders"] if o["cart_id"] == cart_id]  # the work was done
    assert order["request_id"] == request_id
    # The retry with the same MS-RequestId gets the answer it lost, and no second order.
    retry = sandbox.request("POST", checkout, request_id=request_id)
    assert retry.status == 201 and retry.json()["orders"][0]["id"] == order["id"]
    assert retry.headers["MS-Sandbox-Replayed"] == "true"
    assert len([o for o in sandbox.ledger()["orders"] if o["cart_id"] == cart_id]) == 1


def test_ledger_shape_and_reset(sandbox):
    customer = sandbox.customer()
    cart_id = sandbox.cart(customer["id"]).json()["id"]
    request_id = str(uuid.uuid4())
    order = sandbox.request("POST", f"/v1/customers/{customer['id']}/carts/{cart_id}/checkout",
                            request_id=request_id).json()["orders"][0]
    ledger = sandbox.ledger()
    for key in ("customers", "orders", "subscriptions", "requests_per_minute"):
        assert isinstance(ledger[key], list)
    assert all("id" in item for key in ("customers", "orders", "subscriptions") for item in ledger[key])
    assert customer["id"] in {c["id"] for c in ledger["customers"]}
    [recorded] = [o for o in ledger["orders"] if o["id"] == order["id"]]
    assert {"request_id": request_id, "cart_id": cart_id, "customer_id": customer["id"]}.items() <= recorded.items()
    [subscription] = [s for s in ledger["subscriptions"] if s["order_id"] == order["id"]]
    assert subscription["id"] == order["lineItems"][0]["subscriptionId"]
    assert subscription["request_id"] == request_id and subscription["customer_id"] == customer["id"]
    counted = [row for row in ledger["requests_per_minute"] if row["tenant"] == customer["id"]]
    assert sum(row["count"] for row in counted) == 2 and {"tenant", "minute", "count"} <= counted[0].keys()

    assert sandbox.request("POST", "/_sandbox/reset", auth=False, request_id=False).status == 200
    emptied = sandbox.ledger()
    assert emptied["customers"] == emptied["orders"] == emptied["subscriptions"] == emptied["requests_per_minute"] == []
    assert sandbox.request("GET", f"/v1/customers/{customer['id']}").status == 404


def test_faults_from_the_environment_at_start(tmp_path):
    started = Sandbox(tmp_path, "env", SANDBOX_DOWN="true", SANDBOX_LATENCY_MS=20, SANDBOX_ERROR_RATE="0.5")
    try:
        faults = started.request("GET", "/_sandbox/faults", auth=False, request_id=False).json()
        assert faults == {**NO_FAULTS, "down": True, "latency_ms": 20, "error_rate": 0.5}
        assert started.request("POST", "/t/oauth2/token", form={}, auth=False, request_id=False).status == 503
    finally:
        assert started.stop() is not None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_sigterm_and_sigint(tmp_path, signum):
    started = Sandbox(tmp_path, "stop")
    started.token()
    # A kept-alive connection open at the stop does not hold it up.
    idle = http.client.HTTPConnection("127.0.0.1", started.port, timeout=5)
    idle.request("GET", "/_sandbox/health")
    idle.getresponse().read()
    started.process.signal(signum)
    try:
        assert started.process.exited_within(5) is not None
        assert started.process.process.returncode == 0
        assert "Traceback" not in started.process.log()
    finally:
        idle.close()
        started.process.kill_everything()
