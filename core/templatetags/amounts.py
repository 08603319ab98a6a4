"""`{% load amounts %}` … `{{ price|amount }}`: an amount shown by core.amounts' one rule."""

from django import template

from core.amounts import format_amount

register = template.Library()


@register.filter(is_safe=True)
def amount(value, style: str = "") -> str:
    """`{{ price|amount }}`, or `{{ total|amount:"cents" }}` for a summary."""
    return format_amount(value, cents=style == "cents")
