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
from accounts.selectors import company_visible_to
from accounts.services import company_create
from accounts.users.services import user_create
from catalog.services import price_list_inherit
from core.stored_messages import rendered, stored, stored_errors
from orders.validation import PARENT_ACCOUNT_INACTIVE, parent_account_inactive, parent_account_inactive_params

from imports.bulk.checks import CompanyLineForm, UserLineForm
from imports.engine.plugins import line_runner_register
from imports.engine.runner import PARENT_NOT_VISIBLE
from imports.models import ImportRow

# A Users line whose email is taken by a user outside the creator's companies: said, naming the
# address, without telling whether (or where) that user exists (issue 23).
USER_EMAIL_UNUSABLE = _("The email address %(email)s cannot be used; choose another one.")
# Rows failed before issue 24 store this message (core.stored_messages): kept, so it is still translated.
USER_EMAIL_UNUSABLE_UNNAMED = _("This email address cannot be used; choose another one.")
# ...and by a user of the creator's own companies, which it may see anyway: said plainly, with where.
USER_EMAIL_TAKEN_HERE = _("Another user already has the email address %(email)s (%(company)s).")
# A Companies line whose domain another company has (the domain, unlike a user, is no secret of a tenant).
COMPANY_DOMAIN_TAKEN_VALUE = _("Another company already has the domain %(domain)s; a domain belongs to one company only.")
# Any other refusal of a value at run time, naming the column and the value.
VALUE_REFUSED = _("%(column)s %(value)s: %(reason)s")

COMPANY_FIELDS = (
    "domain", "vat_id", "language", "currency", "address", "city", "country", "zip_code", "email",
    "contact_phone", "contact_person", "billing_start_date", "is_billable", "contract_id", "customer_id",
)
USER_FIELDS = ("first_name", "last_name", "job_title", "phone")


def _fail(row: ImportRow, reason) -> None:
    """The row failed for `reason`: stored text, or a message (gettext_lazy) stored here, shown in its reader's language."""
    row.status, row.error = ImportRow.Status.FAILED, reason if isinstance(reason, str) else stored(reason)


def parent_problem(row: ImportRow) -> str | None:
    """Why the row's parent cannot take a new company or user, as stored text (core.stored_messages)."""
    return None if row.parent_company.is_active else parent_account_inactive(row.parent_company)


def parent_inactive(parent: Company) -> str | None:
    """A company or user is created only below an active company (the due-time checks' words), in the
    active language (the company page's + NEW shows it)."""
    if not parent.is_active:
        return rendered(parent_account_inactive(parent))
    return None


def _parent_inactive_error(parent: Company) -> ValidationError:
    """The refusal as a message with its parameters: shown in the page's language by + NEW, stored
    as the message (core.stored_messages.stored_errors) by a bulk line."""
    return ValidationError(PARENT_ACCOUNT_INACTIVE, code="parent_inactive", params=parent_account_inactive_params(parent))


def _values(row: ImportRow) -> dict:
    values = dict(row.payload.get("values") or {})
    if values.get("billing_start_date"):
        values["billing_start_date"] = dt.datetime.fromisoformat(values["billing_start_date"])
    return values


def company_line_create(*, actor: User, parent: Company, values: dict, price_lists: dict | None = None) -> Company:
    """A company line's customer company under `parent`, with the parent's price list: what a bulk
    import's Companies line and the company page's + NEW create. `values`: the cleaned values of
    checks.CompanyLineForm (empty ones left out). Raises ValidationError with the reason."""
    if not parent.is_active:
        raise _parent_inactive_error(parent)
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
        if str(COMPANY_DOMAIN_TAKEN) in exc.messages:
            raise _domain_taken(fields.get("domain", "")) from None
        raise _naming_values(exc, values, CompanyLineForm) from None
    except IntegrityError:  # the domain was taken by a concurrent writer after the check
        raise _domain_taken(fields.get("domain", "")) from None
    return company


def _domain_taken(domain: str) -> ValidationError:
    return ValidationError(COMPANY_DOMAIN_TAKEN_VALUE, code="domain_taken", params={"domain": domain})


def _email_taken(actor: User, email: str) -> ValidationError:
    """The refusal of a taken email: where, when the creator may see that user (a query, on this path only);
    otherwise nothing but that this address cannot be used."""
    holder = User.objects.filter(email__iexact=email).only("company_id").first()
    if holder is not None and holder.company_id and company_visible_to(actor, holder.company_id):
        company = Company.objects.only("name", "account_id").get(pk=holder.company_id)
        return ValidationError(
            USER_EMAIL_TAKEN_HERE, code="email_taken", params={"email": email, "company": f"{company.name} ({company.account_id})"}
        )
    return ValidationError(USER_EMAIL_UNUSABLE, code="email_unusable", params={"email": email})


def _naming_values(exc: ValidationError, values: dict, form_class) -> ValidationError:
    """A model's refusal of a line's fields, each message naming its column (the file's, from the
    line's form) and the value the line gave (VALUE_REFUSED); messages about no one field, or a field
    the line did not fill, as they are."""
    if not hasattr(exc, "error_dict"):
        return exc
    errors = []
    for name, field_errors in exc.error_dict.items():
        value = values.get(name)
        for error in field_errors:
            if name == "__all__" or value in (None, ""):
                errors.append(error)
                continue
            field_ = form_class.base_fields.get(name)
            column = field_.label if field_ is not None else name
            reason = stored(error.message, **(error.params or {}))
            errors.append(ValidationError(VALUE_REFUSED, code=error.code, params={"column": column, "value": str(value), "reason": reason}))
    return ValidationError(errors)


def user_line_create(*, actor: User, company: Company, values: dict, robust_email: bool = False) -> User:
    """A user line's user of `company`, sent the set-password email after commit: what a bulk import's
    Users line and the company page's + NEW create. `values`: checks.UserLineForm's cleaned values.
    Raises ValidationError with the reason (a taken email said without telling whether, or where,
    that user exists) and PermissionDenied when `actor` may not see `company`."""
    if not company.is_active:
        raise _parent_inactive_error(company)
    email = values.get("email", "")
    try:
        with transaction.atomic():
            return user_create(
                actor=actor, company=company, email=email,
                robust_email=robust_email, **{name: values[name] for name in USER_FIELDS if name in values},
            )
    except ValidationError as exc:
        if str(USER_EMAIL_TAKEN) in exc.messages:
            # "Another user has it" only where the creator may see that user (issue 23: no hint that
            # a user exists in another reseller's tenant).
            raise _email_taken(actor, email) from None
        raise _naming_values(exc, values, UserLineForm) from None
    except IntegrityError:  # the email was taken by a concurrent writer after the check
        raise _email_taken(actor, email) from None


def company_row_run(row: ImportRow, *, actor: User, price_lists: dict | None = None) -> None:
    """Create the line's customer company under its parent: completed with its account id, or failed.
    `price_lists` (parent id → its price list) is shared by the rows of a batch, read once per parent."""
    try:
        company = company_line_create(actor=actor, parent=row.parent_company, values=_values(row), price_lists=price_lists)
    except ValidationError as exc:
        return _fail(row, "\n".join(stored_errors(exc)))
    row.status, row.error, row.result_account_id = ImportRow.Status.COMPLETED, "", company.account_id
    row.created = {"name": company.name}


def user_row_run(row: ImportRow, *, actor: User, price_lists: dict | None = None) -> None:
    """Create the line's user in its parent company and send it the set-password email (after commit)."""
    try:
        user = user_line_create(actor=actor, company=row.parent_company, values=_values(row), robust_email=True)
    except ValidationError as exc:
        return _fail(row, "\n".join(stored_errors(exc)))
    except PermissionDenied:
        return _fail(row, stored(PARENT_NOT_VISIBLE, id=row.parent_company.account_id))
    row.status, row.error = ImportRow.Status.COMPLETED, ""
    row.created = {"user_id": user.pk, "email": user.email, "name": user.get_full_name()}


def register() -> None:
    """Plug company and user lines into the engine (called once from imports.apps)."""
    line_runner_register(ImportRow.ImportType.COMPANY, company_row_run)
    line_runner_register(ImportRow.ImportType.USER, user_row_run)
