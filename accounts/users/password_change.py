"""A user choosing its own password: from the credentials email's one-time link, or because
"Change password in next login" is set (RESET PASSWORD), which PasswordChangeRequiredMiddleware
enforces before any other page."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _

from accounts.impersonation import impersonator_id_of
from accounts.users.services import PASSWORD_SET_VIA_CHANGE, PASSWORD_SET_VIA_LINK, user_password_set

PASSWORD_SET = _("Your password has been set. You can log in now.")
PASSWORD_CHANGED = _("Your password has been changed.")
PASSWORD_CHANGE_REQUIRED = _("Choose a new password before you continue.")
PASSWORD_NOT_WHILE_IMPERSONATING = _("The password cannot be changed while impersonating a user.")

# Pages a user who must change its password can still reach.
_ALLOWED_URL_NAMES = {"password_change", "logout", "set_language", "release"}


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The credentials email's link. Django's token generator makes it work once: the token signs
    the password hash, which this very form changes."""

    template_name = "registration/set_password.html"
    success_url = reverse_lazy("login")
    post_reset_login = False

    def form_valid(self, form):
        user_password_set(user=form.user, password=form.cleaned_data["new_password1"], via=PASSWORD_SET_VIA_LINK)
        messages.success(self.request, PASSWORD_SET)
        # Skip the parent's form.save() (the service has saved); keep its session clean-up.
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return redirect(self.get_success_url())


class ChangePasswordView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def dispatch(self, request, *args, **kwargs):
        # Staff working as a user must not choose the user's password.
        if impersonator_id_of(request) is not None:
            messages.error(request, PASSWORD_NOT_WHILE_IMPERSONATING)
            return redirect(self.success_url)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        user = user_password_set(user=form.user, password=form.cleaned_data["new_password1"], via=PASSWORD_SET_VIA_CHANGE)
        update_session_auth_hash(self.request, user)
        messages.success(self.request, PASSWORD_CHANGED)
        return redirect(self.get_success_url())


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if not (user and user.is_authenticated and getattr(user, "must_change_password", False)):
            return None
        # Staff working as the user (impersonation) must not choose the user's password.
        if getattr(user, "is_hijacked", False):
            return None
        match = request.resolver_match
        if match and (match.url_name in _ALLOWED_URL_NAMES or match.app_name == "admin"):
            return None
        if request.path.startswith("/static/"):
            return None
        messages.warning(request, PASSWORD_CHANGE_REQUIRED)
        return redirect(reverse("password_change"))
