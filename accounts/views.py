from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from .selectors import home_companies_for


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
