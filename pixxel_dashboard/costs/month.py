"""Where each project stands in the current month: spent, still to come, forecast, budget.

Shared by the overview, the submit form (the remaining budget beside the estimate) and the budget
alerts, so all three say the same thing. Months are in the organization's time zone.

The month-end forecast, as the overview states it:
    spent so far this month
  + what the estimates of its queued and running jobs say is still to come (estimate − cost so far)
  + the month's run rate (spent ÷ days elapsed, at least one day) × the days left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from .models import CostRollup, Grain, ProjectBudget
from .rollups import zone_of

WARNING_PERCENT = 80
OVER_PERCENT = 100
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def from_hundredths(value: int | None) -> Decimal:
    return (Decimal(value or 0) / 100).quantize(CENT)


@dataclass(frozen=True)
class MonthPosition:
    """One project's current month (amounts in credits)."""

    spent: Decimal = ZERO
    running_spent: Decimal = ZERO  # credits of queued and running jobs so far (any month)
    still_to_come: Decimal = ZERO  # their estimates minus their cost so far
    run_rate_rest: Decimal = ZERO  # the run rate × the days left
    budget: Decimal | None = None

    @property
    def forecast(self) -> Decimal:
        return self.spent + self.still_to_come + self.run_rate_rest

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.spent

    @property
    def remaining_text(self) -> str:
        """ "12.50 left", or "3.00 over" once spent (never a negative remaining). Short words: the
        submit form's panel shows it in a narrow column at phone width."""
        remaining = self.remaining
        if remaining is None:
            return ""
        if remaining < 0:
            return f"{-remaining:,.2f} over"
        return f"{remaining:,.2f} left"

    def percent(self, amount: Decimal) -> int | None:
        if not self.budget:
            return None
        return int(amount * 100 / self.budget)

    @property
    def used_percent(self) -> int | None:
        return self.percent(self.spent)

    @property
    def forecast_percent(self) -> int | None:
        return self.percent(self.forecast)

    @property
    def state(self) -> str:
        """ "over", "warning" or "ok" by spend; "" without a budget."""
        return budget_state(self.used_percent)


def budget_state(percent: int | None) -> str:
    if percent is None:
        return ""
    if percent >= OVER_PERCENT:
        return "over"
    if percent >= WARNING_PERCENT:
        return "warning"
    return "ok"


@dataclass(frozen=True)
class Clock:
    """The current month in the organization's time zone."""

    now: datetime
    first_day: date
    days_elapsed: float
    days_left: float

    @classmethod
    def of(cls, organization, now: datetime | None = None) -> Clock:
        now = timezone.localtime(now or timezone.now(), zone_of(organization))
        first = month_start(now.date())
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = datetime.combine(next_month(first), datetime.min.time(), tzinfo=now.tzinfo)
        return cls(
            now=now,
            first_day=first,
            days_elapsed=max(1.0, (now - start).total_seconds() / 86400),
            days_left=max(0.0, (end - now).total_seconds() / 86400),
        )


def month_positions(
    organization, project_refs: list[int] | None = None, now: datetime | None = None
) -> dict[int, MonthPosition]:
    """Each project's position this month (by Project pk; 0: jobs without a project). Three
    queries, none on jobs: this month's rollups, the open rows, the budgets."""
    clock = Clock.of(organization, now)
    rollups = CostRollup.objects.filter(
        organization=organization, grain=Grain.PROJECT, day__gte=clock.first_day
    )
    # The queued and running jobs, one row per project (never the jobs themselves).
    open_rows = CostRollup.objects.filter(organization=organization, grain=Grain.OPEN)
    budgets = ProjectBudget.objects.filter(organization=organization)
    if project_refs is not None:
        rollups = rollups.filter(project_ref__in=project_refs)
        open_rows = open_rows.filter(project_ref__in=project_refs)
        budgets = budgets.filter(project__in=project_refs)
    spent = dict(rollups.values_list("project_ref").annotate(total=Sum("credits")).order_by())
    running = {
        ref: (credits, to_come)
        for ref, credits, to_come in open_rows.values_list("project_ref", "credits", "to_come")
        if credits or to_come
    }
    budget_of = dict(budgets.values_list("project_id", "monthly_credits"))
    refs = set(spent) | set(running) | set(budget_of)
    positions = {}
    for ref in refs:
        month_spent = from_hundredths(spent.get(ref))
        run_rate = month_spent / Decimal(clock.days_elapsed)
        open_credits, to_come = running.get(ref, (0, 0))
        positions[ref] = MonthPosition(
            spent=month_spent,
            running_spent=from_hundredths(open_credits),
            still_to_come=from_hundredths(to_come),
            run_rate_rest=(run_rate * Decimal(clock.days_left)).quantize(CENT),
            budget=budget_of.get(ref),
        )
    return positions


def month_position(organization, project_ref: int, now: datetime | None = None) -> MonthPosition:
    return month_positions(organization, [project_ref], now).get(project_ref, MonthPosition())
