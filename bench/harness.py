"""What every benchmark script needs around its figures: a throwaway database, settings a test
client can use, and the verdict line (import after `django.setup()`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.test import override_settings
from django.test.utils import setup_test_environment

PLAIN_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # No manifest: the benchmarks run without collectstatic.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


@contextmanager
def throwaway_database(*hosts: str) -> Iterator[None]:
    """A database of its own for the run (a file or memory for SQLite; test_<name> for PostgreSQL
    via DATABASE_URL), destroyed after; the test client's host (and `hosts`) allowed."""
    setup_test_environment()
    real_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with override_settings(STORAGES=PLAIN_STORAGES, ALLOWED_HOSTS=["testserver", *hosts]):
            yield
    finally:
        connection.close()
        connection.creation.destroy_test_db(real_name, verbosity=0)


def verdict(value: float | None, limit: float, unit: str = "×", at_least: bool = False) -> str:
    """ "met (…)" or "MISSED by … (…)" for a figure against its target ("n/a" without a figure)."""
    if value is None:
        return "n/a"
    ok = value >= limit if at_least else value <= limit
    sign = "≥" if at_least else "≤"
    if ok:
        return f"met ({value:,.2f}{unit} {sign} {limit:,.2f}{unit})"
    return (
        f"MISSED by {abs(value - limit):,.2f}{unit} "
        f"({value:,.2f}{unit}, target {sign} {limit:,.2f}{unit})"
    )


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f}"


def print_tally(verdicts: list[str]) -> None:
    met = sum(v.startswith("met") for v in verdicts)
    missed = sum(v.startswith("MISSED") for v in verdicts)
    print()
    print(f"Verdicts: {met} met, {missed} missed, {len(verdicts) - met - missed} n/a")
