"""Claiming due jobs with a lease, and giving jobs of dead workers back (lease recovery)."""

import datetime as dt
import logging

from django.db import transaction

from imports.engine.config import engine_config
from imports.jobs import states
from core.claiming import claim_ids
from imports.models import ImportJob

logger = logging.getLogger(__name__)
Status = ImportJob.Status


def imports_claim_due(*, now: dt.datetime, limit: int) -> list[int]:
    """Pending jobs due at `now` (oldest first, at most `limit`) → In progress with a lease.

    Jobs due at the same time are taken company by company: a batch locks the companies of its
    jobs while it runs (imports.engine.runner), so batches running side by side then hold different
    companies instead of all waiting on a company whose jobs are spread over every batch."""
    lease = {"claimed_at": now, "lease_expires_at": now + dt.timedelta(seconds=engine_config().lease_seconds)}
    with transaction.atomic():
        due = ImportJob.objects.filter(status=Status.PENDING, due_at__lte=now).order_by("due_at", "company_id", "id")
        return claim_ids(
            due,
            limit=limit,
            move=lambda ids: states.transition_many(ids, Status.PENDING, Status.IN_PROGRESS, **lease),
            move_one=lambda pk: states.transition(pk, Status.PENDING, Status.IN_PROGRESS, **lease),
        )


def imports_recover_expired(*, now: dt.datetime) -> int:
    """In progress past the lease → Pending, so a later pass runs them again.

    The lease (IMPORT_LEASE_SECONDS) is longer than the task timeout (Q_TIMEOUT), after which
    django-q2 has killed the worker, so a job recovered here has no live worker left.
    """
    recovered = states.transition_queryset(
        ImportJob.objects.filter(lease_expires_at__lt=now),
        Status.IN_PROGRESS,
        Status.PENDING,
        claimed_at=None,
        lease_expires_at=None,
    )
    if recovered:
        logger.warning("Recovered %s import job(s) whose worker lease expired.", recovered)
    return recovered
