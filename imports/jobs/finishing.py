"""Finishing a job that ran: its final status from its rows, the audit entry, the email and the
webhook event, all written in the caller's transaction. One home for it, used by the batch
(imports.engine.runner: jobs In progress) and by the vendor sender (imports.vendor.finish: a job that
waited for its vendor orders).

The caller hands the emails off after its commit (the fast path): the batch and the sender each do
it their way, so a run that rolls back sends nothing.
"""

import datetime as dt
from collections import defaultdict

from django.utils.translation import gettext_lazy as _

from accounts.models import AuditLogEntry
from core.stored_messages import stored

from imports.jobs import states
from imports.models import ImportJob, ImportRow, Notification
from imports.webhooks.delivery import webhook_deliveries_record

Status = ImportJob.Status

# The audit entries of a finished job; stored (core.stored_messages) and rendered in the reader's language.
AUDIT_IMPORT_COMPLETED = _("Import '%(job)s' completed: %(created)s.")
AUDIT_IMPORT_NOTHING_CREATED = _("nothing to create")
AUDIT_ACCOUNT_CREATED = _("%(type)s %(account_id)s")
AUDIT_IMPORT_FAILED = _("Import '%(job)s' failed: %(reasons)s")
AUDIT_IMPORT_COMPLETED_WITH_ERRORS = _("Import '%(job)s' completed with errors: %(created)s. Failed: %(reasons)s")


class LostClaim(RuntimeError):
    """A job was no longer in the status it was finished from (In progress, Waiting) when the run
    tried to finish it."""


def final_status(rows: list[ImportRow]) -> tuple[str, int, int]:
    completed = sum(1 for row in rows if row.status == ImportRow.Status.COMPLETED)
    failed = sum(1 for row in rows if row.status == ImportRow.Status.FAILED)
    # A run with failed rows is never plain "Completed": the reseller must look at it (the email
    # and My imports show the reasons). "Completed with errors" when some rows succeeded (a bulk
    # import's other lines stand), Failed when none did. Imported accounts (No.) says how many.
    if not failed:
        return Status.COMPLETED, completed, failed
    return (Status.COMPLETED_WITH_ERRORS if completed else Status.FAILED), completed, failed


def _created_item(row: ImportRow) -> str:
    """What a completed row created, for the audit entry: "<subscription> (<account id>)", "Company 4711"
    or "User ana@example.com"."""
    if row.subscription:
        return f"{row.subscription.name} ({row.result_account_id})"
    kind = dict(ImportRow.ImportType.choices).get(row.import_type, row.import_type)
    account = row.created_account
    if account and account["type"] == "user":  # a user has no account id: its email says which
        return stored(AUDIT_ACCOUNT_CREATED, type=kind, account_id=account["email"])
    return stored(AUDIT_ACCOUNT_CREATED, type=kind, account_id=row.result_account_id) if row.result_account_id else stored(kind)


def audit_entry(job: ImportJob, rows: list[ImportRow], status: str) -> AuditLogEntry:
    created = [
        _created_item(row) for row in rows
        if row.status == ImportRow.Status.COMPLETED and (row.subscription or row.import_type != ImportRow.ImportType.PRODUCT)
    ]
    reasons = [line for row in rows if row.status == ImportRow.Status.FAILED for line in row.error.split("\n")]
    label = job.stored_label()
    if status == Status.COMPLETED:
        action = "import.completed"
        message = stored(AUDIT_IMPORT_COMPLETED, job=label, created=created or AUDIT_IMPORT_NOTHING_CREATED)
    elif status == Status.COMPLETED_WITH_ERRORS:
        action = "import.completed_with_errors"
        message = stored(AUDIT_IMPORT_COMPLETED_WITH_ERRORS, job=label, created=created, reasons=reasons)
    else:
        action, message = "import.failed", stored(AUDIT_IMPORT_FAILED, job=label, reasons=reasons)
    return AuditLogEntry(company=job.company, actor=job.created_by, action=action, message=message)


def jobs_finish(
    jobs: list[ImportJob], rows_of_job: dict[int, list[ImportRow]], *, now: dt.datetime, from_status: str
) -> dict[int, str]:
    """Move `jobs` (whose rows are all final, in memory) from `from_status` to their final status and
    write what a finished job has: the audit entry, the email (the Notification outbox) and the webhook
    event. In the caller's transaction; raises LostClaim when a job was no longer in `from_status`.
    The jobs' fields are set in memory to what was written (the emails are built from them).
    Returns job id → final status."""
    finished: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    audit: list[AuditLogEntry] = []
    results: dict[int, str] = {}
    for job in jobs:
        job_rows = rows_of_job[job.pk]
        status, completed, failed = final_status(job_rows)
        finished[(status, completed, failed)].append(job.pk)
        audit.append(audit_entry(job, job_rows, status))
        results[job.pk] = status
        # The same values the UPDATE below writes, so the email can be built from memory.
        job.status, job.imported_count, job.error_count, job.finished_at = status, completed, failed, now
    for (status, completed, failed), ids in finished.items():
        moved = states.transition_many(
            ids, from_status, status,
            imported_count=completed, error_count=failed, finished_at=now, lease_expires_at=None,
        )
        if moved != len(ids):
            raise LostClaim(f"{len(ids) - moved} import job(s) were no longer {from_status}; rolling back.")
    if not results:
        return results
    AuditLogEntry.objects.bulk_create(audit)
    # The outbox: each finished job's email, committed with its final status or not at all.
    Notification.objects.bulk_create([Notification.for_job(pk, now=now) for pk in results])
    # The webhook outbox likewise: the reseller's import.completed / import.failed events.
    webhook_deliveries_record(jobs, now=now, rows_of_job=rows_of_job)
    return results
