"""One rule for the decimals of every amount shown (issue 24, core.amounts' `amount` filter): at least
2, up to 5, trailing zeros beyond 2 trimmed, on AVAILABLE SERVICES, the Order review (boxes and
table alike) and the subscription page."""

import re

import pytest
from django.template import Context, Template
from django.urls import reverse
from freezegun import freeze_time

from .conftest import MANUAL_NOW, step_url

pytestmark = pytest.mark.django_db

SHOWN = re.compile(r"^\d+\.\d{2,5}$")


def amounts_in(html: str, css_class: str) -> list[str]:
    found = re.findall(rf'<td class="[^"]*{css_class}[^"]*">([^<]*)<|<div class="{css_class}">([^<]*)<', html)
    return [re.sub(r"\s*\$$", "", "".join(a).strip()) for a in found]


def follows_the_rule(text: str) -> bool:
    return bool(SHOWN.match(text)) and not (len(text.split(".")[1]) > 2 and text.endswith("0"))


@freeze_time(MANUAL_NOW)
def test_available_services_shows_every_price_by_the_rule(abbie_client, demo):
    html = abbie_client.get("/companies/466158/", {"tab": "services"}).content.decode()
    prices = amounts_in(html, "num")
    assert prices and all(follows_the_rule(p) for p in prices), prices
    assert {"6.02175", "7.2261", "2.00", "2.40", "12.50", "0.00"} <= set(prices)


@freeze_time(MANUAL_NOW)
def test_the_review_shows_boxes_and_table_by_the_same_rule(abbie_client, configured_draft):
    order = configured_draft()
    html = abbie_client.get(step_url(order, "review")).content.decode()
    assert amounts_in(html, "amount") == ["4.82", "6.02"]  # the manual's boxes show cents...
    assert "57.81 $ per 12 months" in html and "72.26 $ per 12 months" in html
    table = amounts_in(html, "num")
    assert table == ["6.02175", "6.02175", "72.261"]  # ...and its table the price list's precision


def test_the_subscription_page_shows_its_prices_by_the_rule(abbie_client, demo):
    html = abbie_client.get(reverse("orders:subscription_detail", kwargs={"account_id": 493796})).content.decode()
    assert "<dd>1.60</dd>" in html and "<dd>2.00</dd>" in html
    assert "1.60000" not in html


def test_the_filter_is_the_one_rule():
    rendered = Template("{% load amounts %}{{ a|amount }} {{ b|amount }} {{ c|amount }}").render(
        Context({"a": "72.26100", "b": 2, "c": None})
    )
    assert rendered == "72.261 2.00 "
