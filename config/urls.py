from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpResponsePermanentRedirect
from django.urls import include, path
from django.views.decorators.http import require_safe

from config.api_urls import v1 as api_v1
from core.datetime_preview import datetime_preview


@require_safe
def favicon(request):
    # Browsers ask /favicon.ico whatever the page says; resolved per request because production's
    # hashed file name is known only after collectstatic.
    return HttpResponsePermanentRedirect(staticfiles_storage.url("favicon.svg"))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Staff impersonation (POST only): acquire from the user page or the user admin, release from the badge.
    path("hijack/", include("hijack.urls")),
    path("favicon.ico", favicon),
    # The UTC line under every date-time control (core.datetimes), as the reseller types.
    path("dates/utc/", datetime_preview, name="datetime_preview"),
    # Orders > Upcoming (imports.upcoming: it reads import jobs too, so it cannot be orders').
    path("orders/upcoming/", include("imports.upcoming.urls")),
    path("orders/", include("orders.urls")),
    path("imports/", include("imports.urls")),
    # The REST API: /api/v1/..., /api/schema/, /api/docs/ (config/api_urls.py).
    path("api/v1/", include((api_v1, "api_v1"))),
    path("api/", include(("config.api_urls", "api"))),
    path("", include("accounts.urls")),
]
