"""+ NEW on the company page: a new customer company below this one, or a new user of this company,
typed in a form instead of a file's line, and held to the same rules: the fields are a Companies or
Users line's (checks.CompanyLineForm, checks.UserLineForm), the parent is checked as a line's parent
is (checks.parent_kind_problem, rows.parent_inactive), and the company or user is created as a line's
run creates it (rows.company_line_create with the parent's price list, rows.user_line_create with
its set-password email). Nothing is copied: a rule changed there changes here."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.models import Company, User
from accounts.selectors import company_visible_to

from imports.bulk.checks import CompanyLineForm, UserLineForm, parent_kind_problem
from imports.bulk.rows import company_line_create, parent_inactive, user_line_create

KIND_COMPANY, KIND_USER = "company", "user"
KINDS = ((KIND_COMPANY, _("Company")), (KIND_USER, _("User")))


class NewCompanyForm(CompanyLineForm):
    """A Companies line's fields, with "Is billable" as the checkbox a page offers."""

    is_billable = forms.BooleanField(label=_("Is billable"), required=False, initial=True)


FORMS = {KIND_COMPANY: NewCompanyForm, KIND_USER: UserLineForm}


def line_values(form: forms.Form) -> dict:
    """The cleaned values a line carries: empty ones left out, so the model's defaults apply (as for a file)."""
    return {name: value for name, value in form.cleaned_data.items() if value not in ("", None)}


def new_kinds_refusals(parent: Company) -> dict[str, str | None]:
    """For each kind, why + NEW cannot create it below `parent` (None when it can)."""
    inactive = parent_inactive(parent)
    return {KIND_COMPANY: inactive or parent_kind_problem(parent), KIND_USER: inactive}


def new_company_create(*, actor: User, parent: Company, values: dict) -> Company:
    """+ NEW › Company. Http404 when `actor` may not see `parent`; ValidationError with the reason."""
    if not company_visible_to(actor, parent.pk):
        raise Http404
    if problem := new_kinds_refusals(parent)[KIND_COMPANY]:
        raise ValidationError(problem, code="parent")
    return company_line_create(actor=actor, parent=parent, values=values)


def new_user_create(*, actor: User, company: Company, values: dict) -> User:
    """+ NEW › User. Http404 when `actor` may not see `company`; ValidationError with the reason."""
    if not company_visible_to(actor, company.pk):
        raise Http404
    try:
        return user_line_create(actor=actor, company=company, values=values)
    except PermissionDenied:
        raise Http404 from None
