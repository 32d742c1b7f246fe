def organizations(request):
    """The signed-in user's organizations, for the switcher in the top bar (one query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def memberships():
        # An organization's page has read them already (`get_org_for_user`).
        known = getattr(request, "user_memberships", None)
        if known is not None:
            return known
        return list(user.memberships.select_related("organization").order_by("organization__name"))

    # Lazy: pages that never render the top bar (fragments, JSON) do not pay for the query.
    from django.utils.functional import SimpleLazyObject

    return {
        "user_memberships": SimpleLazyObject(memberships),
        "current_org": getattr(request, "organization", None),
        "current_membership": getattr(request, "membership", None),
    }
