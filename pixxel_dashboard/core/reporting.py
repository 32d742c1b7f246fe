"""Error reports (admin emails, logged 500s) must never carry a Pixxel API key.

Our own code marks what holds a key with `sensitive_variables`; third-party HTTP code cannot be
marked, and its frames hold the request headers (`Authorization: <key>`) in local variables. This
filter hides the local variables of every frame in those libraries and in our client package.
It also hides the settings that carry a password inside a URL (the database's, the cache's).
"""

import re

from django.views.debug import SafeExceptionReporterFilter

OPAQUE_MODULES = ("requests", "urllib3", "http.client", "pixxel_dashboard.pixxel")


class PixxelSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    # Django's names, plus DATABASE_URL, REDIS_URL and CACHES' LOCATION (redis://:password@host).
    hidden_settings = re.compile(
        SafeExceptionReporterFilter.hidden_settings.pattern + "|DATABASE_URL|REDIS_URL|LOCATION",
        flags=re.I,
    )

    def get_traceback_frame_variables(self, request, tb_frame):
        module = tb_frame.f_globals.get("__name__", "")
        if self.is_active(request) and module.startswith(OPAQUE_MODULES):
            return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
        return super().get_traceback_frame_variables(request, tb_frame)
