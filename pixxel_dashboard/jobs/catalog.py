"""The organization's Pixxel projects and workflows, fetched with its key and kept locally.

Pickers read the local rows; they are refreshed from Pixxel when older than CATALOG_MAX_AGE (or on
demand). Keeping them also lets history and costs name projects and workflows without calling Pixxel.
`pickers` gathers everything the submit form shows besides its fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.core import signing
from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from pixxel_dashboard.accounts.models import Membership, Organization
from pixxel_dashboard.core.credits import as_credits
from pixxel_dashboard.keys import KeyProblem
from pixxel_dashboard.keys.errors import NoActiveKey
from pixxel_dashboard.keys.models import ApiKey
from pixxel_dashboard.keys.services import active_key, client_for_organization, pixxel_answer
from pixxel_dashboard.pixxel import ErrorKind, PixxelClient, PixxelError
from pixxel_dashboard.pixxel import types as px

from .forms import Choice
from .models import Project, Workflow

CATALOG_MAX_AGE = timedelta(minutes=5)
PREFLIGHT_CACHE_SECONDS = 60
# How long the estimate shown on a form stays the one kept with the job it submits.
ESTIMATE_SHOWN_MAX_AGE = 3600
_ESTIMATE_SALT = "pixxel_dashboard.jobs.estimate-shown"


# Asked for a client only when Pixxel must be called: opening the key decrypts it and stamps its
# last use, which a page served from the local catalog has no business doing.
Connect = Callable[[], PixxelClient | None]


def _stale(newest) -> bool:
    return newest is None or timezone.now() - newest > CATALOG_MAX_AGE


def _listed_at(key: str, rows) -> datetime | None:
    """When Pixxel last listed these rows. Kept apart from the rows (an empty listing stores
    none, yet is as fresh as any); a cache that lost it falls back on the newest row."""
    listed_at = cache.get(key)
    return listed_at if listed_at is not None else rows.aggregate(t=Max("fetched_at"))["t"]


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


def projects(organization, connect: Connect, refresh: bool = False) -> list[Project]:
    """The organization's projects as Pixxel last listed them (all pages); fetched again when
    stale or asked to (only then is `connect()` asked for a client). Rows kept only because a
    submission named them are not offered."""
    key = f"catalog-projects-listed:{organization.pk}"
    newest = _listed_at(key, Project.objects.filter(organization=organization))
    client = connect() if refresh or _stale(newest) else None
    if client is not None:
        now = newest = timezone.now()
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
        cache.set(key, now, None)
    if newest is None:  # never listed: rows named only by submissions are not a list
        return []
    listed = Project.objects.filter(organization=organization, fetched_at=newest)
    return list(listed.order_by("name", "pixxel_id"))


def workflows(
    organization,
    connect: Connect,
    project: Project,
    query: str = "",
    refresh: bool = False,
) -> list[Workflow]:
    """A project's workflows (every page), optionally filtered by name.

    A project not kept yet (an id typed on a GET) is only read from Pixxel: a GET never writes.
    """
    if project.pk is None:
        return _unsaved_workflows(organization, connect(), project, query)
    rows = Workflow.objects.filter(organization=organization, project=project)
    key = f"catalog-workflows-listed:{organization.pk}:{project.pk}"
    newest = _listed_at(key, rows)
    client = connect() if refresh or _stale(newest) else None
    if client is not None:
        now = newest = timezone.now()
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
        cache.set(key, now, None)
    # What Pixxel listed last time: not ids a submission only named, nor workflows since removed.
    if newest is None:
        return []
    rows = rows.filter(fetched_at=newest)
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
) -> tuple[Project, Workflow]:
    """Keep the project and workflow a submission checked, so history and costs can name them;
    returns their rows (the submission files itself under them)."""
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
    kept = ensure_workflow(
        organization,
        workflow_id,
        project,
        name=(workflow.name or "")[:200],
        description=workflow.description or "",
        estimated_cost=checks.estimated_cost,
    )
    return project, kept


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


class Connection:
    """The organization's Pixxel client for one request, closed at the end of a `with` block.

    Opened on first use: opening stamps the key's last use, so a replayed form that never calls
    Pixxel leaves it alone. A missing or unreadable key is no exception here but `key_problem`, a
    sentence for the page: the submit form still works from the local catalog.
    """

    def __init__(self, organization: Organization) -> None:
        self.organization = organization
        self.key_problem = ""
        self._opened: tuple[PixxelClient, ApiKey] | None = None
        self._tried = False

    def open(self) -> tuple[PixxelClient, ApiKey] | None:
        """The client and the key it uses, or None (`key_problem` says why)."""
        if not self._tried:
            self._tried = True
            try:
                self._opened = client_for_organization(self.organization)
            except KeyProblem as problem:
                self.key_problem = problem.user_message
        return self._opened

    def client(self) -> PixxelClient | None:
        opened = self.open()
        return opened[0] if opened else None

    def problem(self) -> str:
        """Why there is no usable key, without opening it when it was not needed: a missing key
        is seen from the database; an unreadable one only once opened."""
        if not self._tried and active_key(self.organization) is None:
            return NoActiveKey.user_message
        return self.key_problem

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._opened is not None:
            self._opened[0].close()


@dataclass(frozen=True)
class Pickers:
    """What the submit form shows around its fields: the lists, the pre-flight panel, problems."""

    project_id: str
    workflow_id: str
    workflow_query: str
    projects: list[Project]
    workflows: list[Workflow]
    # The chosen workflow when a search filtered it out of `workflows`: still chosen, still shown.
    kept_workflow: Workflow | None
    preflight: Preflight | None
    preflight_error: str
    # The pre-flight's estimate signed for the form (see sign_estimate), or "".
    estimate_seen: str
    # What stops every submission (no key, a key Pixxel refuses), shown at the top of the page.
    key_problem: str
    # Why the lists could not be read from Pixxel; ids can still be typed.
    catalog_problem: str


@dataclass(frozen=True)
class _Lists:
    projects: list[Project] = field(default_factory=list)
    workflows: list[Workflow] = field(default_factory=list)
    kept_workflow: Workflow | None = None
    key_problem: str = ""
    catalog_problem: str = ""


def pickers(
    pixxel: Connection,
    membership: Membership,
    choice: Choice,
    *,
    refresh: bool = False,
    lists: bool = True,
    check: bool = True,
    checks: Preflight | None = None,
) -> Pickers:
    """The submit form's surroundings, the same for a page, a partial or a form shown again.

    `lists`: fill the pickers (from Pixxel when stale or on `refresh`); `check`: run the chosen
    workflow's pre-flight, unless this request already has its `checks`.
    """
    organization = membership.organization
    found = _lists(organization, pixxel, choice, refresh) if lists else _Lists()
    preflight_error = choice.id_problem
    if checks is None and check and not found.key_problem and choice.workflow_id:
        opened = pixxel.open()
        if opened:
            checks, preflight_error = _checked(organization, opened, choice)
    key_problem = pixxel.problem() or found.key_problem
    shown = None if checks is None else checks.estimated_cost
    return Pickers(
        project_id=choice.project_id,
        workflow_id=choice.workflow_id,
        workflow_query=choice.workflow_query,
        projects=found.projects,
        workflows=found.workflows,
        kept_workflow=found.kept_workflow,
        preflight=checks,
        preflight_error=preflight_error,
        estimate_seen=sign_estimate(membership, choice.project_id, choice.workflow_id, shown),
        key_problem=key_problem,
        catalog_problem=found.catalog_problem,
    )


def _lists(organization: Organization, pixxel: Connection, choice: Choice, refresh: bool) -> _Lists:
    """The pickers' lists; when Pixxel fails, what was read so far and why the rest is missing."""
    try:
        found = projects(organization, pixxel.client, refresh=refresh)
    except PixxelError as error:
        # Listing projects is what any working key may do: a 401/403 here is the key itself.
        if error.kind in (ErrorKind.UNAUTHORIZED, ErrorKind.FORBIDDEN):
            return _Lists([], key_problem=_rejected_key_problem(error))
        return _Lists([], catalog_problem=error.user_message)
    try:
        project = next((p for p in found if p.pixxel_id == choice.project_id), None)
        if project is None and choice.project_id:
            # Not in Pixxel's list: a project kept from a submission, or a typed id that is looked
            # up but never stored by a GET.
            project = Project.objects.filter(
                organization=organization, pixxel_id=choice.project_id
            ).first() or Project(organization=organization, pixxel_id=choice.project_id)
        if project is None:
            return _Lists(found)
        listed = workflows(
            organization, pixxel.client, project, query=choice.workflow_query, refresh=refresh
        )
    except PixxelError as error:
        client = pixxel.client()  # open already: Pixxel was just asked
        if client is not None and _key_rejected(client, error):
            return _Lists(found, key_problem=_rejected_key_problem(error))
        return _Lists(found, catalog_problem=error.user_message)
    return _Lists(found, listed, _kept_workflow(organization, project, listed, choice.workflow_id))


def _kept_workflow(
    organization: Organization, project: Project, listed: list[Workflow], workflow_id: str
) -> Workflow | None:
    """A search that filters out the chosen workflow must not silently unchoose it."""
    if not workflow_id or project.pk is None or any(w.pixxel_id == workflow_id for w in listed):
        return None
    return Workflow.objects.filter(
        organization=organization, project=project, pixxel_id=workflow_id
    ).first()


def _key_rejected(client: PixxelClient, error: PixxelError) -> bool:
    """A 401/403 to a project's workflows means a refused key, or only a project this key may not
    see: one cheap call (the first page of projects, which any working key may list) tells them
    apart."""
    if error.kind not in (ErrorKind.UNAUTHORIZED, ErrorKind.FORBIDDEN):
        return False
    try:
        client.list_projects(page_num=1, page_size=1)
    except PixxelError as probe:
        return probe.kind in (ErrorKind.UNAUTHORIZED, ErrorKind.FORBIDDEN)
    return False


def _rejected_key_problem(error: PixxelError) -> str:
    return (
        f"Pixxel rejects this organization's API key ({pixxel_answer(error)}): "
        "jobs cannot be submitted until an owner or admin replaces it."
    )


def _checked(
    organization: Organization, opened: tuple[PixxelClient, ApiKey], choice: Choice
) -> tuple[Preflight | None, str]:
    """The chosen workflow's pre-flight, or why there is none (Pixxel's failure, a dropped id)."""
    if not (choice.project_id and choice.workflow_id):
        return None, choice.id_problem
    client, api_key = opened
    try:
        return preflight(
            organization, client, api_key.pk, choice.workflow_id, choice.project_id
        ), ""
    except PixxelError as error:
        return None, error.user_message
