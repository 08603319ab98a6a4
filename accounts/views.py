"""Home, the company page and the global search.

What other apps show on these pages (subscriptions, prices, NEW SERVICE) comes through the
contribution points of accounts.company_page, because accounts must not import them.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from accounts import company_page
from accounts.company_status import credentials_refusal, termination_refusal
from accounts.models import WebhookEndpoint
from accounts.selectors import (
    audit_log_for,
    company_breadcrumb,
    company_for_user,
    home_companies_for,
    search_companies,
    structure_children,
)
from accounts.selectors import structure_users
from accounts.webhooks import can_manage_webhook

# Longer queries are cut here (the search box has the same maxlength); never an error.
SEARCH_MAX_LENGTH = 200
SEARCH_RESULTS_LIMIT = 50
AUDIT_LOG_PAGE_SIZE = 20

SEARCH_TRUNCATED = _("The search text was shortened to %(limit)s characters.")
SEARCH_TOO_MANY = _("Showing the first %(limit)s matches; type more to narrow the search.")
TAB_NOT_AVAILABLE = _("This tab is not available yet.")
NOT_AVAILABLE_YET = _("Not available yet")

# (key used in ?tab=, label as in the manual). Keys overview / services / audit are part of the URL contract.
TABS = (
    ("overview", _("OVERVIEW")),
    ("services", _("AVAILABLE SERVICES")),
    ("custom-charge", _("CUSTOM CHARGE")),
    ("billing", _("BILLING")),
    ("provisioning", _("PROVISIONING")),
    ("security", _("SECURITY")),
    ("audit", _("AUDIT LOG")),
)
TAB_KEYS = {key for key, _label in TABS}
# Tabs whose content an app contributes and may be missing (no app registered it): they say so.
PLACEHOLDER_TABS: set[str] = set()


def clean_query(raw: str | None) -> tuple[str, bool]:
    """A search text safe to query with: NUL characters dropped (PostgreSQL rejects them),
    whitespace collapsed, at most SEARCH_MAX_LENGTH characters. Returns (text, was_truncated)."""
    text = " ".join((raw or "").replace("\x00", "").split())
    if len(text) <= SEARCH_MAX_LENGTH:
        return text, False
    return text[:SEARCH_MAX_LENGTH].rstrip(), True


@login_required
@require_safe
def home(request):
    """A user lands on its own company's page; staff on the root distributor (or choose among several).

    A user without a company gets a page that says so instead of an error.
    """
    companies = home_companies_for(request.user)
    if len(companies) == 1:
        return redirect("company_detail", account_id=companies[0].account_id)
    return render(request, "accounts/home.html", {"companies": companies})


@login_required
@require_safe
def company_detail(request, account_id):
    company = company_for_user(request.user, account_id=account_id)
    tab = request.GET.get("tab") or "overview"
    if tab not in TAB_KEYS:
        tab = "overview"
    structure_q, _truncated = clean_query(request.GET.get("structure_q"))
    offer = company_page.service_offer(company)

    context = {
        "company": company,
        "breadcrumb": company_breadcrumb(request.user, company),
        "structure_q": structure_q,
        "children": list(structure_children(company, query=structure_q)),
        "structure_users": list(structure_users(request.user, company, query=structure_q)),
        "structure_items": company_page.structure_items(company, query=structure_q),
        "tabs": TABS,
        "tab": tab,
        "placeholder_tab": tab in PLACEHOLDER_TABS,
        "offer": offer,
        "tab_not_available": TAB_NOT_AVAILABLE,
        "not_available_yet": NOT_AVAILABLE_YET,
        # The action bar: + NEW where an app offers it, TERMINATE unless the company alone says no.
        "new_account_url": company_page.new_account_url(request.user, company),
        "recreate_url": company_page.recreate_provisioning_url(request.user, company),
        "terminate_refusal": termination_refusal(actor=request.user, company=company),
        "credentials_refusal": credentials_refusal(company),
    }
    if tab == "services":
        context["services"] = offer.rows()
    elif tab == "billing":
        context["billing_table"] = company_page.subscription_table(company)
    elif tab == "provisioning":
        context["provisioning"] = company_page.provisioning_tab(company, page=request.GET.get("page"))
        context["placeholder_tab"] = context["provisioning"] is None
    elif tab == "audit":
        context["audit_page"] = Paginator(audit_log_for(company), AUDIT_LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    elif tab == "security":
        context["webhook_is_reseller"] = company.kind == company.Kind.RESELLER
        context["webhook_can_manage"] = can_manage_webhook(request.user, company)
        if context["webhook_can_manage"]:
            context["webhook"] = WebhookEndpoint.objects.filter(company=company).first()
    return render(request, "accounts/company_detail.html", context)


@login_required
@require_safe
def search(request):
    query, truncated = clean_query(request.GET.get("q"))
    companies = list(search_companies(request.user, query)[: SEARCH_RESULTS_LIMIT + 1])
    groups = company_page.search_groups(request.user, query, limit=SEARCH_RESULTS_LIMIT)
    return render(
        request,
        "accounts/search.html",
        {
            "search_query": query,
            "truncated_message": SEARCH_TRUNCATED % {"limit": SEARCH_MAX_LENGTH} if truncated else "",
            "companies": companies[:SEARCH_RESULTS_LIMIT],
            "result_groups": groups,
            "too_many_message": (
                SEARCH_TOO_MANY % {"limit": SEARCH_RESULTS_LIMIT}
                if len(companies) > SEARCH_RESULTS_LIMIT or any(group.more for group in groups)
                else ""
            ),
        },
    )
