"""The record of every vendor call (catalog.models.VendorCall): the connector's observer.

Whoever calls a vendor on behalf of a company says so (`calls_for(company_id)`), so the company page's
PROVISIONING tab lists that company's calls; a call made outside it is recorded without a company.
A record that cannot be written is logged and dropped: it never changes the outcome of the call.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from core.clock import db_now

from catalog.models import VendorCall

logger = logging.getLogger(__name__)

_company: ContextVar[int | None] = ContextVar("vendor_call_company", default=None)
_seen: ContextVar[list | None] = ContextVar("vendor_calls_seen", default=None)


@contextmanager
def calls_for(company_id: int | None) -> Iterator[None]:
    """Vendor calls made inside this block are recorded as the company's."""
    token = _company.set(company_id)
    try:
        yield
    finally:
        _company.reset(token)


@contextmanager
def calls_seen() -> Iterator[list[tuple[int | None, str]]]:
    """The (HTTP status, outcome kind) of every call made inside this block, in order (the vendor
    sender's circuit counts the vendor's failures from them: catalog.integrations.circuit)."""
    seen: list[tuple[int | None, str]] = []
    token = _seen.set(seen)
    try:
        yield seen
    finally:
        _seen.reset(token)


def call_record(record, *, integration: str) -> None:
    """Write one VendorCall for `record` (a connector's CallRecord)."""
    seen = _seen.get()
    if seen is not None:
        seen.append((record.status, record.outcome))
    try:
        VendorCall.objects.create(
            at=db_now(),
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
    except Exception:
        logger.exception("Could not record the vendor call %s %s", record.operation, record.correlation_id)
