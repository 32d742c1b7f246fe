import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """Liveness and readiness: 200 when the database answers, 503 when it does not; the version
    says which release answered (e.g. during a rolling deploy)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("healthz: database unreachable")
        return JsonResponse(
            {"status": "error", "database": "unreachable", "version": settings.VERSION}, status=503
        )
    return JsonResponse({"status": "ok", "database": "ok", "version": settings.VERSION})


@require_GET
def favicon(request):
    """Browsers and tools ask for /favicon.ico whatever a page links: point them at the icon."""
    return HttpResponseRedirect(static("img/favicon.svg"))
