"""{{ text|rendered }}: a stored message (core.stored_messages) in the active language; other text as it is."""

from django import template

from core.stored_messages import rendered as _rendered

register = template.Library()


@register.filter(is_safe=False)
def rendered(text):
    return _rendered(text)
