"""Issue 23: every page carries a Content-Security-Policy without 'unsafe-inline', and no page has
inline scripts, inline event handlers or style attributes that such a policy would block."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)


def directives(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    return {d.split()[0]: " ".join(d.split()[1:]) for d in header.split(";") if d.strip()}


def assert_strict(response):
    policy = directives(response)
    assert policy.get("default-src") == "'self'", response.headers.get("Content-Security-Policy")
    assert policy.get("script-src") == "'self'"
    assert policy.get("style-src") == "'self'"
    assert policy.get("frame-ancestors") == "'none'"
    assert policy.get("object-src") == "'none'"
    assert policy.get("base-uri") == "'self'"
    assert policy.get("form-action") == "'self'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]


def assert_nothing_inline(response):
    html = response.content.decode()
    for pattern in (INLINE_SCRIPT, INLINE_HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT):
        assert not pattern.search(html), (pattern.pattern, pattern.search(html).group(0))


def test_the_login_page_has_the_policy(client, settings):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY
    assert_strict(response)
    assert_nothing_inline(response)


def test_the_portals_pages_have_the_policy_and_nothing_inline(client, demo):
    client.force_login(demo.admin_abbie)
    company = reverse("company_detail", args=[demo.abbiebox.account_id])
    order = client.post(reverse("orders:new", args=[demo.abbiebox.account_id]))
    assert order.status_code == 302, order.status_code
    pages = [
        company,
        f"{company}?tab=users",
        reverse("user_detail", args=[demo.admin_abbie.pk]),
        f"{reverse('user_detail', args=[demo.admin_abbie.pk])}?tab=security",
        order["Location"],
        reverse("imports:my_imports"),
        reverse("imports:bulk_import"),
        reverse("search") + "?q=abbie",
        "/no-such-page/",
    ]
    for url in pages:
        response = client.get(url, follow=True)
        assert response.status_code in (200, 404), (url, response.status_code)
        assert_strict(response)
        assert_nothing_inline(response)


def test_the_api_reference_keeps_its_scripts_and_styles_in_files(client):
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert_nothing_inline(response)
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_no_page_template_has_inline_scripts_or_styles():
    """Every page template, including those no test above renders (emails are not pages: no CSP there)."""
    from django.conf import settings

    root = settings.BASE_DIR / "templates"
    offenders = []
    for template in sorted(root.rglob("*.html")):
        if "email" in template.relative_to(root).parts:
            continue
        source = template.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT):
            found = pattern.search(source)
            if found:
                offenders.append(f"{template.relative_to(root)}: {found.group(0)[:80]}")
    assert offenders == []
