"""The URL map: the jobs' patterns are tried first (the poll is the most frequent request), so no
pattern may answer for another one's URL — each named URL resolves back to its own view."""

import re

from django.urls import URLPattern, URLResolver, get_resolver, resolve

SAMPLES = {"slug": "acme", "str": "x1", "int": "7", "path": "x1/y2"}


def named_routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from named_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern.name, route


def sample_path(route: str) -> str:
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], route)


def test_every_named_url_resolves_to_its_own_view():
    routes = [(name, r) for name, r in named_routes(get_resolver().url_patterns) if "^" not in r]
    assert len(routes) > 40  # the product's pages, not only admin's
    wrong = {
        name: resolve(sample_path(route)).url_name
        for name, route in routes
        if resolve(sample_path(route)).url_name != name
    }
    assert wrong == {}
