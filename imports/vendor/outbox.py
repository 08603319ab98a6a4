"""The vendor outbox: VendorOrder rows as the third kind of core.outbox, and its policy.

- the lease: a sender holds a vendor order for IMPORT_VENDOR_LEASE_SECONDS, longer than a whole try
  (imports.engine.config checks it covers VENDOR_CALLS_PER_TRY calls at the connector's timeouts), so
  a live sender never loses it; a sender that died leaves it to the next one after that long, which
  places it with the same request ids (the vendor answers a repeated MS-RequestId, or a repeated
  checkout of the same cart, with its first answer);
- the chunk: four times IMPORT_VENDOR_CONCURRENCY claimed at a time (a batch's vendor orders in one chunk, tried
  IMPORT_VENDOR_CONCURRENCY at once: the threads take the next as soon as one is done);
- the backoff: IMPORT_VENDOR_BACKOFF_SECONDS (15 s) doubling to 60 times that, 15 min (never earlier than the
  vendor's Retry-After; imports.vendor.finish.backoff scales this policy's waits to the knob);
- giving up: never by attempts. The deadline decides (VendorOrder.deadline_at, IMPORT_VENDOR_DEADLINE_SECONDS
  after the job's due time): the order then expires and its row fails with the last trouble.
"""

import datetime as dt

from django.conf import settings

from core.outbox import Outbox, OutboxPolicy
from imports.models import VendorOrder

# This kind's name in the outbox lane (imports.engine.outbox_lane).
KIND = "vendor"
# The policy's backoff base; the sender scales the policy's waits to IMPORT_VENDOR_BACKOFF_SECONDS.
VENDOR_BACKOFF_BASE_SECONDS = 15

VENDOR_ORDERS = Outbox(
    VendorOrder,
    OutboxPolicy(
        lease=lambda: dt.timedelta(seconds=settings.IMPORT_VENDOR_LEASE_SECONDS),
        chunk=lambda: 4 * settings.IMPORT_VENDOR_CONCURRENCY,
        backoff_base=dt.timedelta(seconds=VENDOR_BACKOFF_BASE_SECONDS),
        backoff_cap=dt.timedelta(minutes=15),
        max_attempts=10**9,
    ),
)
