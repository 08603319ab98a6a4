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
from orders.validation import PARENT_ACCOUNT_INACTIVE

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
    row.status, row.error = ImportRow.Status.FAILED, str(reason)


def parent_problem(row: ImportRow) -> str | None:
    return parent_inactive(row.parent_company)


def parent_inactive(parent: Company) -> str | None:
    """A company or user is created only below an active company (the due-time checks' words)."""
    if not parent.is_active:
        return str(PARENT_ACCOUNT_INACTIVE % {"company": parent.name, "status": parent.get_status_display()})
    return None


def _values(row: ImportRow) -> dict:
    values = dict(row.payload.get("values") or {})
    if values.get("billing_start_date"):
        values["billing_start_date"] = dt.datetime.fromisoformat(values["billing_start_date"])
    return values


def company_line_create(*, actor: User, parent: Company, values: dict, price_lists: dict | None = None) -> Company:
    """A company line's customer company under `parent`, with the parent's price list: what a bulk
    import's Companies line and the company page's + NEW create. `values`: the cleaned values of
    checks.CompanyLineForm (empty ones left out). Raises ValidationError with the reason."""
    if reason := parent_inactive(parent):
        raise ValidationError(reason, code="parent_inactive")
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
    except IntegrityError:  # the domain was taken by a concurrent writer after the check
        raise ValidationError(COMPANY_DOMAIN_TAKEN, code="domain_taken") from None
    return company


def user_line_create(*, actor: User, company: Company, values: dict, robust_email: bool = False) -> User:
    """A user line's user of `company`, sent the set-password email after commit: what a bulk import's
    Users line and the company page's + NEW create. `values`: checks.UserLineForm's cleaned values.
    Raises ValidationError with the reason (a taken email said without telling whether, or where,
    that user exists) and PermissionDenied when `actor` may not see `company`."""
    if reason := parent_inactive(company):
        raise ValidationError(reason, code="parent_inactive")
    try:
        with transaction.atomic():
            return user_create(
                actor=actor, company=company, email=values.get("email", ""),
                robust_email=robust_email, **{name: values[name] for name in USER_FIELDS if name in values},
            )
    except ValidationError as exc:
        if str(USER_EMAIL_TAKEN) in exc.messages:
            # Not "another user has it": the user may be in another reseller's tenant (no hint that it exists).
            raise ValidationError(USER_EMAIL_UNUSABLE, code="email_unusable") from None
        raise
    except IntegrityError:  # the email was taken by a concurrent writer after the check
        raise ValidationError(USER_EMAIL_UNUSABLE, code="email_unusable") from None


def company_row_run(row: ImportRow, *, actor: User, price_lists: dict | None = None) -> None:
    """Create the line's customer company under its parent: completed with its account id, or failed.
    `price_lists` (parent id → its price list) is shared by the rows of a batch, read once per parent."""
    try:
        company = company_line_create(actor=actor, parent=row.parent_company, values=_values(row), price_lists=price_lists)
    except ValidationError as exc:
        return _fail(row, "\n".join(exc.messages))
    row.status, row.error, row.result_account_id = ImportRow.Status.COMPLETED, "", company.account_id


def user_row_run(row: ImportRow, *, actor: User, price_lists: dict | None = None) -> None:
    """Create the line's user in its parent company and send it the set-password email (after commit)."""
    try:
        user_line_create(actor=actor, company=row.parent_company, values=_values(row), robust_email=True)
    except ValidationError as exc:
        return _fail(row, "\n".join(exc.messages))
    except PermissionDenied:
        return _fail(row, PARENT_NOT_VISIBLE % {"id": row.parent_company.account_id})
    row.status, row.error = ImportRow.Status.COMPLETED, ""


def register() -> None:
    """Plug company and user lines into the engine (called once from imports.apps)."""
    line_runner_register(ImportRow.ImportType.COMPANY, company_row_run)
    line_runner_register(ImportRow.ImportType.USER, user_row_run)
