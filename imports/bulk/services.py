"""Starting a bulk import: the checked file becomes one Pending job (Source "Import") with one row
per line, in one transaction, or nothing at all.

When the reseller still has to confirm something (terms and conditions of products not accepted
at price-list level yet, or the same file imported before), the upload waits as an ImportFile and
the page asks; imports_bulk_confirm then starts it from the stored content, checked again.
"""

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.clock import db_now
from accounts.models import Company, User
from accounts.services import audit_log_record
from core.stored_messages import stored
from catalog.services import terms_accept
from orders.models import Order
from orders.services import orders_submit_many
from orders.validation import schedule_time_error

from imports.models import ImportFile, ImportJob, ImportRow
from imports.my_imports.selectors import imports_visible_to
from imports.jobs.services import search_entry_for
from imports.bulk import change_lines
from imports.bulk.checks import FileCheck, TermsToAccept, check_lines
from imports.bulk.columns import ROW_TYPES
from imports.bulk.files import FileProblem, cells_by_key, read_table
from imports.engine.plugins import housekeeping_register

# An upload waiting for a confirmation is kept this long; then the reseller has left and it goes.
UPLOAD_KEPT_FOR = dt.timedelta(days=1)
# The audit entry of a started bulk import, stored as a message and its parameters (core.stored_messages).
AUDIT_BULK_SCHEDULED = _("Import of %(count)s %(account_type)s from %(file)s scheduled for %(due)s (UTC).")
AUDIT_BULK_ACCOUNT_TYPES = {
    ImportJob.AccountType.PRODUCTS: pgettext_lazy("bulk import audit", "products"),
    ImportJob.AccountType.COMPANIES: pgettext_lazy("bulk import audit", "companies"),
    ImportJob.AccountType.USERS: pgettext_lazy("bulk import audit", "users"),
    ImportJob.AccountType.CHANGES: pgettext_lazy("bulk import audit", "changes"),
}
UPLOAD_GONE = _("This upload is no longer waiting for confirmation; upload the file again.")


@dataclass
class BulkStart:
    """What became of an upload: a job, a confirmation to ask for, or the errors to fix."""

    errors: list[str] = field(default_factory=list)
    job: ImportJob | None = None
    pending: ImportFile | None = None
    terms: list[TermsToAccept] = field(default_factory=list)
    earlier: ImportJob | None = None  # the same file imported before
    # Lines the vendor could not be asked about now ("Line 7: Microsoft could not be asked now ..."): not failures.
    warnings: list[str] = field(default_factory=list)


def file_checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _common_company(parents: list[Company]) -> Company:
    """The job's company: the deepest company above (or equal to) every line's parent, so the job is
    shown to whoever may see all of its lines' companies (imports.my_imports.selectors works on subtrees)."""
    by_path = {parent.path: parent for parent in parents}
    if len(by_path) == 1:
        return parents[0]
    segments = [path.strip("/").split("/") for path in by_path]
    common = []
    for parts in zip(*segments):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    # Lines under different roots (staff only): the first line's root.
    return Company.objects.get(pk=int(common[-1] if common else segments[0][0]))


def _earlier_import(user: User, checksum: str) -> ImportJob | None:
    """The latest import of the same file among the jobs the user sees (its rows are not needed)."""
    return imports_visible_to(user).filter(file__sha256=checksum).order_by("-created_at", "-id").first()


def _payload(line) -> dict:
    payload = {"cells": {key: value for key, value in line.cells.items() if value}}  # empty cells add nothing
    if line.service is not None:
        payload["product_code"] = line.service.code
    if line.deferred:
        payload["deferred"] = line.deferred
    if line.values is not None:
        # Dates as text: the payload is JSON.
        payload["values"] = {
            name: value.isoformat() if isinstance(value, dt.datetime) else value for name, value in line.values.items()
        }
    return payload


def _job_create(*, user: User, account_type: str, name: str, checksum: str, due_at: dt.datetime, check: FileCheck, now: dt.datetime) -> ImportJob:
    lines = check.lines
    for terms in check.terms:
        # Recorded and audited as on the wizard's Terms step, for the whole price list.
        company = next(
            line.parent for line in lines
            if line.service == terms.service or (line.change is not None and line.change.terms == terms.service)
        )
        terms_accept(price_list=terms.price_list, service=terms.service, user=user, company=company)
    products = [(line.service.name, line.service.code) for line in lines if line.service is not None]
    job = ImportJob.objects.create(
        # Named after its file (the manual shows "-", which told a reseller nothing; issue 24).
        name=name[:255],
        search=search_entry_for(name, list(dict.fromkeys(products))),
        account_type=account_type,
        source=ImportJob.Source.IMPORT,
        status=ImportJob.Status.PENDING,
        due_at=due_at,
        created_by=user,
        company=_common_company([line.parent for line in lines]),
    )
    orders: list[Order | None] = [None] * len(lines)
    if account_type == ImportJob.AccountType.PRODUCTS:
        built = [Order(company=line.parent, service=line.service, **line.order_values) for line in lines]
        orders = orders_submit_many(orders=built, user=user, due_at=due_at, now=now)
    changes: list = [None] * len(lines)
    if account_type == ImportJob.AccountType.CHANGES:
        # Created on confirmation, each as the subscription page's scheduling writes it; the database's
        # one open change per kind refuses one opened meanwhile (imports_bulk_start says so).
        changes = [change_lines.change_create(line.change, user=user, now=due_at) for line in lines]
    ImportRow.objects.bulk_create(
        ImportRow(
            job=job,
            position=line.position,
            import_type=ROW_TYPES[account_type],
            parent_company=line.parent,
            order=order,
            change=change,
            payload=_payload(line),
        )
        for line, order, change in zip(lines, orders, changes)
    )
    audit_log_record(
        company=job.company,
        actor=user,
        action="import.scheduled",
        message=stored(
            AUDIT_BULK_SCHEDULED, count=len(lines), account_type=AUDIT_BULK_ACCOUNT_TYPES[account_type],
            file=name, due=f"{due_at:%Y-%m-%d %H:%M}",
        ),
    )
    return job


def imports_bulk_start(
    *,
    user: User,
    account_type: str,
    file_name: str,
    content: bytes,
    due_at: dt.datetime | None,
    accept_terms: bool = False,
    import_again: bool = False,
    now: dt.datetime | None = None,
    pending: ImportFile | None = None,
    ask_vendor: bool = True,
) -> BulkStart:
    """Check the whole file and, when nothing is wrong and nothing is left to confirm, create its job.

    Nothing is written while any line is wrong. `due_at` None means as soon as possible. `ask_vendor`:
    the product lines' vendor pre-check (imports.bulk.checks), which calls the vendor, so only a caller
    outside any transaction passes True.
    """
    now = now or db_now()
    if account_type not in ROW_TYPES:
        raise ValueError(f"Unknown account type {account_type!r}.")
    try:
        lines, problems = cells_by_key(read_table(content), account_type)
    except FileProblem as problem:
        return BulkStart(errors=problem.messages)
    if account_type == ImportJob.AccountType.CHANGES:
        # A file of changes is one job: its changes at a chosen time share its schedule, which the
        # lines may give when the page left it empty (imports.bulk.change_lines).
        due_at, schedule_problems = change_lines.lines_schedule(lines, due_at=due_at)
        problems = [*problems, *schedule_problems]
    due = due_at or now
    if error := schedule_time_error(due, now=now):
        return BulkStart(errors=[error])
    check = check_lines(user=user, account_type=account_type, lines=lines, due=due, now=now, errors=problems, ask_vendor=ask_vendor)
    if check.errors:
        return BulkStart(errors=[message for _line, message in check.errors])
    warnings = [message for _line, message in check.warnings]
    checksum = file_checksum(content)
    earlier = _earlier_import(user, checksum)
    if (check.terms and not accept_terms) or (earlier and not import_again):
        with transaction.atomic():
            if pending is None:
                pending = ImportFile.objects.create(
                    created_by=user, account_type=account_type, name=file_name[:255], sha256=checksum,
                    due_at=due_at, content=content,
                )
        return BulkStart(pending=pending, terms=check.terms, earlier=earlier, warnings=warnings)
    try:
        with transaction.atomic():
            job = _job_create(
                user=user, account_type=account_type, name=file_name, checksum=checksum, due_at=due, check=check, now=now
            )
            if pending is not None:
                pending.job, pending.content = job, b""
                pending.save(update_fields=["job", "content"])
            else:
                ImportFile.objects.create(
                    created_by=user, account_type=account_type, name=file_name[:255], sha256=checksum, due_at=due_at, job=job
                )
    except IntegrityError:
        if account_type != ImportJob.AccountType.CHANGES:
            raise
        # One open change per kind and subscription: another tab or file opened one after the check.
        return BulkStart(errors=[str(change_lines.CHANGE_OPENED_MEANWHILE)])
    return BulkStart(job=job, earlier=earlier, warnings=warnings)


def imports_bulk_confirm(*, user: User, upload_id: int, accept_terms: bool, import_again: bool, now: dt.datetime | None = None) -> BulkStart:
    """Start an upload that waited for confirmation, checked again (the data may have changed since).
    A second click finds the upload started and returns its job, creating nothing twice.

    The check runs under the upload's lock, so it does not ask the vendor again (no remote call inside a
    transaction): the vendor was asked when the file was uploaded, moments ago, and is asked at the due time."""
    with transaction.atomic():
        pending = ImportFile.objects.select_for_update().filter(pk=upload_id, created_by=user).first()
        if pending is None:
            return BulkStart(errors=[str(UPLOAD_GONE)])
        if pending.job_id:
            return BulkStart(job=pending.job)
        return imports_bulk_start(
            user=user, account_type=pending.account_type, file_name=pending.name, content=bytes(pending.content),
            due_at=pending.due_at, accept_terms=accept_terms, import_again=import_again, now=now, pending=pending,
            ask_vendor=False,
        )


def safe_file_name(name: str) -> str:
    return os.path.basename(name or "")[:255] or "import"


def uploads_forget(*, now: dt.datetime) -> int:
    """Delete uploads that waited for a confirmation longer than UPLOAD_KEPT_FOR (their content with
    them). A read first: on SQLite a DELETE would take the write lock even when nothing is stale."""
    stale = ImportFile.objects.filter(job__isnull=True, created_at__lt=now - UPLOAD_KEPT_FOR)
    if not stale.exists():
        return 0
    return stale.delete()[0]


def register() -> None:
    """Forget abandoned uploads on every housekeeping pass of the engine (called from imports.apps)."""
    housekeeping_register("imports.bulk.uploads_forget", uploads_forget)
