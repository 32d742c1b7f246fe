"""Login throttling (django-axes): where a request comes from, and a log line for every lockout."""

import logging

from axes.signals import user_locked_out
from django.conf import settings
from django.dispatch import receiver

logger = logging.getLogger(__name__)


def client_ip(request) -> str:
    """The client's address: behind TRUSTED_PROXY_COUNT proxies, the one they saw connect.

    Each proxy appends the address it received from to X-Forwarded-For, so the client is the
    TRUSTED_PROXY_COUNT-th from the right; anything further left was written by the client itself.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    parts = (part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(","))
    forwarded = [part for part in parts if part]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


@receiver(user_locked_out)
def log_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    logger.warning(
        "login locked out after %s failures: username=%r address=%s path=%s",
        settings.AXES_FAILURE_LIMIT,
        username,
        ip_address,
        getattr(request, "path", ""),
    )
