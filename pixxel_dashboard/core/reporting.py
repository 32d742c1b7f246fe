"""Error reports (admin emails, logged 500s) must never carry a Pixxel API key.

Our own code marks what holds a key with `sensitive_variables`; third-party HTTP code cannot be
marked, and its frames hold the request headers (`Authorization: <key>`) in local variables. This
filter hides the local variables of every frame in those libraries and in our client package.
"""

from django.views.debug import SafeExceptionReporterFilter

OPAQUE_MODULES = ("requests", "urllib3", "http.client", "pixxel_dashboard.pixxel")


class PixxelSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def get_traceback_frame_variables(self, request, tb_frame):
        module = tb_frame.f_globals.get("__name__", "")
        if self.is_active(request) and module.startswith(OPAQUE_MODULES):
            return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
        return super().get_traceback_frame_variables(request, tb_frame)
