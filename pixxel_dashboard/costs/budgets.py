"""Project budgets: setting and clearing them (owners and admins; the views check the role), and
what a budget says about a job about to be submitted."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from pixxel_dashboard.accounts.models import Membership, Role, record_event

from . import alerts
from .models import ProjectBudget
from .month import ZERO, MonthPosition, month_position

# Who may submit a job that takes its project over budget (after confirming it).
OVERSPEND_ROLE = Role.ADMIN


@transaction.atomic
def set_budget(organization, project, monthly_credits: Decimal | None, actor) -> None:
    """Set the project's monthly budget, or clear it with None; each change an audit event. A new
    budget the month has already crossed alerts the owners and admins (through the worker)."""
    current = ProjectBudget.objects.filter(organization=organization, project=project).first()
    old = current.monthly_credits if current else None
    if monthly_credits == old:
        return
    if monthly_credits is None:  # and there was one (old differs)
        ProjectBudget.objects.filter(organization=organization, project=project).delete()
        record_event(organization, actor, "budget.cleared", project.pixxel_id, old=str(old))
        alerts.after_budget_change(organization, project)
        return
    ProjectBudget.objects.update_or_create(
        organization=organization,
        project=project,
        defaults={"monthly_credits": monthly_credits, "updated_by": actor},
    )
    record_event(
        organization,
        actor,
        "budget.set",
        project.pixxel_id,
        monthly_credits=str(monthly_credits),
        old=None if old is None else str(old),
    )
    alerts.after_budget_change(organization, project)


@dataclass(frozen=True)
class BudgetCheck:
    """A job about to be submitted, against its project's budget this month (credits)."""

    position: MonthPosition
    budget: Decimal
    estimate: Decimal | None  # the server's estimate; None: Pixxel gave none (counted as 0)

    @property
    def committed(self) -> Decimal:
        """Spent this month plus what the open jobs' estimates say is still to come."""
        return self.position.spent + self.position.still_to_come

    @property
    def after_job(self) -> Decimal:
        return self.committed + (self.estimate or ZERO)

    @property
    def would_cross(self) -> bool:
        """Spent + still to come of running jobs + this estimate > the budget."""
        return self.after_job > self.budget

    @property
    def over_by(self) -> Decimal:
        return self.after_job - self.budget

    def audit_details(self) -> dict[str, str | None]:
        return {
            "estimate": None if self.estimate is None else str(self.estimate),
            "budget": str(self.budget),
            "spent": str(self.position.spent),
            "still_to_come": str(self.position.still_to_come),
        }


def check_estimate(
    organization, project_pixxel_id: str, estimate: Decimal | None
) -> BudgetCheck | None:
    """The project's budget against this estimate; None when the project has no budget (one query
    then; four with a budget)."""
    if not project_pixxel_id:
        return None
    project_ref = (
        ProjectBudget.objects.filter(
            organization=organization, project__pixxel_id=project_pixxel_id
        )
        .values_list("project_id", flat=True)
        .first()
    )
    if project_ref is None:
        return None
    position = month_position(organization, project_ref)
    if position.budget is None:  # cleared in between
        return None
    return BudgetCheck(position=position, budget=position.budget, estimate=estimate)


def may_overspend(membership: Membership) -> bool:
    return membership.has_role(OVERSPEND_ROLE)


def approvers(organization) -> list[str]:
    """Who may submit over a budget, by name, for the message that refuses a member."""
    return list(
        Membership.objects.filter(organization=organization, role__in=[Role.OWNER, Role.ADMIN])
        .order_by("-role", "user__username")
        .values_list("user__username", flat=True)
    )
