"""The team's job history, and bringing in jobs created outside the dashboard."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from pixxel_dashboard.accounts.access import get_org_for_user
from pixxel_dashboard.accounts.models import Role
from pixxel_dashboard.core.http import HtmxHttpRequest
from pixxel_dashboard.keys import KeyProblem
from pixxel_dashboard.keys import services as keys
from pixxel_dashboard.pixxel import PixxelError

from .forms import ImportJobsForm
from .models import Job, Outcome, Project, Status, Submission
from .submission import import_workflow_jobs


@login_required
@require_GET
def job_list(request: HtmxHttpRequest, org: str) -> HttpResponse:
    """The team's jobs and failed submissions (a first cut; filters in the query string)."""
    organization, membership = get_org_for_user(request, org)
    jobs = Job.objects.filter(organization=organization).select_related(
        "organization", "project", "workflow", "submitted_by"
    )
    filters = {
        "status": request.GET.get("status", ""),
        "workflow": request.GET.get("workflow", ""),
        "project": request.GET.get("project", ""),
    }
    if filters["status"] in Status.values:
        jobs = jobs.filter(status=filters["status"])
    if filters["workflow"]:
        jobs = jobs.filter(workflow_pixxel_id=filters["workflow"])
    if filters["project"]:
        jobs = jobs.filter(project__pixxel_id=filters["project"])
    page = Paginator(jobs.order_by("-created_at"), 50).get_page(request.GET.get("page"))
    failures = (
        Submission.objects.filter(organization=organization, outcome=Outcome.FAILED)
        .select_related("user", "project", "workflow")
        .order_by("-created_at")[:20]
    )
    return render(
        request,
        "jobs/list.html",
        {
            "organization": organization,
            "membership": membership,
            "page": page,
            "failures": failures,
            "filters": filters,
            "statuses": Status.choices,
            "projects": Project.objects.filter(organization=organization),
            "import_form": ImportJobsForm(initial={"workflow_id": filters["workflow"]}),
            "has_api_key": keys.active_key(organization) is not None,
        },
    )


@login_required
@require_POST
def import_jobs(request: HtmxHttpRequest, org: str) -> HttpResponse:
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    form = ImportJobsForm(request.POST)
    back = reverse("job_list", args=[organization.slug])
    if not form.is_valid():
        typed = [
            str(error)  # an ErrorList yields its messages (the stubs say ValidationError too)
            for field in ("workflow_id", "project_id")
            for error in form.errors.get(field, ())
        ]
        if form.data.get("workflow_id", "").strip() and typed:
            messages.error(request, f"Nothing imported. {' '.join(typed)}")
        else:
            messages.error(request, "Give the id of the workflow whose jobs to import.")
        return redirect(back)
    workflow_id = form.cleaned_data["workflow_id"].strip()
    try:
        client, api_key = keys.client_for_organization(organization)
        with client:
            result = import_workflow_jobs(
                organization,
                client,
                api_key,
                workflow_id,
                form.cleaned_data["project_id"].strip(),
                actor=request.user,
            )
    except (KeyProblem, PixxelError) as problem:
        messages.error(request, f"Nothing imported. {problem.user_message}")
        return redirect(back)
    messages.success(
        request,
        f"Imported {len(result.imported)} job{'s' if len(result.imported) != 1 else ''} "
        f"of workflow {workflow_id} ({result.already_known} already here).",
    )
    return redirect(f"{back}?workflow={workflow_id}")
