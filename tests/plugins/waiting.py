"""Waiting for something to happen, never for a fixed time."""

import time
from collections.abc import Callable


def wait_until[T](condition: Callable[[], T], *, timeout: float = 5, what: str = "") -> T:
    """Call `condition` until it returns something truthy (which is returned), failing the test
    after `timeout` seconds: as fast as the event itself, bounded when it never comes.
    Exceptions from `condition` propagate (return False for "not yet")."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"waited {timeout} s for {what or condition}"
        time.sleep(0.05)
