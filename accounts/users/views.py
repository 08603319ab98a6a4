"""The user page (USER INFO, ..., AUDIT LOG, USER LOG) and its action bar.

Thin: who may see a user is accounts.users.selectors', the writes are accounts.users.services'.
A user outside the viewer's subtree is 404 for every method.
"""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import company_page
from accounts.users.api_tokens import api_tokens_of
from accounts.impersonation import current_impersonator_id, impersonation_refusal
from accounts.languages import user_language
from accounts.access.login_protection import login_lock_of
from accounts.selectors import company_breadcrumb, structure_children, structure_users
from accounts.users.forms import ApiTokenForm, NotificationSettingsForm, RenameForm, ResetPasswordForm
from accounts.users.selectors import user_audit_log_for, user_for_user, user_log_for
from accounts.users.services import (
    NOT_WHILE_IMPERSONATING,
    user_credentials_send,
    user_password_reset,
    user_rename,
    user_terminate,
)
from accounts.users.tab_views import pop_new_token
from accounts.views import NOT_AVAILABLE_YET, TAB_NOT_AVAILABLE, clean_query

USER_RENAMED = _("The user %(email)s was renamed.")
PASSWORD_RESET = _("The password of %(email)s was reset.")
CREDENTIALS_SENT = _("An email with a one-time link to set a password was sent to %(email)s.")
USER_TERMINATED = _("The user %(email)s was terminated; it can no longer log in.")
AUDIT_LOG_PAGE_SIZE = 20
EMAIL_LANGUAGES = {"en": _("English"), "es": _("Spanish")}

# (key used in ?tab=, label as in the manual)
USER_TABS = (
    ("info", _("USER INFO")),
    ("additional", _("ADDITIONAL INFORMATION")),
    ("services", _("AVAILABLE SERVICES")),
    ("notifications", _("NOTIFICATIONS")),
    ("security", _("SECURITY")),
    ("audit", _("AUDIT LOG")),
    ("log", _("USER LOG")),
)
USER_TAB_KEYS = {key for key, _label in USER_TABS}


def _page_context(request, target, **extra) -> dict:
    """What every page about a user shows: breadcrumb, COMPANY STRUCTURE of its company, action bar."""
    company = target.company
    structure_q, _truncated = clean_query(request.GET.get("structure_q"))
    return {
        "target": target,
        "company": company,
        "breadcrumb": company_breadcrumb(request.user, company) + [(company, True)],
        "structure_q": structure_q,
        "children": list(structure_children(company, query=structure_q)),
        "structure_users": list(structure_users(request.user, company, query=structure_q)),
        "structure_items": company_page.structure_items(company, query=structure_q),
        "impersonation_refusal": impersonation_refusal(hijacker=request.user, hijacked=target)
        if request.user.is_staff
        else None,
        "not_available_yet": NOT_AVAILABLE_YET,
        # + NEW: a new user (or customer company) of this user's company, as on the company page.
        "new_account_url": company_page.new_account_url(request.user, company),
        **extra,
    }


@login_required
@require_safe
def user_detail(request, user_id):
    target = user_for_user(request.user, user_id=user_id)
    tab = request.GET.get("tab") or "info"
    if tab not in USER_TAB_KEYS:
        tab = "info"
    context = _page_context(request, target, tabs=USER_TABS, tab=tab, tab_not_available=TAB_NOT_AVAILABLE)
    if tab == "audit":
        context["audit_page"] = Paginator(user_audit_log_for(target), AUDIT_LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    elif tab == "log":
        context["user_log"] = user_log_for(target)
    elif tab == "security":
        context["failed_logins"], context["blocked_until"] = login_lock_of(target.email)
        context["api_tokens"] = list(api_tokens_of(target))
        context["may_create_token"] = target.pk == request.user.pk
        context["token_form"] = ApiTokenForm()
        context["new_token"] = pop_new_token(request, target)
    elif tab == "notifications":
        context["notification_form"] = NotificationSettingsForm(instance=target)
    elif tab == "services":
        # What the user's company can order (the company page's AVAILABLE SERVICES, the same contribution).
        context["offer"] = offer = company_page.service_offer(target.company)
        context["services"] = offer.rows()
    elif tab == "additional":
        context["email_language"] = EMAIL_LANGUAGES.get(user_language(target), user_language(target))
        context["email_language_is_own"] = bool(target.email_language)
    return render(request, "accounts/user_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def rename(request, user_id):
    target = user_for_user(request.user, user_id=user_id)
    if request.method == "POST":
        form = RenameForm(request.POST)
        if form.is_valid():
            user_rename(actor=request.user, user=target, **form.cleaned_data)
            messages.success(request, USER_RENAMED % {"email": target.email})
            return redirect("user_detail", user_id=target.pk)
    else:
        form = RenameForm(initial={"first_name": target.first_name, "last_name": target.last_name})
    return render(request, "accounts/user_rename.html", _page_context(request, target, form=form))


@login_required
@require_http_methods(["GET", "POST"])
def reset_password(request, user_id):
    target = user_for_user(request.user, user_id=user_id)
    if current_impersonator_id() is not None:
        messages.error(request, NOT_WHILE_IMPERSONATING)
        return redirect("user_detail", user_id=target.pk)
    # One's own password: the current one is asked first (a session left open is not enough).
    own = target.pk == request.user.pk
    if request.method == "POST":
        form = ResetPasswordForm(target, request.POST, require_current=own)
        if form.is_valid():
            user = user_password_reset(
                actor=request.user,
                user=target,
                password=form.cleaned_data["new_password1"],
                change_at_next_login=form.cleaned_data["change_at_next_login"],
            )
            if user.pk == request.user.pk:  # resetting one's own password must not log oneself out
                update_session_auth_hash(request, user)
            messages.success(request, PASSWORD_RESET % {"email": target.email})
            return redirect("user_detail", user_id=target.pk)
    else:
        form = ResetPasswordForm(target, require_current=own)
    return render(request, "accounts/user_reset_password.html", _page_context(request, target, form=form))


@login_required
@require_POST
def send_credentials(request, user_id):
    target = user_for_user(request.user, user_id=user_id)
    try:
        user_credentials_send(actor=request.user, user=target)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, CREDENTIALS_SENT % {"email": target.email})
    return redirect("user_detail", user_id=target.pk)


@login_required
@require_http_methods(["GET", "POST"])
def terminate(request, user_id):
    """GET: the confirm question as a page (what TERMINATE opens when JavaScript is off). POST: terminate."""
    target = user_for_user(request.user, user_id=user_id)
    if request.method == "GET":
        return render(request, "accounts/user_terminate.html", _page_context(request, target))
    try:
        user_terminate(actor=request.user, user=target)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, USER_TERMINATED % {"email": target.email})
    return redirect("user_detail", user_id=target.pk)
