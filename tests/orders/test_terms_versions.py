"""Terms and Conditions (issue 24): the NCE terms announce "Below is the Spanish Version", and the
Spanish version follows, for every reader, on the wizard's Terms step and on IMPORT ACCOUNTS."""

import pytest

from catalog.models import TermsAndConditions
from devtools.demo import NCE_TERMS_TEXT_ES

from .conftest import step_url

pytestmark = pytest.mark.django_db


def terms_box(page: str) -> str:
    return page.split('<div class="terms-text"')[1].split("</div>")[0]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_terms_step_shows_the_english_then_the_spanish_version(abbie_client, new_draft, basic, language):
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    page = abbie_client.get(step_url(order, "terms"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    box = terms_box(page)
    english, spanish = box.index("Below is the Spanish Version"), box.index("TÉRMINOS ESPECIALES DEL PRODUCTO")
    assert english < spanish
    assert 'lang="es"' in box and 'lang="en"' in box
    assert "Plazo de la suscripción" in box
    assert "Go to the Spanish version" in box or "Ir a la versión en español" in box


def test_terms_without_a_spanish_version_show_the_text_alone(abbie_client, new_draft, basic):
    TermsAndConditions.objects.update(text_es="")
    order = new_draft()
    abbie_client.post(step_url(order, "select"), {"service": basic.pk})
    box = terms_box(abbie_client.get(step_url(order, "terms")).content.decode())
    assert "SPECIAL PRODUCT TERMS" in box
    assert "Spanish version" not in box and "terms-version-title" not in box


def test_the_demo_terms_have_a_real_spanish_version(demo):
    terms = TermsAndConditions.objects.get()
    assert terms.text_es == NCE_TERMS_TEXT_ES
    assert [language for language, _text in terms.versions()] == ["en", "es"]
