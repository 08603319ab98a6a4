"""Select service: the highlighted service is the selected one, and the detail panel can be loaded on its own."""

import re

import pytest

from orders.models import Order

from .conftest import step_url

pytestmark = pytest.mark.django_db


def page_of(client, order, **params) -> str:
    response = client.get(step_url(order, "select"), params)
    assert response.status_code == 200
    return response.content.decode()


def checked_ids(page: str) -> list[str]:
    return re.findall(r'name="service" aria-controls="wz-detail" value="(\d+)" checked', page)


def test_details_highlights_and_checks_that_service_and_next_goes_on(abbie_client, new_draft, kiosk):
    order = new_draft()
    page = page_of(abbie_client, order, highlight=kiosk.pk)
    checked = checked_ids(page)
    assert checked == [str(kiosk.pk)]
    highlighted_row = page.split('class="wz-highlighted"')[1]
    assert f'value="{checked[0]}"' in highlighted_row.split("</li>")[0]

    response = abbie_client.post(step_url(order, "select"), {"service": checked[0]})
    assert response.status_code == 302
    order.refresh_from_db()
    assert str(order.service_id) == checked[0]


def test_details_checks_that_service(abbie_client, new_draft, basic, kiosk):
    order = new_draft()
    assert checked_ids(page_of(abbie_client, order, highlight=kiosk.pk)) == [str(kiosk.pk)]
    assert checked_ids(page_of(abbie_client, order, highlight=basic.pk)) == [str(basic.pk)]


def test_the_drafts_service_stays_highlighted_and_checked(abbie_client, new_draft, kiosk):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": kiosk.pk})
    page = page_of(abbie_client, order)
    assert checked_ids(page) == [str(kiosk.pk)]
    assert "(NCE) Exchange Online Kiosk</h3>" in page


def test_a_search_that_hides_the_drafts_service_checks_nothing(abbie_client, new_draft, kiosk, basic):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": kiosk.pk})
    page = page_of(abbie_client, order, q="business basic")
    assert checked_ids(page) == []  # never a service the reseller did not pick (issue 24)


def test_no_service_matches_checks_nothing(abbie_client, new_draft):
    order = new_draft()
    page = page_of(abbie_client, order, q="zzz-nothing")
    assert checked_ids(page) == []
    assert "Select a service to see its details." in page


def test_the_detail_panel_alone(abbie_client, new_draft, basic):
    order = new_draft()
    fragment = page_of(abbie_client, order, highlight=basic.pk, partial="detail")
    assert "<html" not in fragment
    assert '<h3 id="wz-detail-title">(NCE) Microsoft 365 Business Basic</h3>' in fragment
    assert "Communication &amp; Office" in fragment


@pytest.mark.parametrize("highlight", ["abc", "999999", "", "²"])
def test_the_detail_panel_with_a_bad_highlight_is_not_an_error(abbie_client, new_draft, highlight):
    order = new_draft()
    page_of(abbie_client, order, highlight=highlight, partial="detail")


def test_the_detail_panel_of_someone_elses_draft_is_404(client, demo, new_draft):
    order = new_draft()
    client.force_login(demo.admin_andes)
    assert client.get(step_url(order, "select"), {"partial": "detail"}).status_code == 404
    assert Order.objects.filter(pk=order.pk).exists()


def test_the_page_loads_the_select_script_and_names_the_panel(abbie_client, new_draft):
    page = page_of(abbie_client, new_draft())
    assert "orders/select_service.js" in page
    assert 'id="wz-detail"' in page and 'aria-live="polite"' in page
