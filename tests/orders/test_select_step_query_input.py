"""The Select service step reads ?highlight= and ?q= from the URL: odd values are ignored, never a 500."""

import pytest

from .conftest import step_url


@pytest.mark.parametrize("value", ["²", "١٢", "99999999999999999999999", "abc", ""])
def test_a_non_ascii_or_huge_highlight_is_ignored(abbie_client, new_draft, value):
    order = new_draft()
    response = abbie_client.get(step_url(order, "select"), {"highlight": value})
    assert response.status_code == 200


def test_a_nul_character_in_the_service_search_is_dropped(abbie_client, new_draft):
    order = new_draft()
    response = abbie_client.get(step_url(order, "select"), {"q": "Kio\x00sk"})
    assert response.status_code == 200
    assert response.context["query"] == "Kiosk"
