"""The subscription page: opened from the COMPANY STRUCTURE, read-only, what was captured at creation."""

import datetime as dt

import pytest
from django.urls import reverse
from freezegun import freeze_time

from imports.engine.dispatch import dispatch_due_imports
from orders.models import Subscription
from tests.imports.helpers import ERITECH_TENANT_ID, schedule

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
DUE = dt.datetime(2024, 7, 22, 15, 0, tzinfo=UTC)


def page_url(account_id):
    return reverse("orders:subscription_detail", kwargs={"account_id": account_id})


def test_the_company_structure_links_each_subscription(abbie_client, demo):
    html = abbie_client.get(reverse("company_detail", args=[demo.eritech.account_id])).content.decode()
    for account_id, label in ((493796, "(NCE) Exchange Online Kiosk (1)"), (466160, "Azure Plan (Eritech Perú)"),
                              (466159, "Microsoft Organization tenant (eritechperu.onmicrosoft.com)")):
        assert f'<a href="{page_url(account_id)}">{label}</a>' in html


def test_a_demo_subscription_page(abbie_client, demo):
    response = abbie_client.get(page_url(493796))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("(NCE) Exchange Online Kiosk", "493796", "100113_ExchanOnlineKiosk_61893",
                 "Monthly (with 1-year commitment) - P1Y", "1.60", "2.00", "USD", "Active", "ERITECH PERU S.A.",
                 f"{Subscription.objects.get(account_id=493796).created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"):
        assert text in html, text
    assert "<form" not in html.split("<main")[1].split("</main>")[0]  # read-only


@freeze_time("2024-07-22 14:15:43")
def test_a_provisioned_subscription_shows_its_import_and_configuration(abbie_client, demo):
    job = schedule(demo, due_at=DUE, vendor_config={"microsoft_tenant_id": ERITECH_TENANT_ID, "mpn_id": "1234567",
                                                     "end_date_alignment": ""})
    dispatch_due_imports(now=DUE)
    subscription = job.rows.get().subscription
    html = abbie_client.get(page_url(subscription.account_id)).content.decode()
    order = subscription.order
    for text in (ERITECH_TENANT_ID, "1234567", str(order.uuid), "2024-07-22 14:15 UTC"):
        assert text in html, text
    my_imports = reverse("imports:my_imports")
    assert f'href="{my_imports}?job={job.pk}#import-{job.pk}"' in html


def test_another_resellers_subscription_is_404(client, demo):
    client.force_login(demo.admin_andes)
    assert client.get(page_url(493796)).status_code == 404
    assert client.get(page_url(99999999)).status_code == 404


def test_a_terminated_subscription_still_opens(abbie_client, demo):
    Subscription.objects.filter(account_id=466160).update(status=Subscription.Status.TERMINATED)
    html = abbie_client.get(page_url(466160)).content.decode()
    assert "Terminated" in html


def test_the_page_refuses_post(abbie_client, demo):
    assert abbie_client.post(page_url(493796)).status_code == 405
