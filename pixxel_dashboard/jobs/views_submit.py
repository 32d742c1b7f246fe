"""The submit page: the form with its pickers and pre-flight panel (whole, or as htmx partials),
and the submission, which these views only read and show: jobs/submission.py decides."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from pixxel_dashboard.accounts.access import get_org_for_user
from pixxel_dashboard.accounts.models import Membership, Organization, Role
from pixxel_dashboard.core.http import AuthenticatedHttpRequest, HtmxHttpRequest
from pixxel_dashboard.costs import budgets

from . import catalog, submission
from .forms import (
    CONFIRM_OVER_BUDGET,
    CONFIRM_VALIDATION_ERRORS,
    Choice,
    SubmitJobForm,
    new_token,
    over_budget_refusal,
    same_token,
)
from .models import Job
from .submission import Result, SubmitOutcome

NEW_TEMPLATE = "jobs/new.html"
# The buttons that only update the form; any other POST is a submission.
FORM_ACTIONS = {"show", "search", "refresh", "check"}
# What the member is told when a submission takes them away from the form.
LEAVING_MESSAGES = {
    Result.CREATED: (messages.SUCCESS, "Job submitted."),
    Result.RECONCILED: (
        messages.SUCCESS,
        "Pixxel was slow to answer, but the job was created: here it is "
        "(nothing was submitted twice).",
    ),
    Result.ALREADY_SUBMITTED: (messages.INFO, "This form was already submitted: here is its job."),
    Result.STILL_SUBMITTING: (
        messages.INFO,
        "This submission is still being processed. It will appear in the job history "
        "shortly; do not submit again.",
    ),
}
# The status of the form shown again, by what stopped the submission.
FORM_AGAIN_STATUS = {
    Result.NEEDS_CONFIRMATION: 400,
    Result.OVER_BUDGET: 403,
    Result.REJECTED: 400,
    Result.RATE_LIMITED: 429,
    Result.FAILED: 502,
}


@login_required
@require_http_methods(["GET", "POST"])
def submit_job(request: AuthenticatedHttpRequest, org: str) -> HttpResponse:
    organization, membership = get_org_for_user(request, org, role=Role.MEMBER)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in FORM_ACTIONS:
            return _update_form(request, membership, action)
        return _submit(request, membership)
    refresh = bool(request.GET.get("refresh"))
    return render(request, NEW_TEMPLATE, _form_from_query(membership, request.GET, refresh=refresh))


@login_required
@require_GET
@vary_on_headers("HX-Request")
def workflow_options(request: HtmxHttpRequest, org: str) -> HttpResponse:
    """The workflow picker for the chosen project (htmx), searchable by name."""
    organization, membership = get_org_for_user(request, org, role=Role.MEMBER)
    context = _form_from_query(membership, request.GET, check=False)
    template = NEW_TEMPLATE + "#workflow-field" if request.htmx else NEW_TEMPLATE
    return render(request, template, context)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def preflight(request: HtmxHttpRequest, org: str) -> HttpResponse:
    """The pre-flight panel for the chosen workflow (htmx): estimate and validation errors."""
    organization, membership = get_org_for_user(request, org, role=Role.MEMBER)
    if request.htmx:
        # The panel alone: the pickers around it are on the page already.
        context = _form_from_query(membership, request.GET, lists=False)
        return render(request, NEW_TEMPLATE + "#preflight", context)
    return render(request, NEW_TEMPLATE, _form_from_query(membership, request.GET))


def _update_form(request: HtmxHttpRequest, membership: Membership, action: str) -> HttpResponse:
    """Show, Search, Refresh or Check, posted with the form (no JavaScript, or htmx for Refresh).

    POST, not GET: the form carries the CSRF and one-time tokens, which must not end up in a URL.
    Nothing is attempted, so the token stays. An htmx request gets only the pickers (every choice
    kept), whichever button sent it.
    """
    context = _form_from_query(
        membership,
        request.POST,
        token=same_token(request.POST.get("token", "")),
        refresh=action == "refresh",
        check=not request.htmx,
    )
    if request.htmx:
        response = render(request, NEW_TEMPLATE + "#pickers", context)
        return reswap(retarget(response, "#pickers"), "innerHTML")
    return render(request, NEW_TEMPLATE, context)


def _form_from_query(
    membership: Membership,
    params: QueryDict,
    *,
    token: str = "",
    refresh: bool = False,
    lists: bool = True,
    check: bool = True,
) -> dict:
    """The page as a query (GET) or a form-updating POST left the form; a new token unless given."""
    repeat_of = _job_to_run_again(membership.organization, params.get("repeat", ""))
    choice = Choice.from_params(params, repeat_of)
    with catalog.Connection(membership.organization) as pixxel:
        shown = catalog.pickers(
            pixxel, membership, choice, refresh=refresh, lists=lists, check=check
        )
    form = SubmitJobForm.refilled(params, choice, token or new_token())
    return _context(membership, form, shown, repeat_of=repeat_of)


def _job_to_run_again(organization: Organization, pixxel_id: str) -> Job | None:
    if not pixxel_id:
        return None
    return get_object_or_404(Job, organization=organization, pixxel_id=pixxel_id)


def _submit(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    """A submission: the form is read here, the service decides, the outcome picks the answer."""
    form = SubmitJobForm(request.POST)
    with catalog.Connection(membership.organization) as pixxel:
        if not form.is_valid():
            return _form_again(request, membership, pixxel, form.again(), status=400)
        order = _order(request, membership, form)
        outcome = submission.submit(pixxel, order)
        if outcome.result in LEAVING_MESSAGES:
            return _leave_form(request, membership.organization, outcome)
        return _show_what_stopped(request, membership, pixxel, form, outcome, order.repeat_of)


def _order(
    request: AuthenticatedHttpRequest, membership: Membership, form: SubmitJobForm
) -> submission.Order:
    data = form.cleaned_data
    repeat_of = None
    if data["repeat"]:
        # A job that is gone (or never was ours) is simply not linked: the submission goes ahead.
        repeat_of = Job.objects.filter(
            organization=membership.organization, pixxel_id=data["repeat"]
        ).first()
    return submission.Order(
        membership=membership,
        user=request.user,
        token=data["token"],
        project_id=data["project_pixxel_id"],
        workflow_id=data["workflow_pixxel_id"],
        confirmed_validation_errors=data["confirm_validation_errors"],
        confirmed_over_budget=data["confirm_over_budget"],
        estimate_seen=data["estimate_seen"],
        repeat_of=repeat_of,
    )


def _leave_form(
    request: HtmxHttpRequest, organization: Organization, outcome: SubmitOutcome
) -> HttpResponse:
    level, message = LEAVING_MESSAGES[outcome.result]
    messages.add_message(request, level, message)
    # Still submitting: the job appears in the history once the first request has it.
    job = outcome.job
    url = job.get_absolute_url() if job else reverse("job_list", args=[organization.slug])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _show_what_stopped(
    request: HtmxHttpRequest,
    membership: Membership,
    pixxel: catalog.Connection,
    form: SubmitJobForm,
    outcome: SubmitOutcome,
    repeat_of: Job | None,
) -> HttpResponse:
    """The form again with the member's input and why nothing was submitted."""
    # Nothing was attempted when a confirmation is missing or refused: the token stays valid.
    nothing_attempted = outcome.result in (Result.NEEDS_CONFIRMATION, Result.OVER_BUDGET)
    again = form.again(keep_token=nothing_attempted)
    if outcome.needs_validation_confirmation and not form.cleaned_data["confirm_validation_errors"]:
        again.add_error("confirm_validation_errors", CONFIRM_VALIDATION_ERRORS)
    if outcome.needs_budget_confirmation and not form.cleaned_data["confirm_over_budget"]:
        again.add_error("confirm_over_budget", CONFIRM_OVER_BUDGET)
    if outcome.result is Result.OVER_BUDGET:
        again.add_error(None, over_budget_refusal(budgets.approvers(membership.organization)))
    status = FORM_AGAIN_STATUS[outcome.result]
    return _form_again(request, membership, pixxel, again, status, outcome, repeat_of)


def _form_again(
    request: HtmxHttpRequest,
    membership: Membership,
    pixxel: catalog.Connection,
    form: SubmitJobForm,
    status: int,
    outcome: SubmitOutcome | None = None,
    repeat_of: Job | None = None,
) -> HttpResponse:
    """The member's input shown again, with its errors (htmx: the panel only)."""
    choice = Choice.from_params(form.data, search=False)
    # After an attempt the panel shows what it learnt: checking again would only repeat the calls
    # that just failed.
    checks = outcome.checks if outcome else None
    shown = catalog.pickers(pixxel, membership, choice, check=outcome is None, checks=checks)
    attempt = outcome.submission if outcome else None
    page: dict = {"repeat_of": repeat_of, "submission": attempt}
    if outcome is not None and outcome.budget is not None:
        page["budget"] = outcome.budget  # what the submission was checked against
    context = _context(membership, form, shown, **page)
    template = NEW_TEMPLATE + "#submit-panel" if request.htmx else NEW_TEMPLATE
    return render(request, template, context, status=status)


def _budget(membership: Membership, shown: catalog.Pickers) -> budgets.BudgetCheck | None:
    """The chosen project's budget beside the pre-flight's estimate (the server's own)."""
    if shown.preflight is None:
        return None
    return budgets.check_estimate(
        membership.organization, shown.project_id, shown.preflight.estimated_cost
    )


def _context(
    membership: Membership, form: SubmitJobForm, shown: catalog.Pickers, **page: object
) -> dict:
    # The pickers' fields by name: the page and each of its partials read them so.
    if "budget" not in page:
        page["budget"] = _budget(membership, shown)
    return {
        "organization": membership.organization,
        "membership": membership,
        "may_overspend": budgets.may_overspend(membership),
        "form": form,
        **vars(shown),
        **page,
    }
