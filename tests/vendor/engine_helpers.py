"""Set-up for the engine's vendor tests: a customer tenant of ERITECH that exists at the sandbox, jobs
scheduled for it and run by the batch (which writes the vendor orders), and the sender's tries at
chosen times (the `now` every step takes; the sandbox keeps its own real time)."""

import datetime as dt

from django.utils import timezone

from catalog.integrations import get_integration
from imports.engine.dispatch import dispatch_due_imports
from imports.models import ImportJob, VendorOrder
from imports.vendor.send import vendor_orders_send
from orders.models import Subscription
from tests.imports.helpers import ERITECH_TENANT_ID, schedule

UTC = dt.timezone.utc


def due_soon() -> dt.datetime:
    return (timezone.now() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)


def eritech_tenant_at_vendor(vendor, demo) -> str:
    """A sandbox customer, made ERITECH's Microsoft tenant (its tenant subscription's tenant id and domain),
    so the local checks and the vendor agree on it."""
    customer = vendor.customer()
    tenant = Subscription.objects.get(company=demo.eritech, attributes__tenant_id=ERITECH_TENANT_ID, tenant_domain__isnull=False)
    domain = customer["companyProfile"]["domain"]
    # Its domain too: the vendor check (MicrosoftIntegration.vendor_checks) wants the customer's domain at
    # Microsoft to be the one the company's tenant subscription holds.
    tenant.attributes = {**tenant.attributes, "tenant_id": customer["id"], "domain": domain}
    tenant.tenant_domain = domain
    tenant.save(update_fields=["attributes", "tenant_domain"])
    return customer["id"]


def schedule_for(demo, tenant_id: str, *, due_at, **fields) -> ImportJob:
    config = {"microsoft_tenant_id": tenant_id, "mpn_id": "", "end_date_alignment": ""}
    return schedule(demo, due_at=due_at, vendor_config=fields.pop("vendor_config", config), **fields)


def run_batch(due_at) -> None:
    dispatch_due_imports(now=due_at)


def send(now, **kwargs) -> int:
    return vendor_orders_send(now=now, concurrency=1, **kwargs)


def vendor_order(job: ImportJob) -> VendorOrder:
    return VendorOrder.objects.get(job=job)


def warm_token() -> None:
    """Fetch the client's token while the sandbox has no faults (faults apply to the token endpoint too)."""
    get_integration("microsoft").connector()._bearer()


def orders_of(ledger: dict, customer_id: str) -> list[dict]:
    return [order for order in ledger["orders"] if order["customer_id"] == customer_id]
