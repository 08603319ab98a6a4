"""The user page's SECURITY tab (personal API tokens) and NOTIFICATIONS tab (optional emails):
their POSTs. The tabs themselves are rendered by accounts.users.views.user_detail."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.users.api_tokens import api_token_create, api_token_revoke
from accounts.models import ApiToken
from accounts.users.forms import ApiTokenForm, NotificationSettingsForm
from accounts.users.selectors import user_for_user
from accounts.users.services import user_notifications_update

# The new token, kept in the session for the one page that shows it (then dropped).
NEW_TOKEN_SESSION_KEY = "accounts.new_api_token"
TOKEN_CREATED = _("API token “%(name)s” created. Copy it now: it will not be shown again.")
TOKEN_REVOKED = _("API token “%(name)s” revoked; requests with it are refused from now on.")
NOTIFICATIONS_SAVED = _("Notification settings saved.")


def _tab(user_id: int, tab: str) -> str:
    return f"{reverse('user_detail', kwargs={'user_id': user_id})}?tab={tab}"


@login_required
@require_POST
def token_create(request, user_id):
    target = user_for_user(request.user, user_id=user_id)
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        for field_messages in form.errors.values():
            for message in field_messages:
                messages.error(request, message)
        return redirect(_tab(target.pk, "security"))
    try:
        token, raw = api_token_create(actor=request.user, user=target, name=form.cleaned_data["name"])
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("Not allowed."))
        return redirect(_tab(target.pk, "security"))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(_tab(target.pk, "security"))
    request.session[NEW_TOKEN_SESSION_KEY] = {"user_id": target.pk, "token_id": token.pk, "raw": raw}
    messages.success(request, TOKEN_CREATED % {"name": token.name})
    return redirect(_tab(target.pk, "security"))


@login_required
@require_POST
def token_revoke(request, user_id, token_id):
    target = user_for_user(request.user, user_id=user_id)
    try:
        token = api_token_revoke(actor=request.user, token_id=token_id)
    except ApiToken.DoesNotExist:
        raise Http404 from None
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, TOKEN_REVOKED % {"name": token.name})
    return redirect(_tab(target.pk, "security"))


@login_required
@require_POST
def notifications_save(request, user_id):
    target = user_for_user(request.user, user_id=user_id)
    form = NotificationSettingsForm(request.POST, instance=target)
    if form.is_valid():
        user_notifications_update(actor=request.user, user=target, **form.cleaned_data)
        messages.success(request, NOTIFICATIONS_SAVED)
    else:
        for field_messages in form.errors.values():
            for message in field_messages:
                messages.error(request, message)
    return redirect(_tab(target.pk, "notifications"))


def pop_new_token(request, target) -> str | None:
    """The token created just before this page, shown once (only on its own user's page)."""
    new = request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    if isinstance(new, dict) and new.get("user_id") == target.pk:
        return new.get("raw")
    return None
