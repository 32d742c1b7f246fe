"""Tokens in links' paths (invitations, email verification, password reset) are secrets: no log line
carries one. Used by the app's log handlers (settings.LOGGING) and gunicorn's access log
(deploy/gunicorn.conf.py), so it imports nothing but the standard library."""

import logging
import re

# The token is the rest of the path after one of these (up to a query, a space or a quote).
_TOKEN_PATHS = re.compile(
    r"(?P<keep>/invitations/|/accounts/verify/|/accounts/reset/|/notifications/unsubscribe/)"
    r"[^?\s\"']+"
)


def redacted_path(text: str) -> str:
    """`text` with every link token replaced by "[redacted]"."""
    return _TOKEN_PATHS.sub(r"\g<keep>[redacted]", text)


class RedactSecretPaths(logging.Filter):
    """Redacts link tokens in a record's message and its string arguments (Django's request
    logger writes the path of every 4xx answer: "Gone: /invitations/<token>/")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redacted_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redacted_path(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
