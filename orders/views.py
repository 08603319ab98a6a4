from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_POST


@login_required
@require_POST
def order_new(request, account_id):
    return HttpResponse("TODO wizard")
