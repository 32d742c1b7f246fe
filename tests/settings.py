"""The settings the test suite runs with: the product's own, with DEBUG on as for development.

DEBUG is off unless set (production must never run with it by accident); tests, like `make run`,
set it. Subprocesses the tests start (manage.py commands) inherit it too.
"""

import os

os.environ.setdefault("DEBUG", "true")

from pixxel_dashboard.settings import *  # noqa: F403
