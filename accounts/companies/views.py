"""The company page's TERMINATE, EXPORT and CREDENTIALS TO ALL USERS. Thin: the rules are
accounts.companies.services'. A company outside the viewer's subtree is 404 for every method.

TERMINATE and CREDENTIALS TO ALL USERS ask first: in a <dialog> on the company page, or (without
JavaScript) on the confirm page these views answer to GET."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _, ngettext
from django.views.decorators.http import require_http_methods, require_safe

from accounts.companies.export import company_export
from accounts.companies.services import company_credentials_send, company_terminate, termination_blockers
from accounts.company_status import termination_refusal
from accounts.selectors import company_breadcrumb, company_for_user
from core.spreadsheets import FORMATS

COMPANY_TERMINATED = _("%(company)s was terminated.")


def _confirm_page(request, company, template, **extra):
    return render(
        request, template, {"company": company, "breadcrumb": company_breadcrumb(request.user, company), **extra}
    )


def _refused(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
@require_http_methods(["GET", "POST"])
def terminate(request, account_id):
    company = company_for_user(request.user, account_id=account_id)
    if request.method == "GET":
        refusal = termination_refusal(actor=request.user, company=company)
        reasons = [refusal] if refusal else termination_blockers(company)
        return _confirm_page(request, company, "accounts/company_terminate.html", reasons=reasons)
    try:
        result = company_terminate(actor=request.user, company=company)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, COMPANY_TERMINATED % {"company": company.name})
        if count := len(result.users_terminated):
            messages.success(
                request,
                ngettext(
                    "%(count)s user was terminated with it.", "%(count)s users were terminated with it.", count
                ) % {"count": count},
            )
        for note in result.notes:
            messages.success(request, note)
    return redirect("company_detail", account_id=company.account_id)


@login_required
@require_http_methods(["GET", "POST"])
def credentials(request, account_id):
    company = company_for_user(request.user, account_id=account_id)
    if request.method == "GET":
        return _confirm_page(request, company, "accounts/company_credentials.html")
    try:
        users = company_credentials_send(actor=request.user, company=company)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(
            request,
            ngettext(
                "An email with a one-time link to set a password was sent to %(count)s user of %(company)s.",
                "An email with a one-time link to set a password was sent to each of the %(count)s users of %(company)s.",
                len(users),
            ) % {"count": len(users), "company": company.name},
        )
    return redirect("company_detail", account_id=company.account_id)


@login_required
@require_safe
def export(request, account_id, fmt):
    company = company_for_user(request.user, account_id=account_id)
    if fmt not in FORMATS:
        raise Http404
    return company_export(fmt, viewer=request.user, company=company)
