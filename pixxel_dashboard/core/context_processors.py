from django.conf import settings


def version(request):
    """The release, for the footer (from pyproject.toml, read once at start)."""
    return {"version": settings.VERSION}
