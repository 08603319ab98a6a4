"""RECREATE PROVISIONING's confirm page (GET, what the button opens without JavaScript; with it, the same
question in a dialog on the company page) and its POST. Thin: the rules are
imports.company_provisioning.recreate's. A company outside the user's subtree is 404 for every method."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _, ngettext
from django.views.decorators.http import require_http_methods

from accounts.models import Company, User
from accounts.selectors import company_breadcrumb, company_for_user

from imports.company_provisioning.recreate import provisioning_recreate

NOTHING_TO_RECREATE = _(
    "%(company)s has no provisioning waiting for the vendor or failed at the vendor: there was nothing to re-send."
)


def recreate_url(user: User, company: Company) -> str:
    """The action bar's RECREATE PROVISIONING (accounts.company_page): offered on every company the user
    sees; what there is to re-send is decided on the click (counting it on every page view would cost
    the company page reads it does not need)."""
    return reverse("imports:recreate_provisioning", kwargs={"account_id": company.account_id})


def _back(company: Company):
    return redirect(f"{reverse('company_detail', kwargs={'account_id': company.account_id})}?tab=provisioning")


@login_required
@require_http_methods(["GET", "POST"])
def recreate_provisioning(request, account_id):
    company = company_for_user(request.user, account_id=account_id)
    if request.method == "GET":
        return render(
            request,
            "imports/recreate_provisioning.html",
            {"company": company, "breadcrumb": company_breadcrumb(request.user, company)},
        )
    result = provisioning_recreate(actor=request.user, company=company)
    if result.nothing:
        messages.info(request, NOTHING_TO_RECREATE % {"company": company.name})
        return _back(company)
    if result.resent:
        messages.success(
            request,
            ngettext(
                "%(count)s order waiting for the vendor was sent again now.",
                "%(count)s orders waiting for the vendor were sent again now.",
                result.resent,
            ) % {"count": result.resent},
        )
    if result.rescheduled:
        messages.success(
            request,
            ngettext(
                "%(count)s import that failed at the vendor was scheduled again as soon as possible: %(jobs)s.",
                "%(count)s imports that failed at the vendor were scheduled again as soon as possible: %(jobs)s.",
                len(result.rescheduled),
            ) % {"count": len(result.rescheduled), "jobs": ", ".join(f"#{job.pk}" for job in result.rescheduled)},
        )
    for refusal in result.refusals:
        messages.warning(request, refusal)
    return _back(company)
