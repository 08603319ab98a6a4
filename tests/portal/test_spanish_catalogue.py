"""The Spanish catalogue itself: its header says Spanish has three plural forms (Django's: one, a round
million, other), so every plural message needs all three, or gettext falls back to English for most counts."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs GNU gettext's msgfmt (compilemessages needs it too)")
def test_the_catalogue_passes_msgfmt_check_with_every_plural_form():
    result = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(PO)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("count", [1, 2, 5, 1_000_000])
def test_a_plural_message_is_spanish_for_every_count(count):
    with translation.override("es"):
        text = translation.ngettext(
            "%(count)s order waiting for the vendor was sent again now.",
            "%(count)s orders waiting for the vendor were sent again now.", count,
        ) % {"count": count}
    assert "pedido" in text, text
