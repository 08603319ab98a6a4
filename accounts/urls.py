"""Home, the company page, the global search, and users (no app_name: the names `home`,
`company_detail` and `search` are part of the project's URL contract)."""

from django.urls import path

from accounts import company_tab_views, views
from accounts.companies import views as company_views

from accounts.users import password_change

from accounts.users import tab_views as user_tab_views

from accounts.users import views as user_views

urlpatterns = [
    path("", views.home, name="home"),
    path("companies/<int:account_id>/", views.company_detail, name="company_detail"),
    # The company page's SECURITY tab: a reseller's webhook.
    path("companies/<int:account_id>/webhook/", company_tab_views.webhook_save, name="company_webhook_save"),
    path("companies/<int:account_id>/webhook/rotate/", company_tab_views.webhook_rotate, name="company_webhook_rotate"),
    # The company page's action bar (+ NEW is imports', NEW SERVICE orders').
    path("companies/<int:account_id>/terminate/", company_views.terminate, name="company_terminate"),
    path("companies/<int:account_id>/credentials/", company_views.credentials, name="company_credentials"),
    path("companies/<int:account_id>/export.<str:fmt>", company_views.export, name="company_export"),
    path("search/", views.search, name="search"),
    # The user page and its action bar.
    path("users/<int:user_id>/", user_views.user_detail, name="user_detail"),
    path("users/<int:user_id>/rename/", user_views.rename, name="user_rename"),
    path("users/<int:user_id>/reset-password/", user_views.reset_password, name="user_reset_password"),
    path("users/<int:user_id>/credentials/", user_views.send_credentials, name="user_credentials"),
    path("users/<int:user_id>/terminate/", user_views.terminate, name="user_terminate"),
    # SECURITY tab (personal API tokens) and NOTIFICATIONS tab.
    path("users/<int:user_id>/api-tokens/", user_tab_views.token_create, name="user_api_token_create"),
    path(
        "users/<int:user_id>/api-tokens/<int:token_id>/revoke/",
        user_tab_views.token_revoke,
        name="user_api_token_revoke",
    ),
    path("users/<int:user_id>/notifications/", user_tab_views.notifications_save, name="user_notifications"),
    # The credentials email's one-time link, and the change asked by "Change password in next login".
    path("set-password/<uidb64>/<token>/", password_change.SetPasswordView.as_view(), name="set_password"),
    path("password/change/", password_change.ChangePasswordView.as_view(), name="password_change"),
]
