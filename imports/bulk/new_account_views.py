"""+ NEW on the company page: the form page (a company or a user, chosen by ?kind=), its errors on the
page. Thin: the rules and the writes are imports.bulk.new_account's."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.selectors import company_breadcrumb, company_for_user

from imports.bulk.new_account import (
    FORMS,
    KIND_COMPANY,
    KIND_USER,
    KINDS,
    line_values,
    new_company_create,
    new_kinds_refusals,
    new_user_create,
)

COMPANY_CREATED = _("The company %(name)s (%(account_id)s) was created below %(parent)s.")
USER_CREATED = _("The user %(email)s was created; an email with a one-time link to set a password was sent to it.")


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, field_errors in error.error_dict.items():
            for field_error in field_errors:
                form.add_error(name if name in form.fields else None, field_error.messages)
    else:
        form.add_error(None, error.messages)


@login_required
@require_http_methods(["GET", "POST"])
def new_account(request, account_id):
    company = company_for_user(request.user, account_id=account_id)  # 404 outside the user's subtree
    refusals = new_kinds_refusals(company)
    wanted = request.POST.get("kind") or request.GET.get("kind")
    offered = [key for key, _label in KINDS if refusals[key] is None]
    kind = wanted if wanted in offered else (offered[0] if offered else None)
    form_class = FORMS.get(kind)
    form = form_class() if form_class else None
    if request.method == "POST" and form_class:
        form = form_class(data=request.POST)
        if form.is_valid():
            try:
                if kind == KIND_COMPANY:
                    created = new_company_create(actor=request.user, parent=company, values=line_values(form))
                else:
                    user = new_user_create(actor=request.user, company=company, values=line_values(form))
            except ValidationError as error:
                _add_errors(form, error)
            else:
                if kind == KIND_COMPANY:
                    params = {"name": created.name, "account_id": created.account_id, "parent": company.name}
                    messages.success(request, COMPANY_CREATED % params)
                    return redirect("company_detail", account_id=created.account_id)
                messages.success(request, USER_CREATED % {"email": user.email})
                return redirect("user_detail", user_id=user.pk)
    context = {
        "company": company,
        "breadcrumb": company_breadcrumb(request.user, company),
        "kinds": [(key, label, refusals[key]) for key, label in KINDS],
        "kind": kind,
        "form": form,
        "kind_company": KIND_COMPANY,
        "kind_user": KIND_USER,
    }
    return render(request, "imports/new_account.html", context, status=400 if form is not None and form.errors else 200)
