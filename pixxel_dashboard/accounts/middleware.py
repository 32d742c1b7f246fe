from django.utils.cache import patch_cache_control


def private_pages(get_response):
    """A signed-in person's pages are theirs alone: no shared cache or back-button disk copy keeps
    them (a team's jobs, keys' masks, members) after they log out on a shared machine."""

    def middleware(request):
        response = get_response(request)
        if request.user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response

    return middleware
