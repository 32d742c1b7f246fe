"""Budget alerts: an email to the organization's owners and admins when a project's spend or
month-end forecast crosses 80 % or 100 % of its monthly budget.

Exactly one email per crossing, however many workers save jobs at once:
1. Detection runs in the transaction that moved the numbers (`after_job_change`, called by
   `save_job` after the rollups moved; `after_budget_change`, called by `set_budget`). It locks the
   project's budget row first, so concurrent checks of one project take turns and each sees the
   numbers the previous one committed (a crossing made by two saves together is not missed).
2. Each crossing claims a `BudgetAlert` row (unique per organization × project × month × measure ×
   threshold); an insert that loses the race to another transaction simply finds the row there.
3. The email task is queued once the transaction commits (a rolled-back save alerts no one), and
   the task claims the send with a conditional UPDATE on `sent_at`: a duplicated or retried task
   sends nothing the first run sent.

Emails are sent by the task worker only: a web request (a budget set lower) only queues the task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from pixxel_dashboard.accounts.models import Role, mail_addresses, one_line

from . import events, month
from .models import MEASURES, BudgetAlert, ProjectBudget
from .rollups import Contribution

logger = logging.getLogger(__name__)

THRESHOLDS = (month.WARNING_PERCENT, month.OVER_PERCENT)
ALERT_ROLES = (Role.OWNER, Role.ADMIN)
# What a job adds that can move its project's spend or forecast: its credits, its estimate, and
# whether it is still open (an open job's estimate counts as still to come).
_MOVING = tuple(MEASURES.index(name) for name in ("credits", "estimate", "queued", "running"))


def moves_budget(before: Contribution | None, after: Contribution | None) -> bool:
    """Did this change of a job touch what a budget is measured by (not only its progress)?"""

    def picked(change: Contribution | None) -> tuple:
        if change is None:
            return ()
        return (change.keys[0][1], *(change.measures[i] for i in _MOVING))

    return picked(before) != picked(after)


def after_job_change(organization, before: Contribution | None, after: Contribution | None) -> None:
    """Claim the crossings a job's change made (call in save_job's transaction, after the rollups
    moved). Nothing is read unless the change moved credits or estimates of a real project."""
    if not moves_budget(before, after):
        return
    projects = {change.keys[0][1] for change in (before, after) if change is not None}
    for project_ref in sorted(projects - {0}):  # 0: jobs without a project have no budget
        check_project(organization, project_ref)


def check_every_budget(organization) -> list[int]:
    """Claim the crossings of every budgeted project of the organization (after its rollups were
    rebuilt: jobs loaded around the dashboard can take a project over its budget too)."""
    claimed = []
    with transaction.atomic():
        for project_ref in ProjectBudget.objects.filter(organization=organization).values_list(
            "project_id", flat=True
        ):
            claimed += check_project(organization, project_ref)
    return claimed


def after_budget_change(organization, project) -> None:
    """A budget set, changed or cleared (in set_budget's transaction): crossings of this month
    that the new budget no longer reaches are forgotten, so reaching them again alerts again; the
    ones it now reaches are claimed (a lowered budget alerts at once)."""
    position = month.month_position(organization, project.pk)
    clock = month.Clock.of(organization)
    this_month = clock.first_day
    stale = BudgetAlert.objects.filter(organization=organization, project=project, month=this_month)
    if position.budget is not None:
        reached = Q()
        for measure, percent in _percents(position, clock).items():
            reached |= Q(measure=measure, threshold__lte=percent if percent is not None else -1)
        stale = stale.exclude(reached)
    stale.delete()
    if position.budget is not None:
        _claim_crossings(organization, project.pk, position, clock)


def check_project(organization, project_ref: int, now: datetime | None = None) -> list[int]:
    """Claim the project's crossings of this month not claimed yet; returns the new rows' ids."""
    # The lock makes concurrent checks of one project take turns (see the module's docstring).
    budget = (
        ProjectBudget.objects.select_for_update()
        .filter(organization=organization, project_id=project_ref)
        .values_list("monthly_credits", flat=True)
        .first()
    )
    if budget is None:
        return []
    position = month.month_position(organization, project_ref, now)
    return _claim_crossings(organization, project_ref, position, month.Clock.of(organization, now))


# A forecast from the month's first days swings wildly (one job on the 1st, extrapolated over 30
# days, is thirty jobs): forecast alerts wait for a week of spending; spend alerts never wait.
FORECAST_ALERTS_AFTER_DAYS = 7


def _percents(position: month.MonthPosition, clock: month.Clock) -> dict[str, int | None]:
    percents: dict[str, int | None] = {BudgetAlert.Measure.SPEND: position.used_percent}
    if clock.days_elapsed >= FORECAST_ALERTS_AFTER_DAYS:
        percents[BudgetAlert.Measure.FORECAST] = position.forecast_percent
    return percents


def _claim_crossings(
    organization, project_ref: int, position: month.MonthPosition, clock: month.Clock
) -> list[int]:
    first_day = clock.first_day
    crossed = [
        (measure, threshold, percent)
        for measure, percent in _percents(position, clock).items()
        if percent is not None
        for threshold in THRESHOLDS
        if percent >= threshold
    ]
    if not crossed or position.budget is None:
        return []
    claimed_already = set(
        BudgetAlert.objects.filter(
            organization=organization, project_id=project_ref, month=first_day
        ).values_list("measure", "threshold")
    )
    claimed = []
    for measure, threshold, percent in crossed:
        if (measure, threshold) in claimed_already:
            continue
        try:
            with transaction.atomic():  # a savepoint: losing the race leaves the save intact
                alert = BudgetAlert.objects.create(
                    organization=organization,
                    project_id=project_ref,
                    month=first_day,
                    measure=measure,
                    threshold=threshold,
                    percent=min(percent, 2**31 - 1),
                    budget=position.budget,
                )
        except IntegrityError:
            continue  # another transaction claimed this crossing: it sends the email
        claimed.append(alert.pk)
        events.budget_crossed.send(sender=BudgetAlert, alert=alert)
    if claimed:
        transaction.on_commit(lambda: _enqueue(claimed))
    return claimed


def _enqueue(alert_ids: list[int]) -> None:
    try:
        send_budget_alerts.enqueue(alert_ids)
    except Exception:
        # Never break the save that found the crossing; the row stays unsent (sent_at empty).
        logger.exception("could not queue budget alert emails %s", alert_ids)


@dataclass(frozen=True)
class Crossing:
    """One claimed alert as the email states it."""

    measure: str  # "spend" or "forecast"
    threshold: int
    percent: int
    amount: Decimal  # the spend or the forecast when the email was sent
    budget: Decimal


@task()
def send_budget_alerts(alert_ids: list[int]) -> int:
    """Email the owners and admins about these crossings (one project, one month); returns how
    many emails went out. Each row is claimed first: what another run claimed is not sent again."""
    now = timezone.now()
    alerts = list(
        BudgetAlert.objects.select_related("organization", "project")
        .filter(pk__in=alert_ids)
        .order_by("threshold")
    )
    alerts.sort(key=lambda alert: alert.measure != BudgetAlert.Measure.SPEND)  # spend first
    ours = [
        alert
        for alert in alerts
        if BudgetAlert.objects.filter(pk=alert.pk, sent_at__isnull=True).update(sent_at=now)
    ]
    if not ours:
        return 0
    organization, project = ours[0].organization, ours[0].project
    position = month.month_position(organization, project.pk)
    recipients = mail_addresses(organization, ALERT_ROLES)
    if not recipients:
        return 0
    amounts: dict[str, Decimal] = {
        BudgetAlert.Measure.SPEND: position.spent,
        BudgetAlert.Measure.FORECAST: position.forecast,
    }
    crossings = [
        Crossing(a.measure, a.threshold, a.percent, amounts[a.measure], a.budget) for a in ours
    ]
    top = max(crossings, key=lambda c: (c.threshold, c.measure == BudgetAlert.Measure.SPEND))
    month_name = f"{ours[0].month:%B %Y}"
    subject = one_line(
        f"{project.name or project.pixxel_id}: {top.measure} "
        f"{'over' if top.threshold >= month.OVER_PERCENT else 'at'} {top.percent} % "
        f"of the {month_name} budget"
    )
    body = render_to_string(
        "costs/budget_alert_email.txt",
        {
            "organization": organization,
            "project": project,
            "month_name": month_name,
            "crossings": crossings,
            "position": position,
            "link": project_costs_link(organization, project),
        },
    )
    messages = [
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        for address in recipients
    ]
    try:
        sent = _mailer().send_messages(messages) or 0
    except Exception:
        # Nothing went out (the mail server refused the connection, say): release the claim, so
        # running the task again sends it. (Once one message is out, a retry could duplicate it.)
        BudgetAlert.objects.filter(pk__in=[a.pk for a in ours], sent_at=now).update(sent_at=None)
        raise
    return sent


def _mailer():
    return mailers.default


def project_costs_link(organization, project) -> str:
    """The project's cost page as an absolute link (SITE_URL; the worker has no request)."""
    return settings.SITE_URL + reverse("project_costs", args=[organization.slug, project.pixxel_id])
