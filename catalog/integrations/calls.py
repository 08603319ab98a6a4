"""The record of every vendor call (catalog.models.VendorCall): the connector's observer.

Whoever calls a vendor on behalf of a company says so (`calls_for(company_id)`), so the company page's
PROVISIONING tab lists that company's calls; a call made outside it is recorded without a company.
A record that cannot be written is logged and dropped: it never changes the outcome of the call.

A sender placing many orders at once keeps its threads' records in memory (`calls_kept`) and writes
them together (`calls_write`, one INSERT), so its threads never need a database connection of their
own for them; a sender killed before writing them loses those records, never a call's effect.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

from core.clock import clock_offset, db_now

from catalog.models import VendorCall

logger = logging.getLogger(__name__)

_company: ContextVar[int | None] = ContextVar("vendor_call_company", default=None)


@contextmanager
def calls_for(company_id: int | None) -> Iterator[None]:
    """Vendor calls made inside this block are recorded as the company's."""
    token = _company.set(company_id)
    try:
        yield
    finally:
        _company.reset(token)


class KeptCalls:
    """Vendor calls recorded in memory by any thread (calls_kept), written by one (calls_write)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: list[VendorCall] = []

    def take(self) -> list[VendorCall]:
        with self.lock:
            calls, self.calls = self.calls, []
        return calls


_kept: ContextVar[KeptCalls | None] = ContextVar("vendor_calls_kept", default=None)


@contextmanager
def calls_kept(kept: KeptCalls) -> Iterator[KeptCalls]:
    """Vendor calls made inside this block (in this thread) are kept in `kept` instead of written."""
    token = _kept.set(kept)
    try:
        yield kept
    finally:
        _kept.reset(token)


def calls_write(kept: KeptCalls) -> int:
    """Write the calls `kept` holds (one INSERT; their times were taken by this process's clock and are
    put on the database's here); how many. A failure is logged and the records dropped."""
    calls = kept.take()
    if not calls:
        return 0
    offset = clock_offset()
    for call in calls:
        call.at += offset
    try:
        VendorCall.objects.bulk_create(calls)
    except Exception:
        logger.exception("Could not record %s vendor calls", len(calls))
        return 0
    return len(calls)


def call_record(record, *, integration: str) -> None:
    """Write one VendorCall for `record` (a connector's CallRecord), or keep it (calls_kept)."""
    kept = _kept.get()
    try:
        call = VendorCall(
            at=timezone.now() if kept is not None else db_now(),
            company_id=_company.get(),
            integration=integration,
            operation=record.operation[:50],
            method=record.method[:10],
            path=record.path[:500],
            status_code=record.status,
            outcome=record.outcome,
            detail=str(record.detail)[:2000],
            request_id=str(record.request_id or "")[:64],
            correlation_id=str(record.correlation_id or "")[:64],
            duration_ms=max(0, int(record.duration_ms)),
        )
        if kept is not None:
            with kept.lock:
                kept.calls.append(call)
        else:
            call.save(force_insert=True)
    except Exception:
        logger.exception("Could not record the vendor call %s %s", record.operation, record.correlation_id)
