"""The Partner Center subset the portal uses, on the sandbox's store. Microsoft's documentation, followed
here (paths, bodies, status codes):

- Customers: https://learn.microsoft.com/partner-center/developer/create-a-customer (POST /v1/customers,
  201 with the customer; its id is the customer's tenant id), .../get-a-customer-by-id, domain availability
  https://learn.microsoft.com/partner-center/developer/check-domain-availability (HEAD /v1/domains/{domain}:
  200 when the domain is taken, 404 when it is available).
- Carts: https://learn.microsoft.com/partner-center/developer/create-a-cart (POST .../carts with lineItems:
  catalogItemId, quantity, billingCycle, termDuration; 201), https://learn.microsoft.com/partner-center/developer/checkout-a-cart
  ("This API is idempotent ... If a cart was successfully checked out previously and a subsequent checkout call
  is made to that same cart, the API response will reiterate the information returned after initial checkout";
  "Carts expire 7 days from the initial creation"); the answer is a CartCheckoutResult (orders, orderErrors).
- Orders: https://learn.microsoft.com/partner-center/developer/get-an-order-by-customer-id-and-order-id
  (status "pending" while provisioning, then "completed").
- Subscriptions: .../get-all-of-a-customer-s-subscriptions, .../get-a-subscription-by-id, and PATCH
  .../change-the-quantity-of-a-subscription, .../change-a-subscription-auto-renewal-option (autoRenewEnabled),
  .../suspend-a-subscription (status), .../change-subscription-at-renewal (scheduledNextTermInstructions): the body
  is the subscription resource; only these fields change, the rest is read-only and ignored.
- Errors: https://learn.microsoft.com/partner-center/developer/error-codes: every 4xx/5xx carries
  {"code", "description", "data", "source"}. The numeric codes below are the sandbox's own (stable, so a client can
  map them to reasons), in that shape.
"""

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field

from .config import Config
from .store import Store

# code -> (HTTP status, description)
ERRORS = {
    600000: (400, "The request body is not valid JSON."),
    600001: (400, "The request is missing a required field or has an invalid value."),
    600002: (400, "The domain is not a valid <name>.onmicrosoft.com domain."),
    600003: (400, "The domain is already in use by another customer."),
    600004: (404, "The customer was not found."),
    800001: (400, "A cart line item is not valid."),
    800002: (400, "The cart has expired: carts expire 7 days from their creation."),
    800003: (404, "The cart was not found."),
    800004: (404, "The order was not found."),
    800005: (404, "The subscription was not found."),
    800006: (409, "The subscription is still being provisioned; try again once its order is completed."),
    800007: (400, "The subscription is not active."),
    800008: (400, "The quantity exceeds the offer's maximum."),
}
# The code each error answers with: Partner Center's documented error codes where one exists (see
# https://learn.microsoft.com/partner-center/developer/error-codes and the connector's table in
# catalog/integrations/partner_center/outcomes.py, which maps them to reseller-readable reasons), so a client reads
# the sandbox's refusals as it would Microsoft's. The keys above stay the sandbox's own names for them.
PUBLIC_CODES = {
    600000: 3000,    # invalid input
    600001: 3000,
    600002: 3000,
    600004: 60003,   # tenant (customer) not found
    800001: 800002,  # invalid input, with the description saying which
    800002: 800008,  # an expired cart is gone, as one not found
    800003: 800008,  # cart not found
    800004: 20000,   # order not found
    800005: 20003,   # subscription not found
    800006: 800082,  # 409-style "subscription is not ready to be updated; try again later"
    800008: 800067,  # seat limit
}
BILLING_CYCLES = {"monthly", "annual", "triennial", "one_time", "none"}
TERM = re.compile(r"^P(\d{1,2})([MY])$")
DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\.onmicrosoft\.com$")


class PartnerCenterError(Exception):
    def __init__(self, code: int, detail: str | None = None, data: list | None = None):
        self.status, description = ERRORS[code]
        self.code = PUBLIC_CODES.get(code, code)
        self.description = f"{description} {detail}".strip() if detail else description
        self.data = data or []
        super().__init__(self.description)

    def body(self) -> dict:
        return {"code": self.code, "description": self.description, "data": self.data, "source": "PartnerFD"}


@dataclass
class Call:
    method: str
    path: str
    body: bytes
    request_id: str
    correlation_id: str
    now: float
    params: dict = field(default_factory=dict)

    def json(self) -> dict:
        try:
            value = json.loads(self.body or b"null")
        except ValueError:
            raise PartnerCenterError(600000) from None
        if not isinstance(value, dict):
            raise PartnerCenterError(600001, "The body must be a JSON object.")
        return value


@dataclass
class Answer:
    status: int
    body: dict | None = None
    headers: dict = field(default_factory=dict)


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _add_term(start: dt.datetime, term: str) -> dt.datetime:
    count, unit = TERM.match(term).groups()
    months = int(count) * (12 if unit == "Y" else 1)
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return start.replace(year=year, month=month, day=day) - dt.timedelta(days=1)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _link(path: str) -> dict:
    return {"uri": path, "method": "GET", "headers": []}


def customer_document(customer_id: str, *, company: dict, billing: dict, relationship: str = "reseller") -> dict:
    """A customer resource (get-a-customer-by-id): its id is its tenant id."""
    return {
        "id": customer_id,
        "commerceId": str(uuid.uuid4()),
        "companyProfile": {**company, "tenantId": customer_id},
        "billingProfile": {**billing, "id": str(uuid.uuid4())},
        "relationshipToPartner": relationship,
        "allowDelegatedAccess": True,
        "links": {"self": _link(f"/v1/customers/{customer_id}")},
        "attributes": {"objectType": "Customer"},
    }


class PartnerCenter:
    def __init__(self, store: Store, config: Config):
        self.store = store
        self.config = config

    # -- customers and domains --------------------------------------------------------------
    def customer_create(self, call: Call) -> Answer:
        body = call.json()
        company, billing = body.get("companyProfile"), body.get("billingProfile")
        if not isinstance(company, dict) or not isinstance(billing, dict):
            raise PartnerCenterError(600001, "companyProfile and billingProfile are required.")
        domain = company.get("domain")
        if not isinstance(domain, str) or not DOMAIN.match(domain.lower()):
            raise PartnerCenterError(600002)
        domain = domain.lower()
        if self.store.one("SELECT 1 FROM customers WHERE domain = ?", domain):
            raise PartnerCenterError(600003, data=[domain])
        customer_id = str(uuid.uuid4())
        customer = customer_document(customer_id, company={**company, "domain": domain}, billing=billing)
        self.store.run("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", customer_id, domain, call.request_id,
                       call.correlation_id, call.now, json.dumps(customer))
        return Answer(201, customer, {"Location": f"/v1/customers/{customer_id}"})

    def _customer(self, customer_id: str) -> dict:
        row = self.store.one("SELECT doc FROM customers WHERE id = ?", customer_id)
        if not row:
            raise PartnerCenterError(600004, data=[customer_id])
        return json.loads(row["doc"])

    def customer_get(self, call: Call) -> Answer:
        return Answer(200, self._customer(call.params["customer"]))

    def domain_head(self, call: Call) -> Answer:
        domain = call.params["domain"].lower()
        if "." not in domain:
            domain += ".onmicrosoft.com"
        taken = self.store.one("SELECT 1 FROM customers WHERE domain = ?", domain)
        return Answer(200 if taken else 404)

    # -- carts and checkout -----------------------------------------------------------------
    def _line_items(self, body: dict) -> list[dict]:
        items = body.get("lineItems")
        if not isinstance(items, list) or not items:
            raise PartnerCenterError(800001, "lineItems must be a non-empty list.")
        checked = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise PartnerCenterError(800001, f"lineItems[{index}] must be an object.")
            catalog_item = item.get("catalogItemId")
            quantity = item.get("quantity")
            cycle = item.get("billingCycle")
            term = item.get("termDuration")
            if not isinstance(catalog_item, str) or not catalog_item.strip() or len(catalog_item) > 200:
                raise PartnerCenterError(800001, f"lineItems[{index}].catalogItemId is required.")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise PartnerCenterError(800001, f"lineItems[{index}].quantity must be a whole number of 1 or more.")
            if quantity > self.config.max_quantity:
                raise PartnerCenterError(800008, f"lineItems[{index}].quantity {quantity} > {self.config.max_quantity}.")
            if not isinstance(cycle, str) or cycle.lower() not in BILLING_CYCLES:
                raise PartnerCenterError(800001, f"lineItems[{index}].billingCycle must be one of {sorted(BILLING_CYCLES)}.")
            if not isinstance(term, str) or not TERM.match(term):
                raise PartnerCenterError(800001, f"lineItems[{index}].termDuration must be an ISO 8601 duration (P1M, P1Y, P3Y).")
            checked.append({
                **item, "id": index, "catalogItemId": catalog_item, "quantity": quantity,
                "billingCycle": cycle.lower(), "termDuration": term, "orderGroup": item.get("orderGroup") or "0",
            })
        return checked

    def cart_create(self, call: Call) -> Answer:
        customer_id = call.params["customer"]
        self._customer(customer_id)
        items = self._line_items(call.json())
        cart_id = str(uuid.uuid4())
        expires = call.now + self.config.cart_ttl_seconds
        cart = {
            "id": cart_id,
            "creationTimestamp": _iso(call.now),
            "lastModifiedTimestamp": _iso(call.now),
            "expirationTimestamp": _iso(expires),
            "lastModifiedUser": self.config.client_id,
            "status": "Active",
            "lineItems": items,
            "links": {"self": _link(f"/v1/customers/{customer_id}/carts/{cart_id}")},
            "attributes": {"objectType": "Cart"},
        }
        self.store.run("INSERT INTO carts VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)", cart_id, customer_id,
                       call.request_id, call.correlation_id, call.now, expires, json.dumps(cart))
        return Answer(201, cart, {"Location": f"/v1/customers/{customer_id}/carts/{cart_id}"})

    def _cart(self, customer_id: str, cart_id: str):
        self._customer(customer_id)
        row = self.store.one("SELECT * FROM carts WHERE id = ? AND customer_id = ?", cart_id, customer_id)
        if not row:
            raise PartnerCenterError(800003, data=[cart_id])
        return row

    def cart_get(self, call: Call) -> Answer:
        return Answer(200, json.loads(self._cart(call.params["customer"], call.params["cart"])["doc"]))

    def cart_checkout(self, call: Call) -> Answer:
        customer_id, cart_id = call.params["customer"], call.params["cart"]
        row = self._cart(customer_id, cart_id)
        if row["checkout_result"] is not None:  # idempotent per cart: the first result, whatever the request id
            return Answer(row["checkout_status"], json.loads(row["checkout_result"]))
        if row["expires_at"] <= call.now:
            raise PartnerCenterError(800002, data=[cart_id])
        cart = json.loads(row["doc"])
        order_id = str(uuid.uuid4())
        start = dt.datetime.fromtimestamp(call.now, dt.UTC)
        line_items = []
        for item in cart["lineItems"]:
            subscription_id = str(uuid.uuid4())
            offer = item["catalogItemId"]
            subscription = {
                "id": subscription_id,
                "offerId": offer,
                "offerName": item.get("friendlyName") or offer,
                "friendlyName": item.get("friendlyName") or offer,
                "quantity": item["quantity"],
                "unitType": "Licenses",
                "creationDate": _iso(call.now),
                "effectiveStartDate": start.date().isoformat() + "T00:00:00Z",
                "commitmentEndDate": _add_term(start, item["termDuration"]).date().isoformat() + "T00:00:00Z",
                "autoRenewEnabled": True,
                "status": "pending",
                "billingCycle": item["billingCycle"],
                "termDuration": item["termDuration"],
                "orderId": order_id,
                "scheduledNextTermInstructions": None,
                "links": {"self": _link(f"/v1/customers/{customer_id}/subscriptions/{subscription_id}")},
                "attributes": {"objectType": "Subscription"},
            }
            self.store.run("INSERT INTO subscriptions VALUES (?, ?, ?, ?, ?, ?, ?)", subscription_id, customer_id,
                           order_id, cart_id, call.request_id, call.now, json.dumps(subscription))
            line_items.append({
                "lineItemNumber": item["id"], "offerId": offer, "subscriptionId": subscription_id,
                "termDuration": item["termDuration"], "quantity": item["quantity"], "friendlyName": subscription["friendlyName"],
            })
        order = {
            "id": order_id,
            "referenceCustomerId": customer_id,
            "alternateId": order_id.replace("-", "")[:12],
            "billingCycle": cart["lineItems"][0]["billingCycle"],
            "currencyCode": "USD",
            "lineItems": line_items,
            "creationDate": _iso(call.now),
            "status": "pending",
            "links": {"self": _link(f"/v1/customers/{customer_id}/orders/{order_id}"),
                      "provisioningStatus": _link(f"/v1/customers/{customer_id}/orders/{order_id}/provisioningstatus")},
            "attributes": {"objectType": "Order"},
        }
        self.store.run("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)", order_id, customer_id, cart_id,
                       call.request_id, call.correlation_id, call.now, call.now + self.config.provisioning_seconds,
                       json.dumps(order))
        result = {"orders": [order], "orderErrors": [], "attributes": {"objectType": "CartCheckoutResult"}}
        cart.update(status="Ordered", lastModifiedTimestamp=_iso(call.now))
        self.store.run("UPDATE carts SET doc = ?, checkout_status = 201, checkout_result = ? WHERE id = ?",
                       json.dumps(cart), json.dumps(result), cart_id)
        return Answer(201, result)

    # -- orders --------------------------------------------------------------------------------
    def order_get(self, call: Call) -> Answer:
        self._customer(call.params["customer"])
        row = self.store.one("SELECT doc FROM orders WHERE id = ? AND customer_id = ?", call.params["order"],
                             call.params["customer"])
        if not row:
            raise PartnerCenterError(800004, data=[call.params["order"]])
        return Answer(200, json.loads(row["doc"]))

    def order_list(self, call: Call) -> Answer:
        self._customer(call.params["customer"])
        rows = self.store.all("SELECT doc FROM orders WHERE customer_id = ? ORDER BY created_at", call.params["customer"])
        return Answer(200, _collection([json.loads(r["doc"]) for r in rows]))

    # -- subscriptions -----------------------------------------------------------------------
    def subscription_list(self, call: Call) -> Answer:
        self._customer(call.params["customer"])
        rows = self.store.all("SELECT doc FROM subscriptions WHERE customer_id = ? ORDER BY created_at, id",
                              call.params["customer"])
        return Answer(200, _collection([json.loads(r["doc"]) for r in rows]))

    def _subscription(self, call: Call) -> dict:
        self._customer(call.params["customer"])
        row = self.store.one("SELECT doc FROM subscriptions WHERE id = ? AND customer_id = ?",
                             call.params["subscription"], call.params["customer"])
        if not row:
            raise PartnerCenterError(800005, data=[call.params["subscription"]])
        return json.loads(row["doc"])

    def subscription_get(self, call: Call) -> Answer:
        return Answer(200, self._subscription(call))

    def subscription_patch(self, call: Call) -> Answer:
        subscription = self._subscription(call)
        body = call.json()
        if subscription["status"] == "pending":
            raise PartnerCenterError(800006)
        changes = {}
        if "quantity" in body:
            quantity = body["quantity"]
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise PartnerCenterError(600001, "quantity must be a whole number of 1 or more.")
            if quantity > self.config.max_quantity:
                raise PartnerCenterError(800008)
            changes["quantity"] = quantity
        if "autoRenewEnabled" in body:
            if not isinstance(body["autoRenewEnabled"], bool):
                raise PartnerCenterError(600001, "autoRenewEnabled must be true or false.")
            changes["autoRenewEnabled"] = body["autoRenewEnabled"]
        if "friendlyName" in body:
            if not isinstance(body["friendlyName"], str):
                raise PartnerCenterError(600001, "friendlyName must be text.")
            changes["friendlyName"] = body["friendlyName"]
        if "status" in body:
            # "deleted": a cancellation inside the 7-day window (issue 27).
            if body["status"] not in ("active", "suspended", "deleted"):
                raise PartnerCenterError(600001, 'status must be "active", "suspended" or "deleted".')
            changes["status"] = body["status"]
        for name in ("billingCycle", "termDuration", "offerId"):  # changes at once inside the window (issue 27)
            if name in body:
                if not isinstance(body[name], str) or not body[name]:
                    raise PartnerCenterError(600001, f"{name} must be text.")
                changes[name] = body[name]
        if "scheduledNextTermInstructions" in body:
            instructions = body["scheduledNextTermInstructions"]
            if instructions is not None and not isinstance(instructions, dict):
                raise PartnerCenterError(600001, "scheduledNextTermInstructions must be an object or null.")
            if instructions and "quantity" in instructions and (
                isinstance(instructions["quantity"], bool) or not isinstance(instructions["quantity"], int)
                or instructions["quantity"] < 1
            ):
                raise PartnerCenterError(600001, "scheduledNextTermInstructions.quantity must be 1 or more.")
            changes["scheduledNextTermInstructions"] = instructions
        if subscription["status"] != "active" and changes.get("status") != "active" and (
            {"quantity", "autoRenewEnabled", "scheduledNextTermInstructions"} & changes.keys()
        ):
            raise PartnerCenterError(800007)
        subscription.update(changes)
        self.store.run("UPDATE subscriptions SET doc = ? WHERE id = ?", json.dumps(subscription), subscription["id"])
        return Answer(200, subscription)


def _collection(items: list) -> dict:
    return {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}


GUID = r"[0-9A-Fa-f-]{36}"
SEG = r"[^/]+"
# (method, pattern, handler name, rate-limited): the rate limit of 500 requests a minute per customer tenant
# applies to the subscription, cart and order resources.
ROUTES = [
    ("POST", r"/v1/customers", "customer_create", False),
    ("GET", rf"/v1/customers/(?P<customer>{SEG})", "customer_get", False),
    ("HEAD", rf"/v1/domains/(?P<domain>{SEG})", "domain_head", False),
    ("POST", rf"/v1/customers/(?P<customer>{SEG})/carts", "cart_create", True),
    ("GET", rf"/v1/customers/(?P<customer>{SEG})/carts/(?P<cart>{SEG})", "cart_get", True),
    ("POST", rf"/v1/customers/(?P<customer>{SEG})/carts/(?P<cart>{SEG})/checkout", "cart_checkout", True),
    ("GET", rf"/v1/customers/(?P<customer>{SEG})/orders", "order_list", True),
    ("GET", rf"/v1/customers/(?P<customer>{SEG})/orders/(?P<order>{SEG})", "order_get", True),
    ("GET", rf"/v1/customers/(?P<customer>{SEG})/subscriptions", "subscription_list", True),
    ("GET", rf"/v1/customers/(?P<customer>{SEG})/subscriptions/(?P<subscription>{SEG})", "subscription_get", True),
    ("PATCH", rf"/v1/customers/(?P<customer>{SEG})/subscriptions/(?P<subscription>{SEG})", "subscription_patch", True),
]
COMPILED = [(method, re.compile(pattern + "$", re.IGNORECASE), name, limited) for method, pattern, name, limited in ROUTES]


def route(method: str, path: str):
    """(handler name, params, rate-limited) or ("405", ...) / None when no route matches."""
    methods = set()
    for route_method, pattern, name, limited in COMPILED:
        if match := pattern.match(path):
            if route_method == method:
                return name, match.groupdict(), limited
            methods.add(route_method)
    return ("405", {"allow": ", ".join(sorted(methods))}, False) if methods else None
