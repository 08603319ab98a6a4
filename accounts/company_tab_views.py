"""The company page's SECURITY tab (a reseller's webhook): its POSTs. The tab itself is rendered by
accounts.views.company_detail."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.models import WebhookEndpoint
from accounts.selectors import company_for_user
from accounts.webhooks import can_manage_webhook, webhook_endpoint_save, webhook_secret_rotate

WEBHOOK_SAVED = _("Webhook saved.")
WEBHOOK_SECRET_ROTATED = _("Webhook secret rotated: events are signed with the new secret from now on.")
WEBHOOK_NOT_ALLOWED = _("You may not change this company's webhook.")


class WebhookForm(forms.Form):
    url = forms.CharField(label=_("Webhook URL"), max_length=500)
    is_active = forms.BooleanField(label=_("Active"), required=False)


def _tab(company) -> str:
    return f"{reverse('company_detail', kwargs={'account_id': company.account_id})}?tab=security"


def _company(request, account_id):
    company = company_for_user(request.user, account_id=account_id)  # 404 outside the user's subtree
    if not can_manage_webhook(request.user, company):
        raise Http404
    return company


@login_required
@require_POST
def webhook_save(request, account_id):
    company = _company(request, account_id)
    form = WebhookForm(request.POST)
    if not form.is_valid():
        for field_messages in form.errors.values():
            for message in field_messages:
                messages.error(request, message)
        return redirect(_tab(company))
    try:
        webhook_endpoint_save(actor=request.user, company=company, **form.cleaned_data)
    except PermissionDenied:
        messages.error(request, WEBHOOK_NOT_ALLOWED)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, WEBHOOK_SAVED)
    return redirect(_tab(company))


@login_required
@require_POST
def webhook_rotate(request, account_id):
    company = _company(request, account_id)
    try:
        webhook_secret_rotate(actor=request.user, company=company)
    except WebhookEndpoint.DoesNotExist:
        raise Http404 from None
    except PermissionDenied:
        messages.error(request, WEBHOOK_NOT_ALLOWED)
    else:
        messages.success(request, WEBHOOK_SECRET_ROTATED)
    return redirect(_tab(company))
