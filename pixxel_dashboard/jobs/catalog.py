"""The organization's Pixxel projects and workflows, fetched with its key and kept locally.

Pickers read the local rows; they are refreshed from Pixxel when older than CATALOG_MAX_AGE (or on
demand). Keeping them also lets history and costs name projects and workflows without calling Pixxel.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core import signing
from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from pixxel_dashboard.core.credits import as_credits
from pixxel_dashboard.pixxel import PixxelClient, PixxelError
from pixxel_dashboard.pixxel import types as px

from .models import Project, Workflow

CATALOG_MAX_AGE = timedelta(minutes=5)
PREFLIGHT_CACHE_SECONDS = 60
# How long the estimate shown on a form stays the one kept with the job it submits.
ESTIMATE_SHOWN_MAX_AGE = 3600
_ESTIMATE_SALT = "pixxel_dashboard.jobs.estimate-shown"


def _stale(newest) -> bool:
    return newest is None or timezone.now() - newest > CATALOG_MAX_AGE


def ensure_project(organization, pixxel_id: str, name: str = "") -> Project:
    project, created = Project.objects.get_or_create(
        organization=organization, pixxel_id=pixxel_id, defaults={"name": name}
    )
    if name and project.name != name:
        project.name = name
        project.save(update_fields=["name"])
    return project


def ensure_workflow(organization, pixxel_id: str, project: Project | None, **fields) -> Workflow:
    workflow, created = Workflow.objects.get_or_create(
        organization=organization, pixxel_id=pixxel_id, defaults={"project": project, **fields}
    )
    changed = {k: v for k, v in fields.items() if v not in (None, "") and getattr(workflow, k) != v}
    if project and workflow.project_id != project.pk:
        changed["project"] = project
    if changed and not created:
        for name, value in changed.items():
            setattr(workflow, name, value)
        workflow.save(update_fields=list(changed))
    return workflow


def projects(organization, client: PixxelClient | None, refresh: bool = False) -> list[Project]:
    """The organization's projects; fetched from Pixxel (all pages) when stale or asked to."""
    newest = Project.objects.filter(organization=organization).aggregate(t=Max("fetched_at"))["t"]
    if client is not None and (refresh or _stale(newest)):
        now = timezone.now()
        Project.objects.bulk_create(
            [
                Project(
                    organization=organization,
                    pixxel_id=remote.id,
                    name=remote.display_name[:200],
                    fetched_at=now,
                )
                for remote in client.list_all_projects()
                if remote.id
            ],
            update_conflicts=True,
            unique_fields=["organization", "pixxel_id"],
            update_fields=["name", "fetched_at"],
        )
    return list(Project.objects.filter(organization=organization).order_by("name", "pixxel_id"))


def workflows(
    organization,
    client: PixxelClient | None,
    project: Project,
    query: str = "",
    refresh: bool = False,
) -> list[Workflow]:
    """A project's workflows (every page), optionally filtered by name.

    A project not kept yet (an id typed on a GET) is only read from Pixxel: a GET never writes.
    """
    if project.pk is None:
        return _unsaved_workflows(organization, client, project, query)
    rows = Workflow.objects.filter(organization=organization, project=project)
    newest = rows.aggregate(t=Max("fetched_at"))["t"]
    if client is not None and (refresh or _stale(newest)):
        now = timezone.now()
        Workflow.objects.bulk_create(
            [
                Workflow(
                    organization=organization,
                    project=project,
                    pixxel_id=remote.id,
                    name=(remote.name or "")[:200],
                    description=remote.description or "",
                    fetched_at=now,
                )
                for remote in client.list_workflows(project_id=project.pixxel_id)
                if remote.id
            ],
            update_conflicts=True,
            unique_fields=["organization", "pixxel_id"],
            update_fields=["project", "name", "description", "fetched_at"],
        )
    if query:
        rows = rows.filter(name__icontains=query)
    return list(rows.order_by("name", "pixxel_id"))


def _unsaved_workflows(organization, client, project: Project, query: str) -> list[Workflow]:
    if client is None:
        return []
    found = [
        Workflow(organization=organization, pixxel_id=remote.id, name=(remote.name or "")[:200])
        for remote in client.list_workflows(project_id=project.pixxel_id)
        if remote.id
    ]
    if query:
        found = [w for w in found if query.lower() in w.name.lower()]
    return sorted(found, key=lambda w: (w.name, w.pixxel_id))


@dataclass
class Preflight:
    """What a member sees before submitting: the workflow, its estimate, its validation errors."""

    workflow: px.Workflow
    estimated_cost: Decimal | None

    @property
    def val_errors(self) -> list[px.ValError]:
        return self.workflow.val_errors


def preflight(
    organization, client: PixxelClient, api_key_id: int, workflow_id: str, project_id: str
) -> Preflight:
    """Get workflow + estimate (cached briefly per key, so the panel and the submit agree).

    Only reads: the panel is a GET. A submission keeps what it learnt with `remember`.
    """
    cache_key = f"preflight:{organization.pk}:{api_key_id}:{project_id}:{workflow_id}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    workflow = client.get_workflow(workflow_id, project_id)
    estimate = client.estimate(workflow_id)
    result = Preflight(
        workflow=workflow,
        estimated_cost=None if estimate is None else Decimal(str(estimate)),
    )
    cache.set(cache_key, result, PREFLIGHT_CACHE_SECONDS)
    return result


def remember(
    organization, client: PixxelClient, project_id: str, workflow_id: str, checks: Preflight
) -> None:
    """Keep the project and workflow a submission checked, so history and costs can name them."""
    workflow = checks.workflow
    project = ensure_project(organization, project_id)
    if not project.name:
        # A typed (or never listed) project: name it once, so history and costs can.
        try:
            remote = client.get_project(project_id)
        except PixxelError:
            remote = None
        if remote is not None and remote.display_name:
            project.name = remote.display_name[:200]
            project.save(update_fields=["name"])
    ensure_workflow(
        organization,
        workflow_id,
        project,
        name=(workflow.name or "")[:200],
        description=workflow.description or "",
        estimated_cost=checks.estimated_cost,
    )


def sign_estimate(membership, project_id: str, workflow_id: str, estimate) -> str:
    """The estimate a pre-flight showed, signed for the form: the browser carries it, never sets it."""
    if estimate is None:
        return ""
    shown = [membership.organization_id, membership.user_id, project_id, workflow_id, str(estimate)]
    return signing.dumps(shown, salt=_ESTIMATE_SALT)


def estimate_shown(signed: str, membership, project_id: str, workflow_id: str) -> Decimal | None:
    """The estimate this member was shown for this workflow (None if missing, forged or stale)."""
    if not signed:
        return None
    try:
        org_id, user_id, project, workflow, estimate = signing.loads(
            signed, salt=_ESTIMATE_SALT, max_age=ESTIMATE_SHOWN_MAX_AGE
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if [org_id, user_id, project, workflow] != [
        membership.organization_id,
        membership.user_id,
        project_id,
        workflow_id,
    ]:
        return None
    return as_credits(estimate)
