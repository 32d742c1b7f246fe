"""Timing shared by the benchmark scripts (plain Python: no Django here)."""

import statistics
import time


def median_seconds(calls: dict, runs: int) -> dict:
    """Median time of each call, the calls interleaved run by run: a busy machine slows all of
    them alike instead of whichever happened to run during the busy spell."""
    for call in calls.values():
        call()  # warm up (template and URL caches)
    times: dict = {key: [] for key in calls}
    for _ in range(runs):
        for key, call in calls.items():
            start = time.perf_counter()
            call()
            times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}
