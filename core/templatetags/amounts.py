"""`{% load amounts %}` … `{{ price|amount }}`: an amount shown by core.amounts' one rule."""

from django import template

from core.amounts import format_amount

register = template.Library()


@register.filter(is_safe=True)
def amount(value) -> str:
    return format_amount(value)
