"""Setting and clearing a project's monthly budget (owners and admins; the views check the role)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from pixxel_dashboard.accounts.models import record_event

from .models import ProjectBudget


@transaction.atomic
def set_budget(organization, project, monthly_credits: Decimal | None, actor) -> None:
    """Set the project's monthly budget, or clear it with None; each change an audit event."""
    current = ProjectBudget.objects.filter(organization=organization, project=project).first()
    old = current.monthly_credits if current else None
    if monthly_credits == old:
        return
    if monthly_credits is None:  # and there was one (old differs)
        ProjectBudget.objects.filter(organization=organization, project=project).delete()
        record_event(organization, actor, "budget.cleared", project.pixxel_id, old=str(old))
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
