import uuid
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from pixxel_dashboard.accounts.access import get_org_for_user
from pixxel_dashboard.accounts.models import Role
from pixxel_dashboard.core.http import HtmxHttpRequest
from pixxel_dashboard.keys import services as keys
from pixxel_dashboard.keys.crypto import KeyUnreadable
from pixxel_dashboard.pixxel import FORBIDDEN, UNAUTHORIZED, PixxelError

from . import catalog
from . import submission as submit
from .forms import ImportJobsForm, SubmitJobForm, chosen_ids, new_token, validate_pixxel_id
from .models import Job, Outcome, Project, Status, Submission, Workflow

NEW_TEMPLATE = "jobs/new.html"


@dataclass
class Picker:
    """Everything the submit form shows, built the same way for GET, partials and failed POSTs."""

    organization: object
    membership: object
    form: SubmitJobForm
    project_id: str = ""
    workflow_id: str = ""
    projects: list = field(default_factory=list)
    workflows: list = field(default_factory=list)
    workflow_query: str = ""
    kept_workflow: object = None
    preflight: catalog.Preflight | None = None
    preflight_error: str = ""
    key_problem: str = ""
    catalog_problem: str = ""
    submission: Submission | None = None
    repeat_of: Job | None = None
    client: object = None
    api_key: object = None

    def context(self, **extra):
        # The client and key stay in the view: templates have no business with them.
        shown = {k: v for k, v in self.__dict__.items() if k not in ("client", "api_key")}
        return {**shown, "estimate_seen": self.signed_estimate(), **extra}

    def signed_estimate(self) -> str:
        if self.preflight is None:
            return ""
        return catalog.sign_estimate(
            self.membership, self.project_id, self.workflow_id, self.preflight.estimated_cost
        )


def _connect(picker: Picker) -> None:
    """The organization's client, made once per request (it also stamps the key's last use)."""
    if picker.client is not None or picker.key_problem:
        return
    try:
        picker.client, picker.api_key = keys.client_for_organization(picker.organization)
    except (keys.NoActiveKey, KeyUnreadable) as problem:
        picker.key_problem = problem.user_message


def _load(picker: Picker, refresh=False, want_preflight=True) -> Picker:
    """Fill the pickers (and the pre-flight panel) from the local catalog and Pixxel."""
    _connect(picker)
    try:
        picker.projects = catalog.projects(picker.organization, picker.client, refresh=refresh)
        project = next((p for p in picker.projects if p.pixxel_id == picker.project_id), None)
        if project is None and picker.project_id:
            # Unsaved: a typed id is looked up, never stored, by a GET.
            project = Project(organization=picker.organization, pixxel_id=picker.project_id)
        if project is not None:
            picker.workflows = catalog.workflows(
                picker.organization,
                picker.client,
                project,
                query=picker.workflow_query,
                refresh=refresh,
            )
            _keep_chosen_workflow(picker, project)
    except PixxelError as error:
        if _key_rejected(picker, error):
            picker.key_problem = (
                f"Pixxel rejects this organization's API key ({keys.pixxel_answer(error)}): "
                "jobs cannot be submitted until an owner or admin replaces it."
            )
        else:
            picker.catalog_problem = error.user_message
    if want_preflight and not picker.key_problem:
        _run_preflight(picker)
    return picker


def _keep_chosen_workflow(picker: Picker, project) -> None:
    """A search that filters out the chosen workflow must not silently unchoose it."""
    if not picker.workflow_id or any(w.pixxel_id == picker.workflow_id for w in picker.workflows):
        return
    picker.kept_workflow = Workflow.objects.filter(
        organization=picker.organization, project=project, pixxel_id=picker.workflow_id
    ).first()


def _key_rejected(picker: Picker, error: PixxelError) -> bool:
    """A 401/403 means a refused key, or only a project this key may not see: one cheap call
    (the first page of projects, which any working key may list) tells them apart."""
    if error.kind not in (UNAUTHORIZED, FORBIDDEN):
        return False
    try:
        picker.client.list_projects(page_num=1, page_size=1)
    except PixxelError as probe:
        return probe.kind in (UNAUTHORIZED, FORBIDDEN)
    return False


def _run_preflight(picker: Picker) -> None:
    if picker.client and picker.project_id and picker.workflow_id:
        try:
            picker.preflight = catalog.preflight(
                picker.organization,
                picker.client,
                picker.api_key.pk,
                picker.workflow_id,
                picker.project_id,
            )
        except PixxelError as error:
            picker.preflight_error = error.user_message


def _drop_impossible_ids(picker: Picker) -> None:
    """An id no Pixxel object can have is neither looked up at Pixxel nor kept: the panel says why."""
    for chosen in (picker.project_id, picker.workflow_id):
        try:
            if chosen:
                validate_pixxel_id(chosen)
        except ValidationError as error:
            picker.project_id = picker.workflow_id = ""
            picker.preflight_error = error.messages[0]


def _picker_from_query(request, organization, membership, params=None, token="") -> Picker:
    """The form as a query (GET) or a form-updating POST (`params`, keeping its `token`) left it."""
    params = request.GET if params is None else params
    picker = Picker(organization=organization, membership=membership, form=None)
    repeat = params.get("repeat", "")
    if repeat:
        picker.repeat_of = get_object_or_404(Job, organization=organization, pixxel_id=repeat)
        picker.project_id = picker.repeat_of.project.pixxel_id if picker.repeat_of.project else ""
        picker.workflow_id = picker.repeat_of.workflow_pixxel_id
    project_id, workflow_id = chosen_ids(params)
    picker.project_id = project_id or picker.project_id
    picker.workflow_id = workflow_id or picker.workflow_id
    _drop_impossible_ids(picker)
    picker.workflow_query = params.get("q", "").strip()
    picker.form = SubmitJobForm(
        initial={
            "project": picker.project_id,
            "workflow": picker.workflow_id,
            "project_id": params.get("project_id", "").strip(),
            "workflow_id": params.get("workflow_id", "").strip(),
            "confirm_validation_errors": bool(params.get("confirm_validation_errors")),
            "token": token or new_token(),
            "repeat": repeat,
        }
    )
    return picker


# The buttons that only update the form; any other POST is a submission.
FORM_ACTIONS = {"show", "search", "refresh", "check"}


def _same_token(value: str) -> str:
    """The form's one-time token, kept while the form is only being updated (nothing attempted)."""
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError):
        return ""


def _update_form(request, organization, membership, action: str):
    """Show, Search, Refresh or Check, posted with the form (no JavaScript, or htmx for Refresh).

    POST, not GET: the form carries the CSRF and one-time tokens, which must not end up in a URL.
    An htmx request gets only the pickers (every choice kept), whichever button sent it.
    """
    picker = _picker_from_query(
        request,
        organization,
        membership,
        params=request.POST,
        token=_same_token(request.POST.get("token", "")),
    )
    _load(picker, refresh=action == "refresh", want_preflight=not request.htmx)
    if request.htmx:
        response = render(request, NEW_TEMPLATE + "#pickers", picker.context())
        return reswap(retarget(response, "#pickers"), "innerHTML")
    return render(request, NEW_TEMPLATE, picker.context())


@login_required
@require_http_methods(["GET", "POST"])
def submit_job(request: HtmxHttpRequest, org: str):
    organization, membership = get_org_for_user(request, org, role=Role.MEMBER)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in FORM_ACTIONS:
            return _update_form(request, organization, membership, action)
        return _post_submission(request, organization, membership)
    picker = _picker_from_query(request, organization, membership)
    _load(picker, refresh=bool(request.GET.get("refresh")))
    return render(request, NEW_TEMPLATE, picker.context())


@login_required
@require_GET
@vary_on_headers("HX-Request")
def workflow_options(request: HtmxHttpRequest, org: str):
    """The workflow picker for the chosen project (htmx), searchable by name."""
    organization, membership = get_org_for_user(request, org, role=Role.MEMBER)
    picker = _load(_picker_from_query(request, organization, membership), want_preflight=False)
    template = NEW_TEMPLATE + "#workflow-field" if request.htmx else NEW_TEMPLATE
    return render(request, template, picker.context())


@login_required
@require_GET
@vary_on_headers("HX-Request")
def preflight(request: HtmxHttpRequest, org: str):
    """The pre-flight panel for the chosen workflow (htmx): estimate and validation errors."""
    organization, membership = get_org_for_user(request, org, role=Role.MEMBER)
    picker = _picker_from_query(request, organization, membership)
    if request.htmx:
        _connect(picker)
        _run_preflight(picker)
        return render(request, NEW_TEMPLATE + "#preflight", picker.context())
    _load(picker)
    return render(request, NEW_TEMPLATE, picker.context())


def _post_submission(request, organization, membership):
    form = SubmitJobForm(request.POST)
    picker = Picker(organization=organization, membership=membership, form=form)
    picker.project_id, picker.workflow_id = chosen_ids(request.POST)
    if not form.is_valid():
        _drop_impossible_ids(picker)
        return _form_again(request, picker, status=400)
    data = form.cleaned_data
    if data["repeat"]:
        picker.repeat_of = Job.objects.filter(
            organization=organization, pixxel_id=data["repeat"]
        ).first()

    # A replayed or concurrent POST with a spent token never reaches Pixxel again.
    previous = submit.existing_submission(organization, data["token"])
    if previous is not None:
        return _answer(request, picker, submit.wait_for(previous), replay=True)

    req = submit.SubmitRequest(
        organization=organization,
        user=request.user,
        token=data["token"],
        project_id=data["project_pixxel_id"],
        workflow_id=data["workflow_pixxel_id"],
        repeat_of=picker.repeat_of,
        confirmed_validation_errors=data["confirm_validation_errors"],
    )
    _connect(picker)
    if picker.key_problem:
        submission = submit.record_local_failure(req, picker.key_problem, kind="no_key")
        return _answer(request, picker, submission)
    try:
        checks = catalog.preflight(
            organization, picker.client, picker.api_key.pk, req.workflow_id, req.project_id
        )
    except PixxelError as error:
        return _answer(request, picker, submit.record_failure(req, error))
    picker.preflight = checks
    catalog.remember(organization, picker.client, req.project_id, req.workflow_id, checks)
    if checks.val_errors and not req.confirmed_validation_errors:
        # Nothing was attempted: the same token stays valid for the confirmed POST.
        return _form_again(
            request,
            picker,
            status=400,
            keep_token=True,
            error=(
                "confirm_validation_errors",
                "This workflow has validation errors (listed below). "
                "Tick the box to submit anyway.",
            ),
        )
    # Keep the estimate the server showed this member (signed on the form), else the fresh one:
    # a number typed into the POST is never trusted.
    shown = catalog.estimate_shown(
        data["estimate_seen"], membership, req.project_id, req.workflow_id
    )
    req.estimated_cost = shown if shown is not None else checks.estimated_cost
    submission = submit.submit(req, picker.client, picker.api_key)
    return _answer(request, picker, submission)


def _answer(request, picker: Picker, submission: Submission, replay=False):
    if submission.succeeded and submission.job_id:
        url = submission.job.get_absolute_url()
        if replay:
            messages.info(request, "This form was already submitted: here is its job.")
        elif submission.outcome == Outcome.RECONCILED:
            messages.success(
                request,
                "Pixxel was slow to answer, but the job was created: here it is "
                "(nothing was submitted twice).",
            )
        else:
            messages.success(request, "Job submitted.")
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if submission.outcome == Outcome.PENDING:
        messages.info(
            request,
            "This submission is still being processed. It will appear in the job history "
            "shortly; do not submit again.",
        )
        url = reverse("job_list", args=[picker.organization.slug])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    picker.submission = submission
    if submission.error_kind == submit.RATE_LIMITED:
        return _form_again(request, picker, status=429)
    return _form_again(request, picker, status=502 if submission.http_status != 400 else 400)


def _form_again(request, picker: Picker, status: int, keep_token=False, error=None):
    """Re-render the form with the member's input; a fresh token unless nothing was attempted."""
    data = picker.form.data.copy()
    if not keep_token:
        data["token"] = new_token()
    picker.form = SubmitJobForm(data)
    picker.form.is_valid()
    if error:
        picker.form.add_error(*error)
    # After a failed submission the panel would only repeat the calls that just failed.
    _load(picker, want_preflight=picker.preflight is None and picker.submission is None)
    template = NEW_TEMPLATE + "#submit-panel" if request.htmx else NEW_TEMPLATE
    return render(request, template, picker.context(), status=status)


# --- history ---------------------------------------------------------------------------------


@login_required
@require_GET
def job_list(request: HtmxHttpRequest, org: str):
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
def import_jobs(request: HtmxHttpRequest, org: str):
    organization, membership = get_org_for_user(request, org, role=Role.ADMIN)
    form = ImportJobsForm(request.POST)
    back = reverse("job_list", args=[organization.slug])
    if not form.is_valid():
        typed = [
            error for field in ("workflow_id", "project_id") for error in form.errors.get(field, ())
        ]
        if form.data.get("workflow_id", "").strip() and typed:
            messages.error(request, f"Nothing imported. {' '.join(typed)}")
        else:
            messages.error(request, "Give the id of the workflow whose jobs to import.")
        return redirect(back)
    workflow_id = form.cleaned_data["workflow_id"].strip()
    try:
        client, api_key = keys.client_for_organization(organization)
        result = submit.import_workflow_jobs(
            organization,
            client,
            api_key,
            workflow_id,
            form.cleaned_data["project_id"].strip(),
            actor=request.user,
        )
    except (keys.NoActiveKey, KeyUnreadable, PixxelError) as problem:
        messages.error(request, f"Nothing imported. {problem.user_message}")
        return redirect(back)
    messages.success(
        request,
        f"Imported {len(result.imported)} job{'s' if len(result.imported) != 1 else ''} "
        f"of workflow {workflow_id} ({result.already_known} already here).",
    )
    return redirect(f"{back}?workflow={workflow_id}")
