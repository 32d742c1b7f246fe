"""One job's page, its live poll, downloads and task logs.

The poll follows healthchecks' `status_single`: anonymous → 403 (not a login redirect), nothing
changed → 204 (htmx swaps nothing), changed → the regions as out-of-band fragments, terminal → 286
(`HttpResponseStopPolling`) with the final fragments and no trigger left.
"""

import logging
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from pixxel_dashboard.accounts.access import get_org_for_user
from pixxel_dashboard.accounts.models import Role
from pixxel_dashboard.core.http import HtmxHttpRequest
from pixxel_dashboard.keys.crypto import KeyUnreadable
from pixxel_dashboard.keys.services import NoActiveKey, client_for_organization
from pixxel_dashboard.pixxel import PixxelError
from pixxel_dashboard.pixxel.client import opens_download
from pixxel_dashboard.pixxel.parsing import format_duration

from . import detail
from .models import Job, JobValidationError, Status, Task
from .sync import refresh_if_stale

logger = logging.getLogger(__name__)

TEMPLATE = "jobs/detail.html"
POLL_SECONDS = 3


def _get_job(request, org: str, job_id: str, role: str = Role.VIEWER):
    organization, membership = get_org_for_user(request, org, role=role)
    job = get_object_or_404(
        Job.objects.select_related("organization", "submitted_by", "workflow"),
        organization=organization,
        pixxel_id=job_id,
    )
    return organization, membership, job


def _refresh(job: Job) -> None:
    # A failed refresh must never break the page: it shows what is stored, and says how old it is.
    try:
        refresh_if_stale(job)
    except Exception:
        logger.exception("inline refresh of job %s failed", job.pk)


def live_token(job: Job) -> str:
    """What the page has: changes with content (version) and with the sync note (failures)."""
    return f"{job.version}.{job.sync_failures}.{int(job.sync_stopped)}"


def _context(request, organization, membership, job: Job, *, oob: bool = False) -> dict:
    log_q = request.GET.get("log_q", "")[:200]
    tasks = list(Task.objects.filter(job=job))
    errors = list(JobValidationError.objects.filter(job=job))
    page = detail.job_page(job, tasks, errors, log_q)
    slug = organization.slug
    return {
        "organization": organization,
        "membership": membership,
        "job": job,
        "page": page,
        "log_q": log_q,
        "oob": oob,
        "token": live_token(job),
        "synced_ago": format_duration(
            (timezone.now() - job.last_synced_at).total_seconds() if job.last_synced_at else None
        ),
        "poll_seconds": POLL_SECONDS,
        "can_submit": membership.has_role(Role.MEMBER),
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
    return render(request, TEMPLATE, _context(request, organization, membership, job_obj))


@require_GET
@never_cache
def job_poll(request: HtmxHttpRequest, org: str, job: str):
    if not request.user.is_authenticated:
        return HttpResponseForbidden()
    organization, membership, job_obj = _get_job(request, org, job)
    _refresh(job_obj)
    unchanged = request.GET.get("v") == live_token(job_obj)
    if unchanged and not job_obj.is_terminal:
        return HttpResponse(status=204)
    context = _context(request, organization, membership, job_obj, oob=True)
    context["announce"] = request.GET.get("s") != job_obj.status
    context["unchanged"] = unchanged
    response = render(request, TEMPLATE + "#live", context)
    if job_obj.is_terminal:
        stop = HttpResponseStopPolling(response.content)
        stop["Content-Type"] = response["Content-Type"]
        return stop
    return response


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
    except (NoActiveKey, KeyUnreadable) as exc:
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
    response["Content-Disposition"] = f'attachment; filename="{name}-logs.txt"'
    return response
