"""The cost month's clock for tests: `django.utils.timezone` as costs/month.py sees it, pinned to a
chosen moment of this month, so forecasts and the forecast alerts' week of waiting do not depend on
the day the suite runs (on the 1st a forecast alert is not yet due)."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from pixxel_dashboard.costs import month


class EndOfMonth:
    """One second before this month ends: the run rate has no days left to add, so a forecast is
    exactly spent + still to come."""

    def __init__(self):
        first = month.month_start(timezone.now().date())
        self.at = datetime.combine(
            month.next_month(first), datetime.min.time(), tzinfo=timezone.UTC
        )
        self.at -= timedelta(seconds=1)

    def now(self):
        return self.at

    localtime = staticmethod(timezone.localtime)


class DayOfMonth(EndOfMonth):
    """Noon on the given day of this month (UTC, the test organization's zone)."""

    def __init__(self, day: int):
        first = month.month_start(timezone.now().date())
        self.at = datetime.combine(first, datetime.min.time(), tzinfo=timezone.UTC)
        self.at += timedelta(days=day - 1, hours=12)


@pytest.fixture
def end_of_month(monkeypatch) -> EndOfMonth:
    clock = EndOfMonth()
    monkeypatch.setattr(month, "timezone", clock)
    return clock
