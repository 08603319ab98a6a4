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
  is the subscription resource; only these fields change, the rest is read-only and ignored. The term's fields,
  the renewal at term end and New Commerce's cancellation window: sandbox/terms.py (cited there).
- Errors: https://learn.microsoft.com/partner-center/developer/error-codes: every 4xx/5xx carries
  {"code", "description", "data", "source"}. The numeric codes below are the sandbox's own (stable, so a client can
  map them to reasons), in that shape.
"""

import json
import re
import uuid
from dataclasses import dataclass, field

from .config import Config
from .store import SUBSCRIPTION_COLUMNS, Store
from .terms import ENDED, TERM, in_window, iso, presented, renews_at, seconds_of, term_dates

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
    # New Commerce (https://learn.microsoft.com/partner-center/customers/subscription-cancellation-window): seats
    # are reduced, the billing cycle or term changed, or the subscription cancelled only inside the window of
    # 168 hours after the purchase or the renewal; later, such changes wait for the renewal as
    # scheduledNextTermInstructions.
    800110: (400, "Seats can be reduced only within the cancellation window (168 hours after the purchase or the "
                  "renewal); schedule the reduction for the renewal (scheduledNextTermInstructions)."),
    800111: (400, "The billing cycle or term can be changed only within the cancellation window (168 hours after the "
                  "purchase or the renewal); schedule it for the renewal (scheduledNextTermInstructions)."),
    800112: (400, "The subscription can be cancelled only within the cancellation window (168 hours after the "
                  "purchase or the renewal); turn auto-renew off to end it at the end of its term."),
    800113: (400, "The subscription has ended (expired or cancelled) and cannot be changed."),
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
            "creationTimestamp": iso(call.now),
            "lastModifiedTimestamp": iso(call.now),
            "expirationTimestamp": iso(expires),
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
                "creationDate": iso(call.now),
                # effectiveStartDate, commitmentEndDate, cancellationAllowedUntilDate (sandbox/terms.py).
                **term_dates(call.now, item["termDuration"], window_from=call.now),
                "autoRenewEnabled": True,
                "status": "pending",
                "billingCycle": item["billingCycle"],
                "termDuration": item["termDuration"],
                "orderId": order_id,
                "scheduledNextTermInstructions": None,
                "links": {"self": _link(f"/v1/customers/{customer_id}/subscriptions/{subscription_id}")},
                "attributes": {"objectType": "Subscription"},
            }
            self.store.run(f"INSERT INTO subscriptions ({SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           subscription_id, customer_id, order_id, cart_id, call.request_id, call.now,
                           json.dumps(subscription), renews_at(subscription))
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
            "creationDate": iso(call.now),
            "status": "pending",
            "links": {"self": _link(f"/v1/customers/{customer_id}/orders/{order_id}"),
                      "provisioningStatus": _link(f"/v1/customers/{customer_id}/orders/{order_id}/provisioningstatus")},
            "attributes": {"objectType": "Order"},
        }
        self.store.run("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)", order_id, customer_id, cart_id,
                       call.request_id, call.correlation_id, call.now, call.now + self.config.provisioning_seconds,
                       json.dumps(order))
        result = {"orders": [order], "orderErrors": [], "attributes": {"objectType": "CartCheckoutResult"}}
        cart.update(status="Ordered", lastModifiedTimestamp=iso(call.now))
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
        return Answer(200, _collection([presented(json.loads(r["doc"]), call.now) for r in rows]))

    def _subscription(self, call: Call) -> dict:
        self._customer(call.params["customer"])
        row = self.store.one("SELECT doc FROM subscriptions WHERE id = ? AND customer_id = ?",
                             call.params["subscription"], call.params["customer"])
        if not row:
            raise PartnerCenterError(800005, data=[call.params["subscription"]])
        return json.loads(row["doc"])

    def subscription_get(self, call: Call) -> Answer:
        return Answer(200, presented(self._subscription(call), call.now))

    def subscription_patch(self, call: Call) -> Answer:
        """The fields Partner Center lets a partner change, with New Commerce's rules: a reduction of seats, a
        change of billing cycle or term, and a cancellation (status "deleted") only inside the cancellation
        window; any mid-term change of quantity, billing cycle, term or offer removes the scheduled next-term
        instructions (change-subscription-at-renewal), unless the same PATCH sets new ones."""
        subscription = self._subscription(call)
        body = call.json()
        if subscription["status"] == "pending":
            raise PartnerCenterError(800006)
        if subscription["status"] in ENDED:
            raise PartnerCenterError(800113, data=[subscription["id"]])
        window = in_window(subscription, call.now)
        until = subscription.get("cancellationAllowedUntilDate")
        changes = {}
        if "quantity" in body:
            quantity = body["quantity"]
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise PartnerCenterError(600001, "quantity must be a whole number of 1 or more.")
            if quantity > self.config.max_quantity:
                raise PartnerCenterError(800008)
            if quantity < subscription["quantity"] and not window:
                raise PartnerCenterError(800110, f"The window closed at {until}.", data=[subscription["id"]])
            changes["quantity"] = quantity
        if "autoRenewEnabled" in body:
            if not isinstance(body["autoRenewEnabled"], bool):
                raise PartnerCenterError(600001, "autoRenewEnabled must be true or false.")
            changes["autoRenewEnabled"] = body["autoRenewEnabled"]
        if "friendlyName" in body:
            if not isinstance(body["friendlyName"], str):
                raise PartnerCenterError(600001, "friendlyName must be text.")
            changes["friendlyName"] = body["friendlyName"]
        if "billingCycle" in body:
            cycle = body["billingCycle"]
            if not isinstance(cycle, str) or cycle.lower() not in BILLING_CYCLES:
                raise PartnerCenterError(600001, f"billingCycle must be one of {sorted(BILLING_CYCLES)}.")
            changes["billingCycle"] = cycle.lower()
        if "termDuration" in body:
            term = body["termDuration"]
            if not isinstance(term, str) or not TERM.match(term):
                raise PartnerCenterError(600001, "termDuration must be an ISO 8601 duration (P1M, P1Y, P3Y).")
            changes["termDuration"] = term
        for key in ("billingCycle", "termDuration"):
            if key in changes and changes[key] != subscription.get(key) and not window:
                raise PartnerCenterError(800111, f"The window closed at {until}.", data=[subscription["id"]])
        if "offerId" in body:
            if not isinstance(body["offerId"], str) or not body["offerId"].strip() or len(body["offerId"]) > 200:
                raise PartnerCenterError(600001, "offerId must be a catalog item id.")
            changes["offerId"] = body["offerId"]
        if "status" in body:
            if body["status"] not in ("active", "suspended", "deleted"):
                raise PartnerCenterError(600001, 'status must be "active", "suspended" or "deleted".')
            if body["status"] == "deleted" and not window:
                raise PartnerCenterError(800112, f"The window closed at {until}.", data=[subscription["id"]])
            changes["status"] = body["status"]
        if "scheduledNextTermInstructions" in body:
            changes["scheduledNextTermInstructions"] = self._instructions(body["scheduledNextTermInstructions"])
        if subscription["status"] != "active" and changes.get("status") != "active" and (
            {"quantity", "autoRenewEnabled", "scheduledNextTermInstructions", "billingCycle", "termDuration", "offerId"}
            & changes.keys()
        ):
            raise PartnerCenterError(800007)
        mid_term = any(key in changes and changes[key] != subscription.get(key)
                       for key in ("quantity", "billingCycle", "termDuration", "offerId"))
        if mid_term and "scheduledNextTermInstructions" not in changes:
            changes["scheduledNextTermInstructions"] = None  # Partner Center wipes them on a mid-term change
        if changes.get("status") == "deleted":
            # Cancelled inside the window: it ends now, never renews, and its instructions go with it.
            changes.update(autoRenewEnabled=False, scheduledNextTermInstructions=None)
        term_changed = changes.get("termDuration", subscription.get("termDuration")) != subscription.get("termDuration")
        subscription.update(changes)
        if term_changed:  # inside the window: the current term becomes the new one, from the same start
            dates = term_dates(seconds_of(subscription["effectiveStartDate"]), subscription["termDuration"], window_from=0)
            subscription["commitmentEndDate"] = dates["commitmentEndDate"]
        self.store.subscription_save(subscription)
        return Answer(200, presented(subscription, call.now))

    def _instructions(self, instructions):
        """scheduledNextTermInstructions as PATCHed: null (none), or the next term's product, quantity, billing
        cycle and term (change-subscription-at-renewal)."""
        if instructions is None:
            return None
        if not isinstance(instructions, dict):
            raise PartnerCenterError(600001, "scheduledNextTermInstructions must be an object or null.")
        if "quantity" in instructions and (
            isinstance(instructions["quantity"], bool) or not isinstance(instructions["quantity"], int)
            or instructions["quantity"] < 1
        ):
            raise PartnerCenterError(600001, "scheduledNextTermInstructions.quantity must be 1 or more.")
        if isinstance(instructions.get("quantity"), int) and instructions["quantity"] > self.config.max_quantity:
            raise PartnerCenterError(800008)
        product = instructions.get("product")
        if product is not None and not isinstance(product, dict):
            raise PartnerCenterError(600001, "scheduledNextTermInstructions.product must be an object.")
        for key in ("billingCycle", "termDuration"):
            for where, value in (("", instructions.get(key)), ("product.", (product or {}).get(key))):
                if value is None:
                    continue
                valid = (isinstance(value, str) and value.lower() in BILLING_CYCLES) if key == "billingCycle" else (
                    isinstance(value, str) and TERM.match(value))
                if not valid:
                    raise PartnerCenterError(600001, f"scheduledNextTermInstructions.{where}{key} is not valid.")
        return instructions


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
