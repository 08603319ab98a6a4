"""The connector's HTTP client: one pooled httpx.Client per process, the client-credentials token, the
headers, the classification of every answer into an outcome, and where a vendor URL may point."""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from django.conf import settings

from accounts.webhooks import INTERNAL_SUFFIXES, LOCAL_HOSTS
from catalog.integrations.calls import call_record

from .outcomes import (
    APPLICATION_NAME,
    CONTRACT_VERSION,
    Done,
    Outcome,
    Refused,
    TRANSIENT_AUTH,
    TRANSIENT_CODES,
    TRANSIENT_CONNECT,
    TRANSIENT_MALFORMED,
    TRANSIENT_NOT_CONFIGURED,
    TRANSIENT_RATE_LIMITED,
    TRANSIENT_TOKEN,
    TRANSIENT_UNAVAILABLE,
    Transient,
    UNKNOWN_NO_ANSWER,
    USER_AGENT,
    Unknown,
)
from .transport import StdlibTransport
from .resources import (
    CallRecord,
    Cart,
    CartLineItem,
    CheckoutResult,
    Customer,
    MalformedAnswer,
    NewCustomer,
    Order,
    Subscription,
    _items,
    _require,
)

logger = logging.getLogger(__name__)


# Retry-After: seconds or an HTTP date (RFC 9110 §10.2.3).


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now())


# --------------------------------------------------------------------------------------------------
# The client.


class _Stop(Exception):
    """Carries an outcome out of the token or request helpers."""

    def __init__(self, outcome: Outcome):
        super().__init__(getattr(outcome, "reason", ""))
        self.outcome = outcome


@dataclass
class _Token:
    value: str
    expires_at: float  # on the client's monotonic clock


@dataclass(frozen=True)
class PartnerCenterConfig:
    api_url: str
    token_url: str
    client_id: str
    client_secret: str
    resource: str = "https://api.partnercenter.microsoft.com"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_connections: int = 64
    token_margin_seconds: float = 300.0

    @classmethod
    def from_settings(cls) -> PartnerCenterConfig:
        return cls(
            api_url=settings.MICROSOFT_API_URL,
            token_url=settings.MICROSOFT_TOKEN_URL,
            client_id=settings.MICROSOFT_CLIENT_ID,
            client_secret=settings.MICROSOFT_CLIENT_SECRET,
            resource=settings.MICROSOFT_TOKEN_RESOURCE,
            connect_timeout=settings.MICROSOFT_CONNECT_TIMEOUT,
            read_timeout=settings.MICROSOFT_READ_TIMEOUT,
            max_connections=settings.MICROSOFT_MAX_CONNECTIONS,
            token_margin_seconds=settings.MICROSOFT_TOKEN_MARGIN_SECONDS,
        )


def new_request_id() -> str:
    return str(uuid.uuid4())


class PartnerCenterClient:
    """Thread-safe; build one per process (`partner_center()`), or one per test with a MockTransport."""

    def __init__(
        self,
        config: PartnerCenterConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        observer: Callable[[CallRecord], None] | None = None,
    ):
        self.config = config
        self._clock = clock
        self._wall_clock = wall_clock
        self.observer = observer
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        # Connect and pool waits are "not sent" (transient); read/write waits are "sent, no answer" (unknown).
        timeout = httpx.Timeout(
            connect=config.connect_timeout, read=config.read_timeout, write=config.read_timeout, pool=config.connect_timeout
        )
        self._http = httpx.Client(
            base_url=config.api_url,
            timeout=timeout,
            # http.client underneath (transport.py: the same pooling and exceptions, a third of the CPU a call).
            transport=transport or StdlibTransport(max_connections=config.max_connections),
            follow_redirects=False,  # an API never redirects; following one could leave the vetted host
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    # -- authentication ------------------------------------------------------------------------------

    def _fetch_token(self) -> _Token:
        """Entra ID client credentials (app-only authentication, see the module's references)."""
        if not (self.config.client_id and self.config.client_secret):
            raise _Stop(Transient(TRANSIENT_NOT_CONFIGURED))
        form = {"grant_type": "client_credentials", "client_id": self.config.client_id, "client_secret": self.config.client_secret}
        if "/v2.0/" in self.config.token_url:
            form["scope"] = f"{self.config.resource.rstrip('/')}/.default"
        else:
            form["resource"] = self.config.resource
        try:
            response = self._http.post(self.config.token_url, data=form)
        except httpx.HTTPError as exc:
            # Asking for a token changes nothing: whatever happened, it is safe to ask again later.
            raise _Stop(Transient(TRANSIENT_TOKEN % {"error": _describe(exc)})) from None
        if response.status_code in (400, 401, 403):
            logger.error("Microsoft token refused: HTTP %s %s", response.status_code, response.text[:300])
            raise _Stop(Transient(TRANSIENT_AUTH % {"status": response.status_code}, status=response.status_code))
        if response.status_code != 200:
            raise _Stop(
                Transient(
                    TRANSIENT_TOKEN % {"error": f"HTTP {response.status_code}"},
                    retry_after=parse_retry_after(response.headers.get("Retry-After"), now=self._wall_clock),
                    status=response.status_code,
                )
            )
        try:
            data = response.json()
            value = str(_require(data, "access_token"))
            expires_in = float(data.get("expires_in", 3600))
        except (ValueError, MalformedAnswer) as exc:
            logger.warning("Microsoft token answer malformed: %s", exc)
            raise _Stop(Transient(TRANSIENT_TOKEN % {"error": f"malformed answer ({exc})"})) from None
        # Renewed `token_margin_seconds` early (at most half its life), so a call never carries one that
        # expires in flight.
        margin = min(self.config.token_margin_seconds, expires_in / 2)
        return _Token(value=value, expires_at=self._clock() + expires_in - margin)

    def _bearer(self, *, renew_from: str | None = None) -> str:
        with self._token_lock:
            token = self._token
            stale = token is None or self._clock() >= token.expires_at or (renew_from is not None and token.value == renew_from)
            if stale:
                self._token = token = self._fetch_token()
            return token.value

    # -- one call ------------------------------------------------------------------------------------

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        request_id: str | None,
        correlation_id: str | None,
        body: Any = None,
        parse: Callable[[httpx.Response], Any],
        not_found: Callable[[httpx.Response], Any] | None = None,
    ) -> Outcome:
        request_id = str(request_id or new_request_id())
        correlation_id = str(correlation_id or uuid.uuid4())
        started = time.monotonic()
        status: int | None = None
        try:
            outcome, status = self._send(method, path, request_id, correlation_id, body, parse, not_found)
        except _Stop as stop:
            outcome = stop.outcome
            status = getattr(outcome, "status", None) or status
        outcome = _with_ids(outcome, request_id, correlation_id)
        self._record(operation, method, path, request_id, correlation_id, status, outcome, started)
        return outcome

    def _send(self, method, path, request_id, correlation_id, body, parse, not_found) -> tuple[Outcome, int | None]:
        token = self._bearer()
        for attempt in (1, 2):
            headers = {
                "Authorization": f"Bearer {token}",
                # headers: same MS-RequestId on a retry (idempotency), a correlation id for every call.
                "MS-RequestId": request_id,
                "MS-CorrelationId": correlation_id,
                "MS-Contract-Version": CONTRACT_VERSION,
                "MS-PartnerCenter-Application": APPLICATION_NAME,
            }
            try:
                response = self._http.request(method, path, headers=headers, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol) as exc:
                # The connection never opened: nothing reached Microsoft.
                return Transient(TRANSIENT_CONNECT % {"error": _describe(exc)}), None
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                if method in ("GET", "HEAD"):
                    # A read changes nothing: no answer is just "try again later".
                    return Transient(TRANSIENT_CONNECT % {"error": _describe(exc)}), None
                logger.warning(
                    "Partner Center %s %s: no answer after sending (%s); MS-RequestId %s, MS-CorrelationId %s",
                    method, path, _describe(exc), request_id, correlation_id,
                )
                return Unknown(UNKNOWN_NO_ANSWER % {"error": _describe(exc)}), None
            except httpx.HTTPError as exc:
                return Transient(TRANSIENT_CONNECT % {"error": _describe(exc)}), None
            if response.status_code == 401 and attempt == 1:
                # An expired or revoked token: renew it once and send the same request (same MS-RequestId).
                token = self._bearer(renew_from=token)
                continue
            return self._classify(method, path, response, correlation_id, parse, not_found), response.status_code
        return Transient(TRANSIENT_AUTH % {"status": 401}, status=401), 401

    def _classify(self, method, path, response: httpx.Response, correlation_id, parse, not_found) -> Outcome:
        status = response.status_code
        if 200 <= status < 300:
            try:
                return Done(parse(response))
            except (ValueError, MalformedAnswer, TypeError, AttributeError) as exc:
                logger.warning(
                    "Partner Center %s %s: malformed answer (HTTP %s: %s); MS-CorrelationId %s; body %r",
                    method, path, status, exc, correlation_id, response.text[:300],
                )
                return Transient(TRANSIENT_MALFORMED % {"error": exc}, status=status)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self._wall_clock)
        if status == 429:
            return Transient(TRANSIENT_RATE_LIMITED, retry_after=retry_after, status=status)
        if status == 401:  # still refused after one renewal
            logger.error("Partner Center %s %s: token refused twice; MS-CorrelationId %s", method, path, correlation_id)
            return Transient(TRANSIENT_AUTH % {"status": status}, status=status)
        if status >= 500 or status == 408:
            return Transient(TRANSIENT_UNAVAILABLE % {"status": status}, retry_after=retry_after, status=status)
        if status == 404 and not_found is not None:
            return Done(not_found(response))
        code, description = _error_of(response)
        if code is None:
            if status == 404:
                return Refused(code="404", description=description or "Not found", status=status)
            logger.warning(
                "Partner Center %s %s: HTTP %s without an error body; MS-CorrelationId %s; body %r",
                method, path, status, correlation_id, response.text[:300],
            )
            return Transient(TRANSIENT_MALFORMED % {"error": f"HTTP {status} without an error code"}, status=status)
        if code in TRANSIENT_CODES:
            return Transient(f"{description} ({code})", retry_after=retry_after, status=status)
        return Refused(code=code, description=description, status=status)

    def _record(self, operation, method, path, request_id, correlation_id, status, outcome, started) -> None:
        duration_ms = int((time.monotonic() - started) * 1000)
        detail = getattr(outcome, "reason", "") if not isinstance(outcome, Refused) else f"{outcome.code}: {outcome.description}"
        level = logging.INFO if isinstance(outcome, Done | Refused) else logging.WARNING
        logger.log(
            level, "Partner Center %s %s %s → %s %s (%s ms) MS-RequestId %s MS-CorrelationId %s %s",
            operation, method, path, status, outcome.kind, duration_ms, request_id, correlation_id, detail,
        )
        if self.observer is not None:
            try:
                self.observer(CallRecord(operation, method, path, request_id, correlation_id, status, outcome.kind, str(detail), duration_ms))
            except Exception:  # an observer's failure must not change the outcome of a vendor call
                logger.exception("Partner Center call observer failed")

    # -- operations ----------------------------------------------------------------------------------

    def customer_get(self, customer_id: str, *, request_id: str | None = None, correlation_id: str | None = None) -> Outcome:
        return self._call(
            "customer_get", "GET", f"/v1/customers/{_seg(customer_id)}",
            request_id=request_id, correlation_id=correlation_id, parse=lambda r: Customer.from_json(r.json()),
        )

    def customer_create(self, customer: NewCustomer, *, request_id: str, correlation_id: str | None = None) -> Outcome:
        """POST /v1/customers: a new customer tenant <domain>.onmicrosoft.com. `request_id` is the caller's
        (recorded before the call): a retry after a timeout sends it again."""
        return self._call(
            "customer_create", "POST", "/v1/customers", request_id=_required(request_id), correlation_id=correlation_id,
            body=customer.to_json(), parse=lambda r: Customer.from_json(r.json()),
        )

    def domain_available(self, domain: str, *, request_id: str | None = None, correlation_id: str | None = None) -> Outcome:
        """HEAD /v1/domains/{domain}: 404 means nobody has it (Done(True)); 200 means taken (Done(False))."""
        return self._call(
            "domain_available", "HEAD", f"/v1/domains/{_seg(domain)}",
            request_id=request_id, correlation_id=correlation_id, parse=lambda r: False, not_found=lambda r: True,
        )

    def cart_create(
        self, customer_id: str, line_items: Sequence[CartLineItem], *, request_id: str, correlation_id: str | None = None
    ) -> Outcome:
        """POST /v1/customers/{customer-id}/carts (create-a-cart)."""
        body = {"lineItems": [item.to_json() for item in line_items]}
        return self._call(
            "cart_create", "POST", f"/v1/customers/{_seg(customer_id)}/carts", request_id=_required(request_id),
            correlation_id=correlation_id, body=body, parse=lambda r: Cart.from_json(r.json()),
        )

    def cart_checkout(self, customer_id: str, cart_id: str, *, request_id: str, correlation_id: str | None = None) -> Outcome:
        """POST /v1/customers/{customer-id}/carts/{cart-id}/checkout: idempotent per cart (checkout-a-cart),
        so after Unknown the caller checks out the same cart again and gets the first order back. A checkout
        that returns only orderErrors is a refusal with the first error's code."""
        outcome = self._call(
            "cart_checkout", "POST", f"/v1/customers/{_seg(customer_id)}/carts/{_seg(cart_id)}/checkout",
            request_id=_required(request_id), correlation_id=correlation_id, parse=lambda r: CheckoutResult.from_json(r.json()),
        )
        if isinstance(outcome, Done) and not outcome.result.orders:
            error = outcome.result.errors[0]
            return Refused(code=error.code, description=error.description, status=200,
                           request_id=outcome.request_id, correlation_id=outcome.correlation_id)
        return outcome

    def order_get(self, customer_id: str, order_id: str, *, request_id: str | None = None, correlation_id: str | None = None) -> Outcome:
        return self._call(
            "order_get", "GET", f"/v1/customers/{_seg(customer_id)}/orders/{_seg(order_id)}",
            request_id=request_id, correlation_id=correlation_id, parse=lambda r: Order.from_json(r.json()),
        )

    def subscriptions_list(self, customer_id: str, *, request_id: str | None = None, correlation_id: str | None = None) -> Outcome:
        def parse(response):
            data = response.json()
            if not isinstance(data, Mapping) or "items" not in data:
                raise MalformedAnswer("missing 'items'")
            return [Subscription.from_json(item) for item in _items(data, "items")]

        return self._call(
            "subscriptions_list", "GET", f"/v1/customers/{_seg(customer_id)}/subscriptions",
            request_id=request_id, correlation_id=correlation_id, parse=parse,
        )

    def subscription_get(
        self, customer_id: str, subscription_id: str, *, request_id: str | None = None, correlation_id: str | None = None
    ) -> Outcome:
        return self._call(
            "subscription_get", "GET", f"/v1/customers/{_seg(customer_id)}/subscriptions/{_seg(subscription_id)}",
            request_id=request_id, correlation_id=correlation_id, parse=lambda r: Subscription.from_json(r.json()),
        )

    def subscription_patch(
        self,
        customer_id: str,
        subscription_id: str,
        *,
        request_id: str,
        quantity: int | None = None,
        auto_renew_enabled: bool | None = None,
        status: str | None = None,
        scheduled_next_term_instructions: Mapping | None = None,
        billing_cycle: str | None = None,
        term_duration: str | None = None,
        offer_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Outcome:
        """PATCH the fields given (quantity, autoRenewEnabled, status, scheduledNextTermInstructions; and,
        inside the cancellation window, billingCycle, termDuration, offerId: a change applied at once)."""
        body: dict[str, Any] = {}
        for name, value in (("billingCycle", billing_cycle), ("termDuration", term_duration), ("offerId", offer_id)):
            if value is not None:
                body[name] = value
        if quantity is not None:
            body["quantity"] = quantity
        if auto_renew_enabled is not None:
            body["autoRenewEnabled"] = auto_renew_enabled
        if status is not None:
            body["status"] = status
        if scheduled_next_term_instructions is not None:
            body["scheduledNextTermInstructions"] = dict(scheduled_next_term_instructions)
        if not body:
            raise ValueError("subscription_patch needs at least one field to change")
        return self._call(
            "subscription_patch", "PATCH", f"/v1/customers/{_seg(customer_id)}/subscriptions/{_seg(subscription_id)}",
            request_id=_required(request_id), correlation_id=correlation_id, body=body,
            parse=lambda r: Subscription.from_json(r.json()),
        )


def _required(request_id: str) -> str:
    if not request_id:
        raise ValueError("a write needs the caller's MS-RequestId (recorded before the call, reused on a retry)")
    return str(request_id)


def _seg(value: str) -> str:
    """One path segment, quoted (an id or a domain never adds a path)."""
    value = str(value or "")
    if not value:
        raise ValueError("empty path segment")
    return quote(value, safe="")


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _error_of(response: httpx.Response) -> tuple[str | None, str]:
    """(code, description) of a Partner Center error body; (None, text) when it has none."""
    try:
        data = response.json()
    except ValueError:
        return None, response.reason_phrase
    if not isinstance(data, Mapping) or data.get("code") in (None, ""):
        return None, response.reason_phrase
    return str(data["code"]), str(data.get("description") or "")[:1024]


def _with_ids(outcome: Outcome, request_id: str, correlation_id: str) -> Outcome:
    return replace(outcome, request_id=request_id, correlation_id=correlation_id)


# --------------------------------------------------------------------------------------------------
# The process's client, and the production vetting of its addresses.

_client: PartnerCenterClient | None = None
_client_pid: int | None = None
_client_lock = threading.Lock()


def partner_center() -> PartnerCenterClient:
    """The process's pooled client, built from settings (a forked worker builds its own: sockets are
    never shared across processes). Refuses addresses production may not call (UnsafeVendorURL)."""
    global _client, _client_pid
    with _client_lock:
        if _client is None or _client_pid != os.getpid():
            config = PartnerCenterConfig.from_settings()
            if settings.PRODUCTION:
                for problem in vendor_url_problems(config.api_url) + vendor_url_problems(config.token_url):
                    raise UnsafeVendorURL(problem)
            _client, _client_pid = PartnerCenterClient(config, observer=_record_call), os.getpid()
        return _client


def _record_call(record: CallRecord) -> None:
    # Every call the process's client makes is kept (catalog.models.VendorCall): the PROVISIONING tab, the admin.
    call_record(record, integration="microsoft")


def partner_center_reset() -> None:
    """Forget the process's client (tests that change settings)."""
    global _client, _client_pid
    with _client_lock:
        if _client is not None and _client_pid == os.getpid():
            _client.close()
        _client = _client_pid = None


class UnsafeVendorURL(Exception):
    pass


def _public_address(text: str) -> bool:
    """An IP literal production may call: globally routable (an IPv4 address inside IPv6 judged as the
    IPv4 one), as the webhook vetting judges addresses, without its operator exceptions."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if address.version == 6:
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            address = embedded
    return address.is_global and not address.is_multicast


def vendor_url_problems(url: str) -> list[str]:
    """Why production may not send requests (and credentials) to `url`: it must be https:// and name a
    public host, not an IP that is private, loopback, link-local (cloud metadata) or reserved, nor a local
    or internal name (the webhook vetting's list, accounts.webhooks). Static, without DNS."""
    try:
        parts = urlsplit(url or "")
        host = (parts.hostname or "").lower().rstrip(".")
        parts.port  # noqa: B018 (a port that is not a number raises)
    except ValueError:
        return [f"{url!r} is not a valid URL"]
    problems = []
    if parts.scheme != "https":
        problems.append(f"{url} must use https://")
    if not host:
        problems.append(f"{url!r} has no host")
    elif parts.username is not None or parts.password is not None:
        problems.append(f"{url} may not contain a user name or password")
    else:
        try:
            public = _public_address(host)
        except ValueError:  # a name
            if host in LOCAL_HOSTS or "." not in host or host.endswith(INTERNAL_SUFFIXES):
                problems.append(f"{url}: {host} is a local or internal name")
        else:
            if not public:
                problems.append(f"{url}: {host} is a private, loopback or reserved address")
    return problems
