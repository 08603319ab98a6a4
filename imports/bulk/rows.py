"""Running a company or user line of a bulk import (imports.engine.runner calls these, row by row, in file order).

Each runs inside the batch's transaction, in its own savepoint: a line that fails (a domain or an
email taken meanwhile, even by a concurrent writer) rolls back alone and the row records why. The
row's result is written in the same transaction as what it created, so a repeated run (a worker
killed mid-batch rolls everything back) finds the row either still Pending with nothing created,
or finished: it can never create twice.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import COMPANY_DOMAIN_TAKEN, USER_EMAIL_TAKEN, Company, User
from accounts.services import company_create
from accounts.users.services import user_create
from catalog.services import price_list_inherit
from core.stored_messages import stored, stored_errors
from orders.validation import parent_account_inactive

from imports.engine.plugins import line_runner_register
from imports.engine.runner import PARENT_NOT_VISIBLE
from imports.models import ImportRow

# A Users line whose email is taken: said without telling whether (or where) that user exists.
USER_EMAIL_UNUSABLE = _("This email address cannot be used; choose another one.")

COMPANY_FIELDS = (
    "domain", "vat_id", "language", "currency", "address", "city", "country", "zip_code", "email",
    "contact_phone", "contact_person", "billing_start_date", "is_billable", "contract_id", "customer_id",
)
USER_FIELDS = ("first_name", "last_name", "job_title", "phone")


def _fail(row: ImportRow, reason) -> None:
    """The row failed for `reason`: stored text, or a message (gettext_lazy) stored here, shown in its reader's language."""
    row.status, row.error = ImportRow.Status.FAILED, reason if isinstance(reason, str) else stored(reason)


def parent_problem(row: ImportRow) -> str | None:
    parent = row.parent_company
    if not parent.is_active:
        return parent_account_inactive(parent)
    return None


def _values(row: ImportRow) -> dict:
    values = dict(row.payload.get("values") or {})
    if values.get("billing_start_date"):
        values["billing_start_date"] = dt.datetime.fromisoformat(values["billing_start_date"])
    return values


def company_row_run(row: ImportRow, *, actor: User, price_lists: dict | None = None) -> None:
    """Create the line's customer company under its parent: completed with its account id, or failed.
    `price_lists` (parent id → its price list) is shared by the rows of a batch, read once per parent."""
    if reason := parent_problem(row):
        return _fail(row, reason)
    values = _values(row)
    parent = row.parent_company
    fields = {name: values[name] for name in COMPANY_FIELDS if name in values}
    if "currency" in fields:
        fields["currency"] = fields["currency"].upper()
    fields.setdefault("marketplace", parent.marketplace)
    try:
        with transaction.atomic():
            company = company_create(
                name=values.get("name", ""), parent=parent, kind=Company.Kind.CUSTOMER, actor=actor, **fields
            )
            price_list_inherit(company=company, cache=price_lists)
    except ValidationError as exc:
        return _fail(row, "\n".join(stored_errors(exc)))
    except IntegrityError:  # the domain was taken by a concurrent writer after the check
        return _fail(row, COMPANY_DOMAIN_TAKEN)
    row.status, row.error, row.result_account_id = ImportRow.Status.COMPLETED, "", company.account_id


def user_row_run(row: ImportRow, *, actor: User, price_lists: dict | None = None) -> None:
    """Create the line's user in its parent company and send it the set-password email (after commit)."""
    if reason := parent_problem(row):
        return _fail(row, reason)
    values = _values(row)
    try:
        with transaction.atomic():
            user_create(
                actor=actor, company=row.parent_company, email=values.get("email", ""),
                robust_email=True, **{name: values[name] for name in USER_FIELDS if name in values},
            )
    except ValidationError as exc:
        if str(USER_EMAIL_TAKEN) in exc.messages:
            # Not "another user has it": the user may be in another reseller's tenant (no hint that it exists).
            return _fail(row, USER_EMAIL_UNUSABLE)
        return _fail(row, "\n".join(stored_errors(exc)))
    except PermissionDenied:
        return _fail(row, stored(PARENT_NOT_VISIBLE, id=row.parent_company.account_id))
    except IntegrityError:  # the email was taken by a concurrent writer after the check
        return _fail(row, USER_EMAIL_UNUSABLE)
    row.status, row.error = ImportRow.Status.COMPLETED, ""


def register() -> None:
    """Plug company and user lines into the engine (called once from imports.apps)."""
    line_runner_register(ImportRow.ImportType.COMPANY, company_row_run)
    line_runner_register(ImportRow.ImportType.USER, user_row_run)
