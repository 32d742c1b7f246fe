"""`{% moment value %}`: a <time> a person reads as "3 h ago" and a machine as UTC;
`{{ value|iso_utc }}`: the UTC form alone (for a `datetime` attribute of one's own)."""

from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from pixxel_dashboard.core import moments

register = template.Library()


@register.simple_tag
def moment(value: datetime | None) -> SafeString | str:
    if not value:  # None, or a missing variable ("")
        return "—"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        moments.iso_utc(value),
        moments.exact_local(value),
        moments.relative(value),
    )


@register.filter
def iso_utc(value: datetime | None) -> str:
    return moments.iso_utc(value) if value else ""
