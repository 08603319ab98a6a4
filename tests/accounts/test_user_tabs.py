"""The user page's SECURITY tab (API tokens: created, shown once, revoked) and NOTIFICATIONS tab."""

from accounts.models import ApiToken, ReminderHours


def _login(client, demo, user=None):
    client.force_login(user or demo.admin_abbie)


def test_a_user_creates_a_token_shown_once_and_revokes_it(client, demo):
    _login(client, demo)
    user = demo.admin_abbie
    response = client.post(f"/users/{user.pk}/api-tokens/", {"name": "PSA sync"}, follow=True)
    token = ApiToken.objects.get()
    html = response.content.decode()
    assert "Copy it now: it will not be shown again." in html
    raw = html.split('<pre class="api-token-value"><code>')[1].split("</code>")[0]
    assert raw.startswith(token.prefix) and len(raw) > 40
    # Shown once: the next view of the tab lists the token by its prefix only.
    again = client.get(f"/users/{user.pk}/?tab=security").content.decode()
    assert raw not in again and f"{token.prefix}…" in again and "PSA sync" in again
    client.post(f"/users/{user.pk}/api-tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_token_needs_a_name(client, demo):
    _login(client, demo)
    response = client.post(f"/users/{demo.admin_abbie.pk}/api-tokens/", {"name": " "}, follow=True)
    assert "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_only_the_user_itself_creates_its_tokens(client, demo):
    _login(client, demo, demo.staff)
    client.post(f"/users/{demo.admin_abbie.pk}/api-tokens/", {"name": "not mine"})
    assert not ApiToken.objects.exists()


def test_another_reseller_cannot_revoke_a_token(client, demo):
    from accounts.users.api_tokens import api_token_create

    token, _raw = api_token_create(actor=demo.admin_abbie, user=demo.admin_abbie, name="x")
    _login(client, demo, demo.admin_andes)
    response = client.post(f"/users/{demo.admin_abbie.pk}/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_notifications_tab_saves_the_settings(client, demo):
    _login(client, demo)
    user = demo.admin_abbie
    page = client.get(f"/users/{user.pk}/?tab=notifications").content.decode()
    assert "Note: Some email notifications are mandatory." in page
    assert "Always sent (mandatory)" in page
    client.post(
        f"/users/{user.pk}/notifications/",
        {"email_language": "es", "reminder_hours": "72"},  # notify_scheduled unchecked
    )
    user.refresh_from_db()
    assert (user.email_language, user.notify_scheduled, user.reminder_hours) == ("es", False, ReminderHours.THREE_DAYS)


def test_the_notifications_tab_refuses_an_unknown_reminder(client, demo):
    _login(client, demo)
    user = demo.admin_abbie
    client.post(f"/users/{user.pk}/notifications/", {"email_language": "", "reminder_hours": "5", "notify_scheduled": "on"})
    user.refresh_from_db()
    assert user.reminder_hours == ReminderHours.DAY
