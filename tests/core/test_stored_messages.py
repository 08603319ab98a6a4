"""core.stored_messages: what is written at run time is shown in the reader's language later."""

import datetime as dt
import json

import pytest
from django.template import Context, Template
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override, pgettext_lazy

from core.stored_messages import MARKER, is_stored, rendered, stored

# Messages the Spanish catalogue (Django's and ours) already translates.
FAILED = _("Failed")  # es: Fallida
INACTIVE = _("The parent account %(company)s is not active (status: %(status)s).")


def test_legacy_text_is_shown_as_it_is():
    legacy = "The parent account ERITECH PERU S.A. is not active (status: Suspended)."
    for language in ("en", "es"):
        with override(language):
            assert rendered(legacy) == legacy
    assert rendered("") == ""
    assert rendered(None) == ""


def test_a_message_without_parameters_renders_in_the_active_language():
    text = stored(FAILED)
    assert text.startswith(MARKER) and "\n" not in text
    assert json.loads(text[len(MARKER):]) == {"m": "Failed"}
    with override("en"):
        assert rendered(text) == "Failed"
    with override("es"):
        assert rendered(text) == "Fallida"


def test_parameters_are_kept_and_the_message_is_translated_around_them():
    text = stored(INACTIVE, company="ERITECH PERU S.A.", status="Suspended")
    with override("en"):
        assert rendered(text) == "The parent account ERITECH PERU S.A. is not active (status: Suspended)."
    with override("es"):
        spanish = rendered(text)
    assert "ERITECH PERU S.A." in spanish and spanish != rendered(text)


def test_a_translatable_parameter_is_translated_when_shown():
    text = stored(INACTIVE, company="ACME", status=FAILED)
    with override("en"):
        assert rendered(text).endswith("(status: Failed).")
    with override("es"):
        assert "Fallida" in rendered(text)


def test_a_stored_message_nested_as_a_parameter_and_lists_of_them():
    reason = stored(INACTIVE, company="ACME", status=FAILED)
    outer = stored(_("%(first)s / %(all)s"), first=reason, all=[reason, "legacy reason", stored(FAILED)])
    with override("en"):
        english = rendered(outer)
    assert english == (
        "The parent account ACME is not active (status: Failed). / "
        "The parent account ACME is not active (status: Failed).; legacy reason; Failed"
    )
    with override("es"):
        assert rendered(outer).endswith("(estado: Fallida).; legacy reason; Fallida")


def test_several_reasons_joined_by_newlines_render_line_by_line():
    text = "\n".join([stored(FAILED), "An old English reason.", stored(INACTIVE, company="A\nB", status="x")])
    with override("es"):
        lines = rendered(text).split("\n")
    assert lines[0] == "Fallida"
    assert lines[1] == "An old English reason."
    assert "A" in lines[2] and len(lines) == 4  # the parameter's own newline is kept, once rendered


def test_stored_text_is_deterministic_so_equal_reasons_group_together():
    assert stored(INACTIVE, status="x", company="y") == stored(INACTIVE, company="y", status="x")


def test_other_values_are_stored_as_percent_s_would_show_them():
    text = stored(_("%(day)s %(n)s %(none)s"), day=dt.date(2024, 7, 31), n=6, none=None)
    assert rendered(text) == "2024-07-31 6 None"


def test_pgettext_messages_keep_their_context():
    text = stored(pgettext_lazy("stored test", "Failed"))
    assert json.loads(text[len(MARKER):])["c"] == "stored test"
    assert rendered(text) == "Failed"


def test_a_stored_text_given_again_is_not_wrapped_twice():
    text = stored(FAILED)
    assert stored(text) == text and is_stored(text) and not is_stored("Failed")


@pytest.mark.parametrize(
    "text",
    [
        MARKER,
        MARKER + "{",
        MARKER + "[1, 2]",
        MARKER + '{"x": 1}',
        MARKER + '{"m": 5}',
        MARKER + '{"m": "%(a)s and %(b)s", "p": {"a": 1}}',
        MARKER + '{"m": "%(a)s", "p": [1]}',
        MARKER + '{"m": "Failed", "p": {"a": {"m": 3}}}',
        "see i18n:{not json}",
    ],
)
def test_bad_or_foreign_text_is_shown_as_it_is_never_an_error(text):
    with override("es"):
        assert rendered(text) == text


def test_a_translation_whose_placeholders_do_not_match_falls_back_to_the_message(monkeypatch):
    monkeypatch.setattr("core.stored_messages.gettext", lambda msgid: "%(wrong)s")
    assert rendered(stored(_("%(a)s!"), a=1)) == "1!"


def test_only_gettext_messages_or_text_can_be_stored():
    with pytest.raises(TypeError):
        stored(42)


def test_the_template_filter_renders_in_the_active_language():
    template = Template("{% load stored_messages %}{{ text|rendered|linebreaksbr }}")
    text = stored(FAILED) + "\n" + stored(INACTIVE, company="<b>ACME</b>", status=FAILED)
    with override("es"):
        html = template.render(Context({"text": text}))
    assert html.startswith("Fallida<br>")
    assert "&lt;b&gt;ACME&lt;/b&gt;" in html  # parameters are escaped like any other text


def test_the_text_mapper_maps_whole_lines_only_and_nests_lists():
    from core.stored_messages import TextMapper

    reasons = TextMapper(["Bad %(x)s.", "Worse; really %(y)s."])
    mapper = TextMapper(["Failed: %(reasons)s", "Password of %(email)s reset (must change)."], nested={"reasons": reasons})
    assert mapper.line("Something else.") is None
    assert mapper.line(stored(FAILED)) is None
    text = mapper.line("Failed: Bad 1.; Worse; really 2.; other")
    assert rendered(text) == "Failed: Bad 1.; Worse; really 2.; other"
    params = json.loads(text[len(MARKER):])["p"]["reasons"]
    assert [item if isinstance(item, str) else item["m"] for item in params] == ["Bad %(x)s.", "Worse; really %(y)s.", "other"]
    assert mapper.text("Failed: x\nnothing\n" + stored(FAILED)) is None  # already stored: left alone
    assert rendered(mapper.text("Failed: x\nnothing")) == "Failed: x\nnothing"
