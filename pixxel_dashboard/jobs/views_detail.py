"""One job's page, its live poll, a task opened, downloads and task logs.

The poll follows healthchecks' `status_single`: anonymous → 403 (not a login redirect), nothing
changed → 204 (htmx swaps nothing), changed → the header, graph, timeline and the task rows that
changed as out-of-band fragments, terminal or sync stopped for good → 286
(`HTMX_STOP_POLLING`) with the final fragments and no trigger left.
"""

import logging
import zlib
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HTMX_STOP_POLLING

from pixxel_dashboard.accounts.access import get_org_for_user
from pixxel_dashboard.accounts.models import Role
from pixxel_dashboard.core.durations import format_duration
from pixxel_dashboard.core.http import HtmxHttpRequest
from pixxel_dashboard.keys import KeyProblem
from pixxel_dashboard.keys.services import client_for_organization
from pixxel_dashboard.pixxel import PixxelError
from pixxel_dashboard.pixxel.client import opens_download

from . import dependencies, detail, poll_pass
from .models import Job, JobValidationError, Status, Task
from .sync import refresh_if_stale, sync_due, sync_interval

logger = logging.getLogger(__name__)

TEMPLATE = "jobs/detail.html"
POLL_SECONDS = 3
# A task's inputs, result, logs and raw document can be large: the page and its poll never load
# them for the whole job, only the task opened (and the failed ones, whose error shows at once).
HEAVY_TASK_FIELDS = ("inputs", "result", "info_logs", "raw")
# Query parameters that say what the page shows; its poll carries them along.
VIEW_PARAMS = ("log_q", "p", "band")
# Progress is spoken (the page's polite live region) once per this many percent, no more often.
ANNOUNCE_STEP = 10


def _get_job(
    request,
    org: str,
    job_id: str,
    role: str = Role.VIEWER,
    *,
    light: bool = False,
    read: Job | None = None,
):
    """The org's job row: its raw Pixxel document and workflow spec (MBs for a large job) are
    not in it but in its JobDocument, read only if a graph needs the spec; `light` (the poll):
    only what tells whether anything changed. `read`: what a poll pass already read of the row,
    used once the membership is checked and it proves to be this organization's job."""
    organization, membership = get_org_for_user(request, org, role=role)
    if read is not None and (read.organization_id, read.pixxel_id) == (organization.pk, job_id):
        read.organization = organization
        return organization, membership, read
    rows = Job.objects.select_related("organization")
    if not light:
        rows = rows.select_related("submitted_by", "workflow")
    job = get_object_or_404(rows, organization=organization, pixxel_id=job_id)
    return organization, membership, job


def _refresh(job: Job) -> bool:
    """True if Pixxel was asked (the stored row may have changed)."""
    # A failed refresh must never break the page: it shows what is stored, and says how old it is.
    try:
        return refresh_if_stale(job)
    except Exception:
        logger.exception("inline refresh of job %s failed", job.pk)
        return True


def live_token(job: Job) -> str:
    """What the page has: changes with content (version) and with the sync note (failures)."""
    return f"{job.version}.{job.sync_failures}.{int(job.sync_stopped)}"


# What decides an unchanged poll: the live token, whether it still polls, whether a sync is due.
_DECIDING = (
    "id",
    "organization",
    "pixxel_id",
    "version",
    "sync_failures",
    "sync_stopped",
    "status",
    "status_raw",
    "last_synced_at",
    "sync_claimed_at",
    "pixxel_created_at",
    "created_at",
)
_DECIDING_COLUMNS = [f'"{f.column}"' for f in Job._meta.concrete_fields if f.name in _DECIDING]
_DECIDING_BY_KEY = (
    f'SELECT {", ".join(_DECIDING_COLUMNS)} FROM "{Job._meta.db_table}" '  # noqa: S608
    f'WHERE "{Job._meta.pk.column}" = %s'
)


def _read_on_pass(request, org: str, job_id: str) -> Job | None:
    """What decides an unchanged poll, read by the job's key, when the request carries a poll
    pass for it (poll_pass.py); None without one. The pass vouches for nothing but "this row may
    say nothing changed"."""
    pk = poll_pass.job_pk(request, org, job_id)
    if pk is None:
        return None
    # Raw SQL of a few columns: the ORM's compiling and converting of the job's many columns cost
    # more than the whole rest of this answer (cProfile).
    return next(iter(Job.objects.raw(_DECIDING_BY_KEY, [pk])), None)


def _nothing_new(job: Job, seen: str | None) -> bool:
    """The page is current, the job still polls and no inline refresh is due."""
    return _polling(job) and seen == live_token(job) and not sync_due(job)


def _seen_version(token: str | None) -> int | None:
    """The job version a poll's page shows, from its token; None when it cannot tell."""
    try:
        return int((token or "").split(".")[0])
    except ValueError:
        return None


def _progress_step(job: Job) -> int:
    """How many whole ANNOUNCE_STEPs of progress the job has made."""
    return int((job.progress or 0) // ANNOUNCE_STEP)


def _heard_step(value: str | None) -> int | None:
    """The progress step a poll's page last announced (or showed on load); None: cannot tell."""
    try:
        return int(value or "")
    except ValueError:
        return None


def _polling(job: Job) -> bool:
    """Does the page keep polling? Not once the job ended or Pixxel will tell us no more."""
    return not (job.is_terminal or job.sync_stopped)


def _poll_seconds(job: Job) -> int:
    # A status word we do not know is synced at an aged pace: polling faster would show nothing new.
    if job.status == Status.UNKNOWN and job.status_raw:
        return max(POLL_SECONDS, int(sync_interval(job)))
    return POLL_SECONDS


def _rows_shape(page: detail.JobPage) -> str:
    """Which tasks the table shows, in which order, and which of them are failed or skipped: while
    it stays the same, a poll may replace single rows; when it changes (tasks added, order moved,
    a failure that leaves tasks behind it skipped though their own answers did not change) the
    whole list is re-sent."""
    pks = ",".join(f"{r.task.pk}:{int(r.failed)}{int(r.skipped)}" for r in page.rows)
    return f"{page.task_count}-{zlib.crc32(pks.encode()):x}"


def _is_skipped(job: Job, task: Task) -> bool:
    """Will this task never run (skipped.py)? Only a queued task can be: only then are the job's
    dependencies read."""
    if task.status != Status.QUEUED:
        return False
    return task.pk in dependencies.of(job).skipped


def _log_matches(job: Job, log_q: str) -> set[int] | None:
    """The pks of the tasks whose logs contain `log_q` (None: no search). The search runs in the
    database over the logs' JSON text: a large job's logs are never loaded whole."""
    if not log_q:
        return None
    logs = Task.objects.filter(job=job).annotate(logs_text=Cast("info_logs", TextField()))
    return set(logs.filter(logs_text__icontains=log_q).values_list("pk", flat=True))


def _open_eager_rows(page: detail.JobPage, log_q: str) -> None:
    """Failed tasks show their error at once and a log search its matches: those few tasks are
    opened here (one query), every other task loads when opened."""
    eager = [r for r in page.rows if r.failed or log_q]
    if eager:
        full = Task.objects.in_bulk([r.task.pk for r in eager])
        for row in eager:
            row.view = detail.task_view(full[row.task.pk], log_q, skipped=row.skipped)


def _query_without(kept: dict[str, str], param: str) -> str:
    """The page's view parameters but one, as a query string."""
    return urlencode({k: v for k, v in kept.items() if k != param})


def _job_page(request, job: Job, slug: str, kept: dict[str, str], log_q: str) -> detail.JobPage:
    not_band = _query_without(kept, "band")
    page = detail.job_page(
        job,
        dependencies.of(job),
        list(JobValidationError.objects.filter(job=job)),
        lambda pks: Task.objects.defer(*HEAVY_TASK_FIELDS).in_bulk(pks),
        page_number=request.GET.get("p") or 1,
        only=_log_matches(job, log_q),
        band_number=request.GET.get("band"),
        task_url=lambda t: reverse("task_detail", args=[slug, job.pixxel_id, t.pixxel_id]),
        expand_url="?" + (not_band + "&" if not_band else ""),
    )
    _open_eager_rows(page, log_q)
    return page


def _context(
    request, organization, membership, job: Job, *, oob: bool = False, heard: int | None = None
) -> dict:
    """`heard`: the progress step last announced (the page's own on load)."""
    log_q = request.GET.get("log_q", "")[:200]
    kept = {k: request.GET[k][:200] for k in VIEW_PARAMS if request.GET.get(k)}
    slug = organization.slug
    page = _job_page(request, job, slug, kept, log_q)
    heard = _progress_step(job) if heard is None else heard
    poll_query = urlencode(
        {"v": live_token(job), "s": job.status, "a": heard, "rows": _rows_shape(page), **kept}
    )
    return {
        "organization": organization,
        "membership": membership,
        "job": job,
        "page": page,
        "log_q": log_q,
        "oob": oob,
        "changed_rows": None,  # the whole task list; a poll narrows it to the rows that changed
        "token": live_token(job),
        "polling": _polling(job),
        "poll_url": reverse("job_poll", args=[slug, job.pixxel_id]) + "?" + poll_query,
        # Links within the page keep these (not the poll's own parameters): {% querystring %}.
        "view_params": kept,
        "synced_ago": format_duration(
            (timezone.now() - job.last_synced_at).total_seconds() if job.last_synced_at else None
        ),
        "poll_seconds": _poll_seconds(job),
        "can_submit": membership.can_submit,
        "estimate": job.estimated_cost
        if job.estimated_cost is not None
        else (job.workflow.estimated_cost if job.workflow else None),
        "workflow_jobs_url": reverse("job_list", args=[slug])
        + f"?workflow={quote(job.workflow_pixxel_id)}",
        "run_again_url": reverse("submit_job", args=[slug]) + f"?repeat={quote(job.pixxel_id)}",
    }


@login_required
@require_GET
@never_cache
def job_detail(request: HtmxHttpRequest, org: str, job: str):
    organization, membership, job_obj = _get_job(request, org, job)
    _refresh(job_obj)
    response = render(request, TEMPLATE, _context(request, organization, membership, job_obj))
    if _polling(job_obj):
        poll_pass.attach(request, response, job_obj)
    return response


@require_GET
@never_cache
def job_poll(request: HtmxHttpRequest, org: str, job: str):
    # Most polls find nothing new: with a pass that is the one read of the job row by its key,
    # no session, user or membership; every other answer goes the full, checked path below.
    passed = _read_on_pass(request, org, job)
    if passed is not None and _nothing_new(passed, request.GET.get("v")):
        return HttpResponse(status=204)
    if not request.user.is_authenticated:
        return HttpResponseForbidden()
    # Nothing changed is the common answer: it must cost the same for 2,000 tasks as for 10, so it
    # is decided on the job row alone (no tasks, no raw document, no spec). What the pass read is
    # reused unless a sync is due (a sync needs the whole row).
    reused = passed if passed is not None and not sync_due(passed) else None
    light = passed is None
    organization, membership, job_obj = _get_job(request, org, job, light=light, read=reused)
    refreshed = job_obj is not reused and _refresh(job_obj)
    seen = request.GET.get("v")
    unchanged = seen == live_token(job_obj)
    if unchanged and _polling(job_obj):
        response = HttpResponse(status=204)
        poll_pass.attach(request, response, job_obj)
        return response
    if unchanged:
        # Ended, and the page already shows the end: stop polling, with a poller that has no
        # trigger left.
        return render(
            request,
            TEMPLATE + "#poller",
            {"job": job_obj, "oob": True},
            status=HTMX_STOP_POLLING,
        )
    if light or refreshed or job_obj is reused:
        job_obj = Job.objects.select_related("organization", "submitted_by", "workflow").get(
            pk=job_obj.pk
        )
    # Said once per status, and progress once per ANNOUNCE_STEP it climbs (never when it drops).
    heard = _heard_step(request.GET.get("a"))
    step = _progress_step(job_obj)
    announce = request.GET.get("s") != job_obj.status or (
        _polling(job_obj) and heard is not None and step > heard
    )
    if announce or heard is None:
        heard = step
    context = _context(request, organization, membership, job_obj, oob=True, heard=heard)
    context["announce"] = announce
    # Only the rows that changed since the page's version travel (out of band); a page whose
    # version or rows we cannot tell gets the whole task list.
    seen_version = _seen_version(seen)
    if seen_version is not None and request.GET.get("rows") == _rows_shape(context["page"]):
        context["changed_rows"] = [
            r for r in context["page"].rows if r.task.changed_in > seen_version
        ]
    # 286 tells htmx to stop polling once these last fragments are in.
    if not _polling(job_obj):
        return render(request, TEMPLATE + "#live", context, status=HTMX_STOP_POLLING)
    response = render(request, TEMPLATE + "#live", context)
    poll_pass.attach(request, response, job_obj)
    return response


@login_required
@require_GET
@vary_on_headers("HX-Request")
def task_detail(request: HtmxHttpRequest, org: str, job: str, task: str):
    """One task opened: inputs, result, logs. The job page loads it into the task's <details>
    (htmx); without JavaScript it is the task's own page."""
    organization, membership, job_obj = _get_job(request, org, job)
    task_obj = get_object_or_404(Task, job=job_obj, pixxel_id=task)
    log_q = request.GET.get("log_q", "")[:200]
    context = {
        "organization": organization,
        "membership": membership,
        "job": job_obj,
        "tv": detail.task_view(task_obj, log_q, skipped=_is_skipped(job_obj, task_obj)),
        "log_q": log_q,
    }
    if request.htmx:
        return render(request, TEMPLATE + "#task_body", context)
    return render(request, "jobs/task.html", context)


def _back(job: Job) -> HttpResponseRedirect:
    return redirect(job.get_absolute_url())


def _download(request, organization, membership, job: Job, fetch, what: str):
    """Ask Pixxel for a download package and hand the browser its signed URL.

    Not a redirect: our CSP's `form-action 'self'` also covers where a form's POST redirects to, so
    a 302 to Pixxel's storage would be blocked. The answer is the job page with the link, followed
    at once by a meta refresh (no script), and there to click if it is not.
    """
    try:
        client, _key = client_for_organization(organization)
    except KeyProblem as exc:
        messages.error(request, exc.user_message)
        return _back(job)
    try:
        download = fetch(client)
    except PixxelError as err:
        messages.error(request, err.user_message)
        return _back(job)
    finally:
        client.close()
    if not download.signed_url:
        messages.error(request, "Pixxel has not prepared the download yet. Try again in a minute.")
        return _back(job)
    if not opens_download(download.signed_url, client.base_url):
        messages.error(
            request,
            "Pixxel returned a link the dashboard will not open (it is not an https: link). "
            "Trying again will not help; tell the dashboard's administrators if it keeps happening.",
        )
        return _back(job)
    context = _context(request, organization, membership, job)
    context.update(download_url=download.signed_url, download_what=what)
    return render(request, TEMPLATE, context)


@login_required
@require_POST
def download_job_results(request: HtmxHttpRequest, org: str, job: str):
    organization, membership, job_obj = _get_job(request, org, job)
    if job_obj.status != Status.SUCCEEDED:
        messages.error(request, "Results can be downloaded once the job has succeeded.")
        return _back(job_obj)
    return _download(
        request,
        organization,
        membership,
        job_obj,
        lambda client: client.download_job(job_obj.workflow_pixxel_id, job_obj.pixxel_id),
        "the job's results",
    )


@login_required
@require_POST
def download_task_results(request: HtmxHttpRequest, org: str, job: str, task: str):
    organization, membership, job_obj = _get_job(request, org, job)
    task_obj = get_object_or_404(Task, job=job_obj, pixxel_id=task)
    if task_obj.status != Status.SUCCEEDED:
        messages.error(request, f"{task_obj} has no output to download: it has not succeeded.")
        return _back(job_obj)
    return _download(
        request,
        organization,
        membership,
        job_obj,
        lambda client: client.download_task(
            job_obj.workflow_pixxel_id, job_obj.pixxel_id, task_obj.pixxel_id
        ),
        f"the output of {task_obj}",
    )


@login_required
@require_GET
def task_logs(request: HtmxHttpRequest, org: str, job: str, task: str):
    _organization, _membership, job_obj = _get_job(request, org, job)
    task_obj = get_object_or_404(Task, job=job_obj, pixxel_id=task)
    lines = detail.filter_lines(
        detail.log_lines(task_obj.info_logs), request.GET.get("log_q", "")[:200]
    )
    name = slugify(task_obj.name or task_obj.pixxel_id) or "task"
    response = HttpResponse(
        "\n".join(lines) + ("\n" if lines else ""), content_type="text/plain; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(True, f"{name}-logs.txt")
    return response
