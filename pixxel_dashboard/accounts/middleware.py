from django.utils.cache import patch_cache_control


def _private_and_unstored(response) -> bool:
    directives = {d.strip().split("=")[0] for d in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


def private_pages(get_response):
    """A signed-in person's pages are theirs alone: no shared cache or back-button disk copy keeps
    them (a team's jobs, keys' masks, members) after they log out on a shared machine."""

    def middleware(request):
        response = get_response(request)
        # Already private and unstored (`never_cache`): no need to load the user to say so (the
        # job poll's fast path answers without ever reading the session or the user).
        if _private_and_unstored(response):
            return response
        if request.user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response

    return middleware
