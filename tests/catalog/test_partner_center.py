"""catalog.integrations.partner_center: the Microsoft Partner Center client, on httpx.MockTransport.

Every outcome (done, refused, transient, unknown), the headers of every call, the token's cache and its
renewal after a 401, Retry-After, malformed answers, and the production vetting of the vendor's URLs.
The answers are built after Partner Center's documented shapes (create-a-cart, checkout-a-cart, error
codes); the same operations against the sandbox process are tested when it is available.
"""

import datetime as dt
import email.utils
import json
import uuid

import httpx
import pytest
from django.utils import translation

from catalog.checks import microsoft_urls_check
from catalog.integrations import get_integration
from catalog.integrations.partner_center import (
    REFUSED_GENERIC,
    REFUSED_NO_RELATIONSHIP,
    Cart,
    CartLineItem,
    CheckoutResult,
    Customer,
    Done,
    NewCustomer,
    Order,
    PartnerCenterClient,
    PartnerCenterConfig,
    Refused,
    Subscription,
    Transient,
    Unknown,
    UnsafeVendorURL,
    parse_retry_after,
    partner_center,
    partner_center_reset,
    vendor_url_problems,
)
from core.stored_messages import rendered

API = "https://api.partnercenter.test"
TOKEN_URL = "https://login.test/partner-tenant/oauth2/token"
CUSTOMER = "0c39d6d5-c70d-4c55-bc02-f620844f3fd1"
CART = "d4ef4e4e-6ec2-4ac7-9f1a-2ef1bd9e4cc1"
ORDER = "8c4c8f7b-4e2b-4a5c-9d9b-7b2a5d0e2b11"
SUBSCRIPTION = "a4c1340d-6911-4758-bba3-0c4c6007d161"
LINE = CartLineItem(catalog_item_id="CFQ7TTC0LH18:0001:CFQ7TTC0LDPB", quantity=3, billing_cycle="monthly", term_duration="P1Y")


class FakePartnerCenter:
    """A MockTransport handler: the token endpoint answers from `tokens`, the API from `answers` (in order;
    each a Response, or an exception to raise); every request is kept."""

    def __init__(self, *answers, tokens=None):
        self.answers = list(answers)
        self.tokens = list(tokens or [])
        self.token_count = 0
        self.requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) == TOKEN_URL:
            self.token_count += 1
            if self.tokens:
                answer = self.tokens.pop(0)
                if isinstance(answer, Exception):
                    raise answer
                return answer
            return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3600, "access_token": f"token-{self.token_count}"})
        self.api_requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def client_for(fake, *, clock=None, wall_clock=None, observer=None, **config):
    settings = {"api_url": API, "token_url": TOKEN_URL, "client_id": "app-id", "client_secret": "app-secret", **config}
    return PartnerCenterClient(
        PartnerCenterConfig(**settings),
        transport=httpx.MockTransport(fake),
        clock=clock or Clock(),
        wall_clock=wall_clock or Clock(1_700_000_000.0),
        observer=observer,
    )


def pc_error(status, code, description, headers=None):
    # The documented error body: {"code", "description", "data", "source"}.
    return httpx.Response(status, json={"code": code, "description": description, "data": [], "source": "PartnerApiService"}, headers=headers)


def cart_json():
    return {
        "id": CART,
        "creationTimestamp": "2024-07-18T10:00:00Z",
        "expirationTimestamp": "2024-07-25T10:00:00Z",
        "lineItems": [{"id": 0, "catalogItemId": LINE.catalog_item_id, "quantity": 3, "billingCycle": "monthly", "termDuration": "P1Y"}],
        "status": "Active",
    }


def order_json(status="pending"):
    return {
        "id": ORDER,
        "referenceCustomerId": CUSTOMER,
        "lineItems": [{"lineItemNumber": 0, "offerId": LINE.catalog_item_id, "subscriptionId": SUBSCRIPTION, "quantity": 3}],
        "creationDate": "2024-07-18T10:00:05Z",
        "status": status,
    }


def subscription_json(**changes):
    return {
        "id": SUBSCRIPTION, "offerId": LINE.catalog_item_id, "offerName": "Microsoft 365 Business Basic",
        "friendlyName": "Microsoft 365 Business Basic", "quantity": 3, "status": "active", "autoRenewEnabled": True,
        "billingCycle": "monthly", "termDuration": "P1Y", "orderId": ORDER, "commitmentEndDate": "2025-07-17",
        **changes,
    }


# --- done, with typed results ------------------------------------------------------------------------


def test_cart_create_and_checkout_are_done_with_typed_results():
    fake = FakePartnerCenter(httpx.Response(201, json=cart_json()), httpx.Response(201, json={"orders": [order_json()]}))
    client = client_for(fake)
    cart_request, checkout_request = str(uuid.uuid4()), str(uuid.uuid4())

    cart = client.cart_create(CUSTOMER, [LINE], request_id=cart_request)
    checkout = client.cart_checkout(CUSTOMER, CART, request_id=checkout_request)

    assert cart == Done(Cart(id=CART, line_items=(LINE,), status="Active", expiration_timestamp="2024-07-25T10:00:00Z"),
                        request_id=cart_request, correlation_id=cart.correlation_id)
    assert isinstance(checkout, Done) and isinstance(checkout.result, CheckoutResult)
    assert checkout.result.orders[0].id == ORDER and checkout.result.orders[0].subscription_ids == [SUBSCRIPTION]
    sent_cart = fake.api_requests[0]
    assert (sent_cart.method, sent_cart.url.path) == ("POST", f"/v1/customers/{CUSTOMER}/carts")
    assert json.loads(sent_cart.content) == {"lineItems": [LINE.to_json()]}
    assert fake.api_requests[1].url.path == f"/v1/customers/{CUSTOMER}/carts/{CART}/checkout"


def test_reads_customer_order_subscriptions_and_patch():
    fake = FakePartnerCenter(
        httpx.Response(200, json={"id": CUSTOMER, "companyProfile": {"domain": "eritech.onmicrosoft.com", "companyName": "ERITECH PERU S.A."},
                                  "relationshipToPartner": "reseller"}),
        httpx.Response(200, json=order_json("completed")),
        httpx.Response(200, json={"totalCount": 1, "items": [subscription_json()]}),
        httpx.Response(200, json=subscription_json()),
        httpx.Response(200, json=subscription_json(quantity=5, autoRenewEnabled=False)),
    )
    client = client_for(fake)

    assert client.customer_get(CUSTOMER).result == Customer(CUSTOMER, "eritech.onmicrosoft.com", "ERITECH PERU S.A.", "reseller")
    order = client.order_get(CUSTOMER, ORDER).result
    assert isinstance(order, Order) and order.status == "completed"
    assert [s.id for s in client.subscriptions_list(CUSTOMER).result] == [SUBSCRIPTION]
    assert client.subscription_get(CUSTOMER, SUBSCRIPTION).result == Subscription.from_json(subscription_json())
    patched = client.subscription_patch(CUSTOMER, SUBSCRIPTION, request_id=str(uuid.uuid4()), quantity=5, auto_renew_enabled=False)
    assert patched.result.quantity == 5 and patched.result.auto_renew_enabled is False
    patch = fake.api_requests[-1]
    assert patch.method == "PATCH" and json.loads(patch.content) == {"quantity": 5, "autoRenewEnabled": False}


def test_customer_create_posts_the_domain_and_billing_profile():
    fake = FakePartnerCenter(httpx.Response(201, json={"id": CUSTOMER, "companyProfile": {"domain": "newco.onmicrosoft.com"}}))
    outcome = client_for(fake).customer_create(
        NewCustomer(domain="newco.onmicrosoft.com", company_name="NEWCO S.A.C.", email="it@newco.example", country="PE", city="Lima"),
        request_id=str(uuid.uuid4()),
    )
    assert outcome.result.id == CUSTOMER
    body = json.loads(fake.api_requests[0].content)
    assert body["companyProfile"] == {"domain": "newco.onmicrosoft.com"}
    assert body["billingProfile"]["companyName"] == "NEWCO S.A.C." and body["billingProfile"]["defaultAddress"]["country"] == "PE"


def test_domain_available_is_a_head_where_404_means_available():
    fake = FakePartnerCenter(httpx.Response(404), httpx.Response(200))
    client = client_for(fake)
    assert client.domain_available("newco.onmicrosoft.com").result is True
    assert client.domain_available("eritech.onmicrosoft.com").result is False
    assert [(r.method, r.url.path) for r in fake.api_requests] == [("HEAD", "/v1/domains/newco.onmicrosoft.com")] * 1 + [
        ("HEAD", "/v1/domains/eritech.onmicrosoft.com")
    ]


def test_path_segments_are_quoted():
    fake = FakePartnerCenter(httpx.Response(200, json={"id": "x"}))
    client_for(fake).customer_get("../partners/secret")
    assert fake.api_requests[0].url.raw_path == b"/v1/customers/..%2Fpartners%2Fsecret"


def test_writes_need_the_callers_request_id():
    client = client_for(FakePartnerCenter())
    with pytest.raises(ValueError):
        client.cart_checkout(CUSTOMER, CART, request_id="")


# --- headers and the token ---------------------------------------------------------------------------


def test_every_call_carries_the_callers_request_id_a_correlation_id_and_the_bearer_token():
    fake = FakePartnerCenter(httpx.Response(201, json={"orders": [order_json()]}), httpx.Response(200, json=order_json()))
    client = client_for(fake)
    request_id = str(uuid.uuid4())

    outcome = client.cart_checkout(CUSTOMER, CART, request_id=request_id, correlation_id="corr-1")
    client.order_get(CUSTOMER, ORDER)

    checkout, read = fake.api_requests
    assert checkout.headers["MS-RequestId"] == request_id == outcome.request_id
    assert checkout.headers["MS-CorrelationId"] == "corr-1" == outcome.correlation_id
    assert checkout.headers["Authorization"] == "Bearer token-1"
    assert checkout.headers["MS-Contract-Version"] == "v1" and checkout.headers["Accept"] == "application/json"
    # A read without ids gets fresh GUIDs, a new correlation id each call.
    assert uuid.UUID(read.headers["MS-RequestId"]) and uuid.UUID(read.headers["MS-CorrelationId"])
    assert read.headers["MS-CorrelationId"] != "corr-1"


def test_token_is_asked_with_client_credentials_and_cached_until_shortly_before_expiry():
    clock = Clock()
    fake = FakePartnerCenter(*[httpx.Response(200, json=order_json()) for _ in range(4)])
    client = client_for(fake, clock=clock, token_margin_seconds=300)

    client.order_get(CUSTOMER, ORDER)
    clock.now += 3000  # 3600 s token, renewed 300 s early: still good
    client.order_get(CUSTOMER, ORDER)
    assert fake.token_count == 1
    clock.now += 301  # past 3300 s
    client.order_get(CUSTOMER, ORDER)
    assert fake.token_count == 2
    assert fake.api_requests[-1].headers["Authorization"] == "Bearer token-2"

    token_request = fake.requests[0]
    form = dict(httpx.QueryParams(token_request.content.decode()))
    assert form == {"grant_type": "client_credentials", "client_id": "app-id", "client_secret": "app-secret",
                    "resource": "https://api.partnercenter.microsoft.com"}


def test_v2_token_endpoint_gets_a_default_scope():
    v2 = "https://login.test/partner-tenant/oauth2/v2.0/token"
    seen = []

    def handler(request):
        seen.append(request)
        if str(request.url) == v2:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, json=order_json())

    client = PartnerCenterClient(
        PartnerCenterConfig(api_url=API, token_url=v2, client_id="a", client_secret="b"), transport=httpx.MockTransport(handler)
    )
    assert isinstance(client.order_get(CUSTOMER, ORDER), Done)
    form = dict(httpx.QueryParams(seen[0].content.decode()))
    assert form["scope"] == "https://api.partnercenter.microsoft.com/.default" and "resource" not in form


def test_a_401_renews_the_token_once_and_retries_the_same_request():
    fake = FakePartnerCenter(httpx.Response(401), httpx.Response(201, json={"orders": [order_json()]}))
    request_id = str(uuid.uuid4())
    outcome = client_for(fake).cart_checkout(CUSTOMER, CART, request_id=request_id)

    assert isinstance(outcome, Done)
    assert fake.token_count == 2
    first, retry = fake.api_requests
    assert first.headers["Authorization"] == "Bearer token-1" and retry.headers["Authorization"] == "Bearer token-2"
    assert first.headers["MS-RequestId"] == retry.headers["MS-RequestId"] == request_id


def test_a_second_401_is_transient_not_a_loop():
    fake = FakePartnerCenter(httpx.Response(401), httpx.Response(401))
    outcome = client_for(fake).order_get(CUSTOMER, ORDER)
    assert isinstance(outcome, Transient) and "credentials" in outcome.reason
    assert len(fake.api_requests) == 2 and fake.token_count == 2


def test_token_endpoint_refusing_or_unreachable_is_transient_and_nothing_is_sent():
    refused = FakePartnerCenter(tokens=[httpx.Response(401, json={"error": "invalid_client"})])
    outcome = client_for(refused).cart_checkout(CUSTOMER, CART, request_id=str(uuid.uuid4()))
    assert isinstance(outcome, Transient) and "credentials" in outcome.reason and refused.api_requests == []

    down = FakePartnerCenter(tokens=[httpx.ConnectError("refused")])
    assert isinstance(client_for(down).order_get(CUSTOMER, ORDER), Transient)

    unconfigured = FakePartnerCenter()
    outcome = client_for(unconfigured, client_secret="").order_get(CUSTOMER, ORDER)
    assert isinstance(outcome, Transient) and "not configured" in outcome.reason and unconfigured.requests == []


# --- refusals ------------------------------------------------------------------------------------------


def test_a_documented_refusal_reads_in_english_and_spanish():
    fake = FakePartnerCenter(pc_error(403, "20002", "The partner ID 123 has no commerce relationship with the customer ID 456."))
    outcome = client_for(fake).cart_create(CUSTOMER, [LINE], request_id=str(uuid.uuid4()))

    assert isinstance(outcome, Refused)
    assert (outcome.code, outcome.status) == ("20002", 403)
    assert "no commerce relationship" in outcome.description
    with translation.override("en"):
        assert rendered(outcome.reason) == str(REFUSED_NO_RELATIONSHIP)
    with translation.override("es"):
        spanish = rendered(outcome.reason)
    assert spanish != str(REFUSED_NO_RELATIONSHIP) and "relación" in spanish


def test_an_undocumented_refusal_shows_the_vendors_description():
    fake = FakePartnerCenter(pc_error(400, "999999", "Something only Microsoft knows."))
    outcome = client_for(fake).cart_create(CUSTOMER, [LINE], request_id=str(uuid.uuid4()))
    with translation.override("en"):
        assert rendered(outcome.reason) == str(REFUSED_GENERIC) % {"description": "Something only Microsoft knows.", "code": "999999"}
    with translation.override("es"):
        assert rendered(outcome.reason).startswith("Microsoft rechazó")
        assert "Something only Microsoft knows." in rendered(outcome.reason)


def test_a_checkout_with_only_order_errors_is_a_refusal():
    fake = FakePartnerCenter(httpx.Response(201, json={"orders": [], "orderErrors": [
        {"orderGroupId": "0", "code": "800070", "description": "Offer isn't available in the specified country/region"}]}))
    outcome = client_for(fake).cart_checkout(CUSTOMER, CART, request_id="r-1")
    assert isinstance(outcome, Refused) and outcome.code == "800070" and outcome.request_id == "r-1"


def test_not_found_customer_is_a_refusal():
    fake = FakePartnerCenter(pc_error(404, "60003", "Tenant not found"), httpx.Response(404))
    client = client_for(fake)
    assert client.customer_get(CUSTOMER).code == "60003"
    bare = client.customer_get(CUSTOMER)
    assert isinstance(bare, Refused) and bare.code == "404"


def test_documented_not_now_conflicts_are_transient():
    fake = FakePartnerCenter(pc_error(409, "800064", "Cart is being processed by another request"))
    assert isinstance(client_for(fake).cart_checkout(CUSTOMER, CART, request_id="r"), Transient)


# --- transient and unknown -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(status):
    fake = FakePartnerCenter(pc_error(status, "800003", "Unexpected service error"))
    outcome = client_for(fake).cart_checkout(CUSTOMER, CART, request_id="r")
    assert isinstance(outcome, Transient) and outcome.status == status and outcome.request_id == "r"


def test_429_honours_retry_after_in_seconds():
    fake = FakePartnerCenter(pc_error(429, "429", "Too many requests", headers={"Retry-After": "17"}))
    outcome = client_for(fake).subscriptions_list(CUSTOMER)
    assert isinstance(outcome, Transient) and outcome.retry_after == 17 and outcome.status == 429


def test_429_honours_retry_after_as_an_http_date():
    now = 1_700_000_000.0
    when = email.utils.format_datetime(dt.datetime.fromtimestamp(now + 90, dt.UTC), usegmt=True)
    fake = FakePartnerCenter(httpx.Response(429, headers={"Retry-After": when}))
    outcome = client_for(fake, wall_clock=Clock(now)).cart_checkout(CUSTOMER, CART, request_id="r")
    assert isinstance(outcome, Transient) and outcome.retry_after == pytest.approx(90)


def test_retry_after_parsing():
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("-5") == 0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412400.0) == pytest.approx(80)


def test_a_connection_that_never_opened_is_transient():
    fake = FakePartnerCenter(httpx.ConnectError("Connection refused"))
    outcome = client_for(fake).cart_checkout(CUSTOMER, CART, request_id="r")
    assert isinstance(outcome, Transient) and "Connection refused" in outcome.reason


def test_a_connect_timeout_is_transient():
    fake = FakePartnerCenter(httpx.ConnectTimeout("timed out"))
    assert isinstance(client_for(fake).cart_checkout(CUSTOMER, CART, request_id="r"), Transient)


@pytest.mark.parametrize("error", [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("Server disconnected"), httpx.ReadError("reset")])
def test_no_answer_after_sending_a_write_is_unknown_with_the_request_id_to_retry(error):
    fake = FakePartnerCenter(error, httpx.Response(201, json={"orders": [order_json()]}))
    client = client_for(fake)
    request_id = str(uuid.uuid4())

    outcome = client.cart_checkout(CUSTOMER, CART, request_id=request_id)
    assert isinstance(outcome, Unknown) and outcome.request_id == request_id

    # The caller retries with the same MS-RequestId (the documented idempotency) and gets the order.
    retry = client.cart_checkout(CUSTOMER, CART, request_id=outcome.request_id)
    assert isinstance(retry, Done)
    assert [r.headers["MS-RequestId"] for r in fake.api_requests] == [request_id, request_id]


def test_no_answer_to_a_read_is_transient():
    fake = FakePartnerCenter(httpx.ReadTimeout("timed out"))
    assert isinstance(client_for(fake).order_get(CUSTOMER, ORDER), Transient)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(201, content=b"<html>gateway</html>", headers={"Content-Type": "text/html"}),
        httpx.Response(201, json={"orders": [{"status": "pending"}]}),  # an order without its id
        httpx.Response(201, json={"unexpected": True}),
        httpx.Response(201, json=["not", "an", "object"]),
        httpx.Response(201, json={"orders": [{"id": ORDER, "lineItems": "nope"}]}),
    ],
)
def test_a_malformed_answer_is_transient_and_logged_with_its_correlation_id(answer, caplog):
    fake = FakePartnerCenter(answer)
    with caplog.at_level("WARNING", logger="catalog.integrations.partner_center"):
        outcome = client_for(fake).cart_checkout(CUSTOMER, CART, request_id="r", correlation_id="corr-bad")
    assert isinstance(outcome, Transient) and "malformed" in outcome.reason
    assert any("corr-bad" in record.getMessage() and "malformed" in record.getMessage() for record in caplog.records)


def test_an_error_status_without_an_error_body_is_transient():
    fake = FakePartnerCenter(httpx.Response(400, content=b"<html>proxy</html>"))
    assert isinstance(client_for(fake).cart_create(CUSTOMER, [LINE], request_id="r"), Transient)


def test_the_observer_sees_every_call_and_cannot_break_one():
    calls = []
    fake = FakePartnerCenter(pc_error(503, "800003", "x"), httpx.Response(200, json=order_json()))
    client = client_for(fake, observer=calls.append)
    client.order_get(CUSTOMER, ORDER, correlation_id="c1")
    client.observer = lambda record: 1 / 0
    assert isinstance(client.order_get(CUSTOMER, ORDER), Done)
    assert (calls[0].operation, calls[0].status, calls[0].outcome, calls[0].correlation_id) == ("order_get", 503, "transient", "c1")


# --- the process's client and production vetting -------------------------------------------------------------


def test_the_microsoft_integration_hands_out_one_client_per_process(settings):
    assert get_integration("microsoft").connector() is None  # MICROSOFT_ENABLED off: provisioned locally
    settings.MICROSOFT_ENABLED = True
    partner_center_reset()
    try:
        first = get_integration("microsoft").connector()
        assert first is partner_center() and first.config.api_url == settings.MICROSOFT_API_URL
        assert get_integration("").connector() is None
    finally:
        partner_center_reset()


@pytest.mark.parametrize(
    "url",
    [
        "http://api.partnercenter.microsoft.com",
        "https://127.0.0.1:8001",
        "https://10.0.0.5",
        "https://169.254.169.254/latest",
        "https://[::ffff:192.168.1.1]",
        "https://localhost",
        "https://sandbox.internal",
        "https://sandbox",
        "https://user:pw@api.partnercenter.microsoft.com",
    ],
)
def test_production_refuses_unsafe_vendor_urls(url):
    assert vendor_url_problems(url)


def test_microsofts_urls_pass_the_vetting():
    assert vendor_url_problems("https://api.partnercenter.microsoft.com") == []
    assert vendor_url_problems("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token") == []


def test_system_check_refuses_a_private_api_url_in_production_only(settings):
    settings.MICROSOFT_API_URL = "http://127.0.0.1:8001"
    settings.MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/token"
    settings.PRODUCTION = False
    assert microsoft_urls_check() == []
    settings.PRODUCTION = True
    errors = microsoft_urls_check()
    assert [e.id for e in errors] == ["catalog.E001", "catalog.E001"]  # not https, and loopback
    assert all("MICROSOFT_API_URL" in e.msg for e in errors)
    settings.MICROSOFT_API_URL = "https://api.partnercenter.microsoft.com"
    assert microsoft_urls_check() == []


def test_production_client_refuses_to_be_built_for_a_private_url(settings):
    settings.PRODUCTION = True
    settings.MICROSOFT_API_URL = "https://10.1.2.3"
    partner_center_reset()
    try:
        with pytest.raises(UnsafeVendorURL):
            partner_center()
    finally:
        partner_center_reset()


@pytest.mark.once
def test_check_deploy_is_clean_with_the_production_defaults(tmp_path):
    """`make check-deploy`'s environment: the Microsoft defaults must pass (a subprocess, since settings
    are read once per process)."""
    import secrets
    import subprocess
    import sys

    from django.conf import settings as django_settings

    env = {
        "PATH": "/usr/bin:/bin", "DJANGO_ENV": "production", "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "portal.example.com", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "catalog.E001" not in result.stdout + result.stderr


# --- against the Partner Center sandbox process (`python -m sandbox`), when it is part of the tree --------------


@pytest.fixture
def sandbox_url(tmp_path):
    """A sandbox of our own on a free port, with its own store; stopped (SIGTERM) after the test."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings as django_settings

    if not (Path(django_settings.BASE_DIR) / "sandbox" / "__main__.py").exists():
        pytest.skip("the Partner Center sandbox (python -m sandbox) is not in this tree")
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", "0", "--db", str(tmp_path / "sandbox.sqlite3")],
        cwd=django_settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={"PATH": "/usr/bin:/bin", "SANDBOX_PROVISIONING_SECONDS": "0"},
    )
    try:
        line = process.stdout.readline()
        assert "listening on http://" in line, line
        yield line.strip().rsplit(" ", 1)[1]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sandbox_client(url):
    # The sandbox knows the development client (settings' defaults) and Microsoft's token path.
    return PartnerCenterClient(PartnerCenterConfig(
        api_url=url, token_url=f"{url}/partner-tenant/oauth2/token", client_id="icp-sandbox-client",
        client_secret="icp-sandbox-secret", read_timeout=5,
    ))


def sandbox_post(url, path, body):
    return httpx.post(f"{url}{path}", json=body, timeout=5)


def new_customer(client, name):
    outcome = client.customer_create(
        NewCustomer(domain=f"{name}.onmicrosoft.com", company_name=name.upper(), email=f"it@{name}.example", country="PE", city="Lima"),
        request_id=str(uuid.uuid4()),
    )
    assert isinstance(outcome, Done), outcome
    return outcome.result


@pytest.mark.once
def test_sandbox_a_new_tenant_then_an_order_end_to_end(sandbox_url):
    client = sandbox_client(sandbox_url)
    customer = new_customer(client, "eritechpc")
    assert client.domain_available("eritechpc.onmicrosoft.com").result is False
    assert client.domain_available("nobodyyet.onmicrosoft.com").result is True
    assert client.customer_get(customer.id).result.id == customer.id

    cart = client.cart_create(customer.id, [LINE], request_id=str(uuid.uuid4()))
    assert isinstance(cart, Done), cart
    checkout = client.cart_checkout(customer.id, cart.result.id, request_id=str(uuid.uuid4()))
    assert isinstance(checkout, Done), checkout
    order = checkout.result.orders[0]
    assert isinstance(client.order_get(customer.id, order.id), Done)
    subscriptions = client.subscriptions_list(customer.id).result
    assert [s.id for s in subscriptions] == order.subscription_ids


@pytest.mark.once
def test_sandbox_lost_response_is_unknown_and_the_same_request_id_gets_the_one_order(sandbox_url):
    client = sandbox_client(sandbox_url)
    customer = new_customer(client, "lostpc")
    cart = client.cart_create(customer.id, [LINE], request_id=str(uuid.uuid4())).result
    request_id = str(uuid.uuid4())

    sandbox_post(sandbox_url, "/_sandbox/faults", {"lost_response_rate": 1.0})
    lost = client.cart_checkout(customer.id, cart.id, request_id=request_id)
    sandbox_post(sandbox_url, "/_sandbox/faults", {"lost_response_rate": 0.0})
    assert isinstance(lost, Unknown), lost

    again = client.cart_checkout(customer.id, cart.id, request_id=lost.request_id)
    assert isinstance(again, Done), again
    ledger = httpx.get(f"{sandbox_url}/_sandbox/ledger", timeout=5).json()
    orders = [o for o in ledger["orders"] if o["cart_id"] == cart.id]
    assert len(orders) == 1 and orders[0]["request_id"] == request_id
    assert again.result.orders[0].id == orders[0]["id"]


@pytest.mark.once
def test_sandbox_429_down_and_refusals(sandbox_url):
    client = sandbox_client(sandbox_url)
    customer = new_customer(client, "faultspc")
    assert isinstance(client.customer_get(customer.id), Done)  # a token, before the faults

    sandbox_post(sandbox_url, "/_sandbox/faults", {"rate_limit_rate": 1.0})
    limited = client.subscriptions_list(customer.id)
    assert isinstance(limited, Transient) and limited.status == 429 and limited.retry_after is not None
    sandbox_post(sandbox_url, "/_sandbox/faults", {"rate_limit_rate": 0.0, "down": True})
    down = client.subscriptions_list(customer.id)
    assert isinstance(down, Transient) and down.status == 503
    sandbox_post(sandbox_url, "/_sandbox/faults", {"down": False})

    unknown_customer = client.customer_get(str(uuid.uuid4()))
    assert isinstance(unknown_customer, Refused) and unknown_customer.status == 404 and unknown_customer.code
    taken = client.customer_create(
        NewCustomer(domain="faultspc.onmicrosoft.com", company_name="X", email="x@x.example", country="PE"), request_id=str(uuid.uuid4())
    )
    assert isinstance(taken, Refused) and taken.status in (400, 409)


@pytest.mark.once
def test_sandbox_a_refused_token_is_renewed_once(sandbox_url):
    client = sandbox_client(sandbox_url)
    customer = new_customer(client, "tokenpc")
    client._token.value = "revoked"  # as if the sandbox (or Entra ID) no longer honoured it
    assert isinstance(client.customer_get(customer.id), Done)
    assert client._token.value != "revoked"
