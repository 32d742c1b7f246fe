def organizations(request):
    return {}
