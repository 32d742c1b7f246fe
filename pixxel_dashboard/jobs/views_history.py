"""The team's job history, and bringing in jobs created outside the dashboard."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseForbidden, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from pixxel_dashboard.accounts.access import get_org_for_user
from pixxel_dashboard.accounts.models import Role
from pixxel_dashboard.core.http import HtmxHttpRequest
from pixxel_dashboard.keys import KeyProblem
from pixxel_dashboard.keys import services as keys
from pixxel_dashboard.pixxel import PixxelError

from . import history
from .forms import ImportJobsForm
from .models import Status
from .submission import import_workflow_jobs

TEMPLATE = "jobs/list.html"
# The visible running rows are polled as one; a job row changes at most every few seconds.
LIVE_POLL_SECONDS = 5


@login_required
@require_GET
@vary_on_headers("HX-Request")
def job_list(request: HtmxHttpRequest, org: str) -> HttpResponse:
    """The team's jobs (or failed submissions): filters, sort and page all in the query string."""
    organization, membership = get_org_for_user(request, org)
    query = history.parse_query(request.GET)
    choices = history.Choices.of(organization)
    if query.show == history.FAILED_SUBMISSIONS:
        page = history.failed_submission_page(organization, query, choices)
    else:
        page = history.job_page(organization, query, choices)
    context = {
        "organization": organization,
        "membership": membership,
        "query": query,
        "choices": choices,
        "page": page,
        "statuses": Status.choices,
        "sorts": history.SORT_CHOICES,
        "links": _links(request, organization, query, page),
        "workflow_known": any(w.pixxel_id == query.workflow for w in choices.workflows),
        "member_known": choices.member(query.by) is not None,
        "live": _live_context(organization, page.rows if query.show == history.JOBS else []),
        "has_api_key": keys.active_key(organization) is not None,
        "none": history.NONE,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, TEMPLATE + "#results", {**context, "announce": True})
    context["import_form"] = ImportJobsForm(initial={"workflow_id": query.workflow})
    return render(request, TEMPLATE, context)


def _links(request, organization, query: history.HistoryQuery, page: history.Page) -> dict:
    """Every link of the page, each a whole view in the query string (bookmarkable, shareable)."""
    here = reverse("job_list", args=[organization.slug])
    view = query.params().urlencode()

    def to(**changes) -> str:
        params = query.params(**changes).urlencode()
        return f"{here}?{params}" if params else here

    return {
        "first": to(),
        "next": to(after=page.next_after) if page.next_after else "",
        "prev": to(before=page.prev_before) if page.prev_before else "",
        "last": to(last=True),
        "clear": to(
            statuses=(),
            project="",
            workflow="",
            by="",
            since=None,
            until=None,
            text="",
            over_estimate=False,
            followed_by="",
        ),
        "mine": to(by=request.user.get_username()),
        "tab_jobs": to(show=history.JOBS),
        "tab_failed": to(show=history.FAILED_SUBMISSIONS),
        "csv": reverse("job_list_csv", args=[organization.slug]) + (f"?{view}" if view else ""),
    }


def _live_context(organization, rows: list[history.HistoryRow], oob: bool = False) -> dict:
    """The one poller of the visible rows that will still change (none: no poller)."""
    live = [row for row in rows if row.live]
    params = QueryDict(mutable=True)
    params.setlist("job", [f"{row.job.pixxel_id}.{row.job.version}" for row in live])
    return {
        "url": reverse("job_list_live", args=[organization.slug]) + "?" + params.urlencode()
        if live
        else "",
        "seconds": LIVE_POLL_SECONDS,
        "oob": oob,
    }


@require_GET
@never_cache
def job_list_live(request: HtmxHttpRequest, org: str) -> HttpResponse:
    """The visible running rows, as one poll: 204 when none changed, the changed rows (out of
    band) when some did, and 286 (stop polling) once none of them is running any more."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden()
    organization, membership = get_org_for_user(request, org)
    seen = history.parse_seen(request.GET.getlist("job"))
    changed, still_live = history.live_rows(organization, seen)
    if not changed and still_live:
        return HttpResponse(status=204)
    live = _live_context(organization, still_live, oob=True)
    context = {"organization": organization, "changed": changed, "live": live}
    return render(
        request,
        TEMPLATE + "#live_rows",
        context,
        status=200 if still_live else HTMX_STOP_POLLING,
    )


@login_required
@require_GET
def export_csv(request: HtmxHttpRequest, org: str) -> StreamingHttpResponse:
    """Every row of the current view (not one page) as CSV, streamed in constant memory."""
    organization, membership = get_org_for_user(request, org)
    query = history.parse_query(request.GET)
    choices = history.Choices.of(organization)
    what = "failed-submissions" if query.show == history.FAILED_SUBMISSIONS else "jobs"
    filename = f"{organization.slug}-{what}-{timezone.localdate().isoformat()}.csv"
    return StreamingHttpResponse(
        history.csv_lines(organization, query, choices),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition_header(True, filename)},
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
