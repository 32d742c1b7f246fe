from django.utils import timezone


def request_time_zone(get_response):
    """Each request starts and ends in the default zone. `get_org_for_user` activates the
    organization's zone for its page; without this, the thread (and the next request it serves,
    for anyone) would keep that organization's zone."""

    def middleware(request):
        timezone.deactivate()
        try:
            return get_response(request)
        finally:
            timezone.deactivate()

    return middleware
