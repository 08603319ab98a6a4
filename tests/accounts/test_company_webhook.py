"""The company page's SECURITY tab: a reseller's webhook (URL, generated secret, rotation)."""

import pytest

from accounts.models import AuditLogEntry, WebhookEndpoint


def _tab(company) -> str:
    return f"/companies/{company.account_id}/?tab=security"


def _save(company) -> str:
    return f"/companies/{company.account_id}/webhook/"


def _rotate(company) -> str:
    return f"/companies/{company.account_id}/webhook/rotate/"


def test_a_reseller_user_creates_the_webhook_and_sees_its_secret(client, demo):
    client.force_login(demo.admin_abbie)
    assert "Webhook URL" in client.get(_tab(demo.abbiebox)).content.decode()
    response = client.post(_save(demo.abbiebox), {"url": "https://hooks.abbiebox.example/icp", "is_active": "on"}, follow=True)
    endpoint = WebhookEndpoint.objects.get(company=demo.abbiebox)
    html = response.content.decode()
    assert "Webhook saved." in html and endpoint.secret in html and "https://hooks.abbiebox.example/icp" in html
    assert endpoint.is_active and len(endpoint.secret) >= 40
    assert AuditLogEntry.objects.filter(company=demo.abbiebox, action="webhook.created").exists()
    # Saving again changes the URL and keeps the secret.
    client.post(_save(demo.abbiebox), {"url": "https://hooks.abbiebox.example/v2"})
    endpoint2 = WebhookEndpoint.objects.get()
    assert endpoint2.url.endswith("/v2") and endpoint2.secret == endpoint.secret and not endpoint2.is_active


def test_rotating_the_secret(client, demo):
    client.force_login(demo.admin_abbie)
    client.post(_save(demo.abbiebox), {"url": "https://hooks.abbiebox.example/icp", "is_active": "on"})
    old = WebhookEndpoint.objects.get().secret
    response = client.post(_rotate(demo.abbiebox), follow=True)
    new = WebhookEndpoint.objects.get().secret
    html = response.content.decode()
    assert new != old and new in html and old not in html and "Webhook secret rotated" in html
    assert AuditLogEntry.objects.filter(action="webhook.secret_rotated").exists()


def test_rotating_without_a_webhook_is_404(client, demo):
    client.force_login(demo.admin_abbie)
    assert client.post(_rotate(demo.abbiebox)).status_code == 404


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.abbiebox.example/icp", "The webhook URL must start with https://."),
        ("http://127.0.0.1:8000/icp", "The webhook URL must start with https://."),
        ("ftp://hooks.abbiebox.example", "Enter a valid webhook URL, for example https://example.com/icp-events."),
        ("not a url", "Enter a valid webhook URL, for example https://example.com/icp-events."),
    ],
)
def test_an_invalid_url_is_refused_with_a_clear_message(client, demo, settings, url, message):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    client.force_login(demo.admin_abbie)
    response = client.post(_save(demo.abbiebox), {"url": url, "is_active": "on"}, follow=True)
    assert message in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_local_http_is_allowed_when_debugging_or_testing(client, demo, settings):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = True
    client.force_login(demo.admin_abbie)
    client.post(_save(demo.abbiebox), {"url": "http://127.0.0.1:8000/icp", "is_active": "on"})
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:8000/icp"
    client.post(_save(demo.abbiebox), {"url": "http://example.com/icp", "is_active": "on"})
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:8000/icp"


def test_staff_may_edit_any_reseller_webhook(client, demo):
    client.force_login(demo.staff)
    client.post(_save(demo.andes), {"url": "https://andes.example/h", "is_active": "on"})
    assert WebhookEndpoint.objects.get().company == demo.andes


def test_another_resellers_company_is_404(client, demo):
    client.force_login(demo.admin_andes)
    assert client.post(_save(demo.abbiebox), {"url": "https://evil.example/h"}).status_code == 404
    assert client.post(_rotate(demo.abbiebox)).status_code == 404
    assert client.get(_tab(demo.abbiebox)).status_code == 404
    assert not WebhookEndpoint.objects.exists()


def test_only_a_reseller_company_and_only_its_own_users(client, demo):
    """ABBIE BOX's user sees ERITECH (a customer) but it has no webhook; the distributor's tab is not theirs."""
    client.force_login(demo.admin_abbie)
    assert client.post(_save(demo.eritech), {"url": "https://x.example/h"}).status_code == 404
    assert "Only a reseller company can have a webhook." in client.get(_tab(demo.eritech)).content.decode()
    client.force_login(demo.staff)
    assert client.post(_save(demo.intcomex), {"url": "https://x.example/h"}).status_code == 404
    assert not WebhookEndpoint.objects.exists()


def test_the_secret_is_shown_only_to_who_may_manage_it(client, demo):
    """Staff and ABBIE BOX's users see it; a user of the distributor above (who sees ABBIE BOX's page) does not."""
    from accounts.models import User

    client.force_login(demo.staff)
    client.post(_save(demo.abbiebox), {"url": "https://hooks.abbiebox.example/icp", "is_active": "on"})
    secret = WebhookEndpoint.objects.get().secret
    assert secret in client.get(_tab(demo.abbiebox)).content.decode()
    distributor_user = User.objects.create_user(email="ops@intcomex.example", password="x", company=demo.intcomex)
    client.force_login(distributor_user)
    html = client.get(_tab(demo.abbiebox)).content.decode()
    assert secret not in html and "Only users of this company and staff can see and change its webhook." in html
    assert client.post(_rotate(demo.abbiebox)).status_code == 404


def test_staff_add_an_endpoint_in_the_admin_with_the_same_rules(client, demo, settings):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    client.force_login(demo.staff)
    url = "/admin/accounts/webhookendpoint/add/"
    refused = client.post(url, {"company": demo.eritech.pk, "url": "http://x.example/h", "is_active": "on"})
    html = refused.content.decode()
    assert "Only a reseller company can have a webhook." in html and "The webhook URL must start with https://." in html
    client.post(url, {"company": demo.abbiebox.pk, "url": "https://x.example/h", "is_active": "on"})
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.company == demo.abbiebox and len(endpoint.secret) >= 40


# --- Internal hosts (SSRF): refused when saved, whatever DEBUG says --------------------------------

NOT_PUBLIC = "must point to a public internet address"


@pytest.fixture
def dns(monkeypatch):
    """Names → addresses, without the network: anything else does not resolve."""
    table = {
        "loopback.example.com": ["127.0.0.1"],
        "mixed.example.com": ["93.184.216.34", "10.1.2.3"],
        "public.example.com": ["93.184.216.34"],
        "localhost": ["127.0.0.1"],
    }

    def resolve(host, port):
        import ipaddress

        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    monkeypatch.setattr("accounts.webhooks.resolve", resolve)
    return table


@pytest.mark.parametrize("local_http", [False, True])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://169.254.169.254/latest/meta-data/", NOT_PUBLIC),
        ("https://metadata.google.internal/computeMetadata/v1/", NOT_PUBLIC),
        ("https://10.0.0.7/icp", NOT_PUBLIC),
        ("https://192.168.1.20/icp", NOT_PUBLIC),
        ("https://172.16.4.4/icp", NOT_PUBLIC),
        ("https://[fd00::1]/icp", NOT_PUBLIC),
        ("https://[fe80::1]/icp", NOT_PUBLIC),
        ("https://0.0.0.0/icp", NOT_PUBLIC),
        ("https://100.64.0.1/icp", NOT_PUBLIC),
        ("https://loopback.example.com/icp", NOT_PUBLIC),
        ("https://mixed.example.com/icp", NOT_PUBLIC),
        ("https://intranet/icp", "Enter a valid webhook URL"),
        ("https://user:pass@public.example.com/icp", "may not contain a user name or password"),
        ("https://user@public.example.com/icp", "may not contain a user name or password"),
    ],
)
def test_an_internal_destination_is_refused(client, demo, settings, dns, url, message, local_http):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = local_http
    client.force_login(demo.admin_abbie)
    response = client.post(_save(demo.abbiebox), {"url": url, "is_active": "on"}, follow=True)
    assert message in response.content.decode(), url
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:6379/", "https://[::1]/icp", "https://[::ffff:127.0.0.1]/icp", "https://localhost/icp",
            "https://[::ffff:a9fe:a9fe]/icp", "https://[2002:7f00:1::]/icp"],
)
def test_loopback_is_refused_outside_development(client, demo, settings, dns, url):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    client.force_login(demo.admin_abbie)
    response = client.post(_save(demo.abbiebox), {"url": url, "is_active": "on"}, follow=True)
    assert NOT_PUBLIC in response.content.decode(), url
    assert not WebhookEndpoint.objects.exists()


def test_public_hosts_and_the_operators_allowed_networks_are_accepted(client, demo, settings, dns):
    settings.WEBHOOKS_ALLOW_LOCAL_HTTP = False
    client.force_login(demo.admin_abbie)
    client.post(_save(demo.abbiebox), {"url": "https://public.example.com/icp", "is_active": "on"})
    assert WebhookEndpoint.objects.get().url == "https://public.example.com/icp"
    client.post(_save(demo.abbiebox), {"url": "https://10.0.0.7/icp", "is_active": "on"})
    assert WebhookEndpoint.objects.get().url == "https://public.example.com/icp"
    settings.WEBHOOKS_ALLOWED_PRIVATE_NETS = ["10.0.0.0/24"]
    client.post(_save(demo.abbiebox), {"url": "https://10.0.0.7/icp", "is_active": "on"})
    assert WebhookEndpoint.objects.get().url == "https://10.0.0.7/icp"
