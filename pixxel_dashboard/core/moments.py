"""How a moment is written: in UTC for machines, in the active (organization's) zone for people.

`django.utils.timezone.activate` sets the zone (`get_org_for_user` does it for org-scoped pages);
these functions only read it.
"""

from datetime import UTC, datetime

from django.utils import timezone

# From this age on a moment is shown as its date: "41 d ago" says less than "2026-10-20".
RELATIVE_DAYS = 30


def _aware(value: datetime) -> datetime:
    # A naive value is in the default zone, as everywhere else in Django.
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def iso_utc(value: datetime | None) -> str:
    """UTC in whole seconds, "2026-11-30T12:00:00Z" (the HTML checker refuses microseconds in a
    <time datetime>): for attributes, CSV and anything else a program reads. None: ""."""
    if value is None:
        return ""
    return _aware(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exact_local(value: datetime) -> str:
    """The minute in the active zone, with its abbreviation: "2026-11-30 13:00 CET"."""
    return timezone.localtime(_aware(value)).strftime("%Y-%m-%d %H:%M %Z")


def relative(value: datetime, now: datetime | None = None) -> str:
    """How far away, for people: "just now" (under a minute), "5 min ago", "3 h ago", "2 d ago",
    "in 5 min"; from 30 days away the date in the active zone ("2026-03-14"). Whole units, rounded
    down."""
    value = _aware(value)
    seconds = ((now or timezone.now()) - value).total_seconds()
    distance = abs(seconds)
    if distance < 60:
        return "just now"
    if distance < 3600:
        amount = f"{int(distance // 60)} min"
    elif distance < 86400:
        amount = f"{int(distance // 3600)} h"
    elif distance < RELATIVE_DAYS * 86400:
        amount = f"{int(distance // 86400)} d"
    else:
        return timezone.localtime(value).date().isoformat()
    return f"{amount} ago" if seconds > 0 else f"in {amount}"
