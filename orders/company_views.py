from django.contrib.auth.decorators import login_required
from django.http import HttpResponse

from accounts.selectors import company_for_user


@login_required
def company_detail(request, account_id):
    company_for_user(request.user, account_id=account_id)
    return HttpResponse("company")
