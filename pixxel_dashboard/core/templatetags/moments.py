"""TEMPORARY stand-in (replaced by the organization time zone work)."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def moment(value):
    if value is None:
        return "—"
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), value)
