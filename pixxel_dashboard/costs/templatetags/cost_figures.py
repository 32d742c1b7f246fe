from django import template

from pixxel_dashboard.costs.figures import credits_text
from pixxel_dashboard.costs.month import from_hundredths

register = template.Library()


@register.filter
def credits(amount):
    """1234.5 → "1,234.50"; None → "—"."""
    return credits_text(amount)


@register.filter
def percent(value):
    return "—" if value is None else f"{value} %"


@register.filter
def hundredths(value):
    """A rollup amount (whole hundredths) in credits."""
    return from_hundredths(value)
