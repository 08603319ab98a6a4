"""The vendor outbox: VendorOrder rows as a kind of core.outbox, and its policy.

Placeholder home, created by the PROVISIONING UI (RECREATE PROVISIONING and the admin's "Retry now"
need VENDOR_ORDERS.retry_now): the engine's sender defines the real policy here, under the same names.
- the lease: a sender holds the orders it claimed for IMPORT_VENDOR_LEASE_SECONDS (default 120), longer
  than a vendor call with its timeouts, so a live sender never loses them;
- the chunk: IMPORT_VENDOR_CLAIM_CHUNK orders claimed at a time (default 20).
"""

import datetime as dt

from django.conf import settings

from core.outbox import Outbox, OutboxPolicy
from imports.models import VendorOrder

# This kind's name in the outbox lane (imports.engine.outbox_lane: which sender task sends what).
KIND = "vendor"

VENDOR_ORDERS = Outbox(
    VendorOrder,
    OutboxPolicy(
        lease=lambda: dt.timedelta(seconds=getattr(settings, "IMPORT_VENDOR_LEASE_SECONDS", 120)),
        chunk=lambda: getattr(settings, "IMPORT_VENDOR_CLAIM_CHUNK", 20),
    ),
)
