from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as our views see it, with django-htmx's `request.htmx` (for type checkers)."""

    htmx: HtmxDetails
