"""The settings the test suite runs with: the product's own, with DEBUG on as for development.

DEBUG is off unless set (production must never run with it by accident); tests, like `make run`,
set it. Subprocesses the tests start (manage.py commands) inherit it too.
"""

import os

os.environ.setdefault("DEBUG", "true")

from pixxel_dashboard.settings import *  # noqa: F403

# Connections are not kept between requests in the suite (as before DATABASE_CONN_MAX_AGE existed):
# the live server's and the tests' own threads would otherwise keep theirs open past their test.
# (Reuse itself is tested in a subprocess with the production value: tests/test_settings.py.)
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
