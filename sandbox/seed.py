"""Customers the sandbox holds from its start: the seed (SANDBOX_SEED, a JSON file; by default
sandbox/demo_customers.json, the demo's Microsoft tenants, so that an order the demo schedules for
ERITECH PERU S.A. finds its tenant at "Microsoft"). Applied at start and by `POST /_sandbox/seed`;
idempotent: a customer whose id or domain the store already holds is left as it is.

The file: {"customers": [{"id": GUID (the tenant id), "domain": "<name>.onmicrosoft.com", "companyName",
"relationshipToPartner" (default "reseller"), and optionally "email", "country", "city", "culture",
"language"}]}. Each becomes a customer as POST /v1/customers would have made it (partner_center.py).
"""

import json
import re

from .partner_center import DOMAIN, customer_document

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SeedError(ValueError):
    pass


def seed_read(path: str) -> list[dict]:
    """The seed's customers; [] when `path` is empty. SeedError says what is wrong with the file."""
    if not path:
        return []
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
    return customers


def seed_apply(store, customers: list[dict], *, now: float) -> int:
    """Add the customers the store does not hold yet (by id and by domain); returns how many were added."""
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
