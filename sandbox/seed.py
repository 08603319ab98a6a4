"""Customers the sandbox holds from its start: the seed (SANDBOX_SEED, a JSON file; by default
sandbox/demo_customers.json, the demo's Microsoft tenants, so that an order the demo schedules for
ERITECH PERU S.A. finds its tenant at "Microsoft"). Applied at start and by `POST /_sandbox/seed`;
idempotent: a customer whose id or domain the store already holds is left as it is.

The file: {"customers": [{"id": GUID (the tenant id), "domain": "<name>.onmicrosoft.com", "companyName",
"relationshipToPartner" (default "reseller"), and optionally "email", "country", "city", "culture",
"language"}], "subscriptions": [...]}. Each customer becomes one as POST /v1/customers would have made it
(partner_center.py).

"subscriptions" (optional): the demo's live subscriptions at "Microsoft", so the portal's sync finds them:
{"id": GUID (the portal's vendor subscription id), "customerId" (a customer of the seed), "offerId",
"friendlyName", "quantity", "billingCycle", "termDuration", "autoRenewEnabled" (default true), and where its
term stands when it is seeded: "startedDaysAgo": N (bought N days ago; under 7, inside its cancellation window)
or "renewsInDays": N (its term ends N days from today's 00:00 UTC)}. A subscription whose id is held is left as
it is (its renewals since are kept).
"""

import datetime as dt
import json
import re

from .partner_center import BILLING_CYCLES, DOMAIN, customer_document
from .store import SUBSCRIPTION_COLUMNS
from .terms import DAY, TERM, renews_at, term_dates, term_start_renewing_at

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SeedError(ValueError):
    pass


def seed_read(path: str) -> dict:
    """The seed's customers and subscriptions (empty when `path` is empty). SeedError says what is wrong."""
    if not path:
        return {"customers": [], "subscriptions": []}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as error:
        raise SeedError(f"cannot read the seed {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise SeedError(f"the seed {path} is not valid JSON: {error}") from None
    customers = data.get("customers") if isinstance(data, dict) else None
    if not isinstance(customers, list):
        raise SeedError(f'the seed {path} must be a JSON object with a list "customers"')
    for number, item in enumerate(customers, start=1):
        if not isinstance(item, dict) or not GUID.match(str(item.get("id", ""))):
            raise SeedError(f"the seed {path}: customer {number} needs an \"id\" that is a GUID")
        if not DOMAIN.match(str(item.get("domain", "")).lower()):
            raise SeedError(f"the seed {path}: customer {number} needs a \"domain\" <name>.onmicrosoft.com")
    subscriptions = data.get("subscriptions", [])
    if not isinstance(subscriptions, list):
        raise SeedError(f'the seed {path}: "subscriptions" must be a list')
    customer_ids = {str(c["id"]).lower() for c in customers}
    for number, item in enumerate(subscriptions, start=1):
        problem = _subscription_problem(item, customer_ids)
        if problem:
            raise SeedError(f"the seed {path}: subscription {number} {problem}")
    return {"customers": customers, "subscriptions": subscriptions}


def _whole(value, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _subscription_problem(item, customer_ids: set[str]) -> str | None:
    if not isinstance(item, dict) or not GUID.match(str(item.get("id", ""))):
        return 'needs an "id" that is a GUID'
    if str(item.get("customerId", "")).lower() not in customer_ids:
        return 'needs a "customerId" among the seed\'s customers'
    if not str(item.get("offerId") or "").strip():
        return 'needs an "offerId"'
    if not _whole(item.get("quantity"), 1):
        return 'needs a "quantity" of 1 or more'
    if str(item.get("billingCycle", "")).lower() not in BILLING_CYCLES:
        return f'needs a "billingCycle" among {sorted(BILLING_CYCLES)}'
    if not TERM.match(str(item.get("termDuration", ""))):
        return 'needs a "termDuration" (P1M, P1Y, P3Y)'
    started, renews = item.get("startedDaysAgo"), item.get("renewsInDays")
    if (started is None) == (renews is None) or not _whole(started if renews is None else renews, 0):
        return 'needs one of "startedDaysAgo" or "renewsInDays", a whole number of days'
    return None


def seed_apply(store, seed: dict, *, now: float) -> dict:
    """Add the customers (by id and by domain) and subscriptions (by id) the store does not hold yet; returns
    how many of each were added."""
    return {"added": _customers_apply(store, seed["customers"], now=now),
            "subscriptions_added": _subscriptions_apply(store, seed["subscriptions"], now=now)}


def _customers_apply(store, customers: list[dict], *, now: float) -> int:
    added = 0
    with store.transaction():
        for item in customers:
            customer_id, domain = str(item["id"]).lower(), str(item["domain"]).lower()
            if store.one("SELECT 1 FROM customers WHERE id = ? OR domain = ?", customer_id, domain):
                continue
            document = customer_document(
                customer_id,
                company={"domain": domain, "companyName": str(item.get("companyName") or "")},
                billing={
                    "companyName": str(item.get("companyName") or ""),
                    "email": str(item.get("email") or ""),
                    "culture": str(item.get("culture") or "en-US"),
                    "language": str(item.get("language") or "en"),
                    "defaultAddress": {"country": str(item.get("country") or ""), "city": str(item.get("city") or "")},
                },
                relationship=str(item.get("relationshipToPartner") or "reseller"),
            )
            # Seeded, not ordered: no MS-RequestId or correlation id of a call created it.
            store.run("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", customer_id, domain, None, None, now,
                      json.dumps(document))
            added += 1
    return added


def _subscriptions_apply(store, subscriptions: list[dict], *, now: float) -> int:
    added = 0
    today = dt.datetime.fromtimestamp(now, dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    with store.transaction():
        for item in subscriptions:
            subscription_id = str(item["id"]).lower()
            if store.one("SELECT 1 FROM subscriptions WHERE id = ?", subscription_id):
                continue
            term = str(item["termDuration"])
            if item.get("renewsInDays") is not None:
                started = term_start_renewing_at(today + item["renewsInDays"] * DAY, term)
            else:
                started = now - item["startedDaysAgo"] * DAY
            offer = str(item["offerId"])
            document = {
                "id": subscription_id, "offerId": offer, "offerName": str(item.get("friendlyName") or offer),
                "friendlyName": str(item.get("friendlyName") or offer), "quantity": item["quantity"],
                "unitType": "Licenses", "creationDate": _iso(started),
                **term_dates(started, term, window_from=started),
                "autoRenewEnabled": item.get("autoRenewEnabled", True) is not False, "status": "active",
                "billingCycle": str(item["billingCycle"]).lower(), "termDuration": term, "orderId": "",
                "scheduledNextTermInstructions": None,
                "links": {"self": {"uri": f"/v1/customers/{item['customerId']}/subscriptions/{subscription_id}",
                                   "method": "GET", "headers": []}},
                "attributes": {"objectType": "Subscription"},
            }
            # Seeded, not ordered: no order, cart or MS-RequestId created it.
            store.run(f"INSERT INTO subscriptions ({SUBSCRIPTION_COLUMNS}) VALUES (?, ?, '', '', NULL, ?, ?, ?)",
                      subscription_id, str(item["customerId"]).lower(), started, json.dumps(document),
                      renews_at(document))
            added += 1
    return added


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
