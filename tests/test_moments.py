"""`{% moment %}` and `iso_utc`: UTC for machines, the organization's zone and "3 h ago" for people."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from pixxel_dashboard.core.moments import iso_utc, relative

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def render(source: str, **context) -> str:
    return Template("{% load moments %}" + source).render(Context(context))


@pytest.fixture
def zone():
    """Activate a zone for the test (as `get_org_for_user` does for a page), then the default."""

    def activate(name: str):
        timezone.activate(name)

    yield activate
    timezone.deactivate()


# --- iso_utc ------------------------------------------------------------------------------------


def test_iso_utc_is_utc_with_a_z_and_without_microseconds():
    value = datetime(2026, 11, 30, 13, 0, 5, 987654, tzinfo=ZoneInfo("Europe/Berlin"))
    assert iso_utc(value) == "2026-11-30T12:00:05Z"


def test_iso_utc_ignores_the_active_zone(zone):
    zone("Asia/Kolkata")
    assert iso_utc(NOW) == "2026-11-30T12:00:00Z"
    assert render("{{ when|iso_utc }}", when=NOW) == "2026-11-30T12:00:00Z"


def test_iso_utc_of_nothing_is_empty():
    assert iso_utc(None) == ""
    assert render("{{ when|iso_utc }}", when=None) == ""


# --- relative wording and its boundaries ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ago", "words"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=60), "1 min ago"),
        (timedelta(minutes=5, seconds=59), "5 min ago"),
        (timedelta(minutes=59, seconds=59), "59 min ago"),
        (timedelta(hours=1), "1 h ago"),
        (timedelta(hours=23, minutes=59), "23 h ago"),
        (timedelta(days=1), "1 d ago"),
        (timedelta(days=29, hours=23), "29 d ago"),
        (timedelta(days=30), "2026-10-31"),
        (timedelta(days=300), "2026-02-03"),
        (-timedelta(seconds=30), "just now"),
        (-timedelta(minutes=5), "in 5 min"),
        (-timedelta(hours=3, minutes=10), "in 3 h"),
        (-timedelta(days=2), "in 2 d"),
        (-timedelta(days=45), "2027-01-14"),
    ],
)
def test_relative_wording(ago, words):
    assert relative(NOW - ago, now=NOW) == words


def test_an_old_moment_is_dated_in_the_active_zone(zone):
    # 20:00 UTC is already the next day in India.
    value = datetime(2026, 3, 13, 20, 0, tzinfo=UTC)
    assert relative(value, now=NOW) == "2026-03-13"
    zone("Asia/Kolkata")
    assert relative(value, now=NOW) == "2026-03-14"


# --- the tag -------------------------------------------------------------------------------------


def test_the_tag_writes_utc_for_machines_and_the_zone_and_age_for_people(zone):
    zone("Europe/Berlin")
    # A minute past 3 h: the microseconds set here must not bring it under 3 h (then "2 h ago").
    when = timezone.now().replace(microsecond=123456) - timedelta(hours=3, minutes=1)
    html = render("{% moment when %}", when=when)
    local = when.astimezone(ZoneInfo("Europe/Berlin"))
    utc = when.astimezone(UTC)
    assert html == (
        f'<time datetime="{utc:%Y-%m-%dT%H:%M:%S}Z" title="{local:%Y-%m-%d %H:%M %Z}">'
        "3 h ago</time>"
    )


@pytest.mark.parametrize(
    ("name", "when", "title"),
    [
        ("UTC", datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "2026-11-30 12:00 UTC"),
        ("Europe/Berlin", datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "2026-11-30 13:00 CET"),
        # Summer time: the same zone is two hours ahead and says so.
        ("Europe/Berlin", datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "2026-07-01 14:00 CEST"),
        # The night the clocks go back: 00:30 and 01:30 UTC are both 02:30 local, told apart.
        ("Europe/Berlin", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25 02:30 CEST"),
        ("Europe/Berlin", datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "2026-10-25 02:30 CET"),
        ("Asia/Kolkata", datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "2026-11-30 17:30 IST"),
        ("America/New_York", datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "2026-11-30 07:00 EST"),
    ],
)
def test_the_title_is_the_exact_minute_in_the_active_zone(zone, name, when, title):
    zone(name)
    html = render("{% moment when %}", when=when)
    assert f'title="{title}"' in html
    assert f'datetime="{when:%Y-%m-%dT%H:%M:%S}Z"' in html


def test_nothing_is_a_dash():
    assert render("{% moment when %}", when=None) == "—"
    assert render("{% moment missing %}") == "—"


def test_a_future_moment_reads_in_so_many_minutes():
    when = timezone.now() + timedelta(minutes=5, seconds=30)
    assert ">in 5 min</time>" in render("{% moment when %}", when=when)
