"""The email a member gets when a job they submitted or follow ends: exactly once per job × event
× recipient, sent by the task worker, never by a web request.

1. `claim_job_emails` listens to `jobs.events.job_finished`, which `save_job` sends once, in its
   transaction, with the job row locked. It decides who wants this email (the submitter of a job
   submitted here, and the job's followers, each per their setting) and claims a `JobEmail` row
   for each (unique per job × event × recipient; an insert that loses a race finds the row there).
   The send task is queued once the transaction commits: a rolled-back save emails no one.
2. `send_job_emails` claims each row with a conditional UPDATE of `claimed_at` (a lease): a
   duplicated or retried task sends nothing another run is sending or has sent. In the same
   transaction it queues itself again for when the lease runs out: if this worker dies between
   claim and send, that later run finds the row unsent, its lease expired, and sends it.
"""

from __future__ import annotations

import email.policy
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from pixxel_dashboard.accounts.models import Membership, one_line
from pixxel_dashboard.core.credits import credits_text, over_estimate
from pixxel_dashboard.core.durations import format_duration
from pixxel_dashboard.jobs.models import STATUS_ICONS, Job, Source, Status

from . import preferences
from .models import JobEmail, JobFollow
from .unsubscribe import unsubscribe_link

logger = logging.getLogger(__name__)

# The job ends that have an email (Pixxel's contract has no "cancelled").
FINAL_STATUS_EVENT: dict[str, str] = {
    Status.SUCCEEDED: JobEmail.Event.SUCCEEDED,
    Status.FAILED: JobEmail.Event.FAILED,
}

# How long a claimed email is left to the worker that claimed it before another run may send it.
CLAIM_LEASE = timedelta(minutes=10)
# A mail server that keeps refusing: give up on that email after this many tries (logged).
MAX_ATTEMPTS = 5


def claim_job_emails(sender, job: Job, previous_status: str | None = None, **kwargs) -> list[int]:
    """`job_finished`'s receiver (in save_job's transaction): claim one row per recipient who
    wants this email and queue the sending for when the save commits. Returns the new rows' ids."""
    event = FINAL_STATUS_EVENT.get(job.status)
    # A job first stored already ended (history loaded by an import or the demo) was never
    # watched running: its end is no news to anyone.
    if event is None or previous_status is None:
        return []
    recipients = recipients_of(job, event)
    claimed = []
    for user_id in recipients:
        try:
            with transaction.atomic():  # a savepoint: losing the race leaves the save intact
                row = JobEmail.objects.create(job=job, event=event, recipient_id=user_id)
        except IntegrityError:
            continue  # claimed already (another worker's save, an earlier sync): it sends it
        claimed.append(row.pk)
    if claimed:
        transaction.on_commit(lambda: _enqueue(claimed))
    return claimed


def recipients_of(job: Job, event: str) -> list[int]:
    """The ids of the members to email about this job's end: its submitter (for a job submitted
    here; an imported job's is nobody) and its followers, each once, if their setting wants this
    event and they can receive mail (active, with an address they confirmed)."""
    people = set(JobFollow.objects.filter(job=job).values_list("user_id", flat=True))
    if job.source != Source.IMPORTED and job.submitted_by_id is not None:
        people.add(job.submitted_by_id)
    if not people:
        return []
    memberships = (
        Membership.objects.filter(organization_id=job.organization_id, user_id__in=people)
        .reachable_by_mail()
        .with_job_emails()
        .order_by("user_id")
    )
    return [m.user_id for m in memberships if preferences.wants(preferences.effective(m), event)]


def _enqueue(email_ids: list[int], run_after=None) -> None:
    try:
        queued = send_job_emails.using(run_after=run_after) if run_after else send_job_emails
        queued.enqueue(email_ids)
    except Exception:
        # Never break the save that claimed them; the rows stay unsent (sent_at empty).
        logger.exception("could not queue job emails %s", email_ids)


def _claim(email_ids: list[int], now) -> list[int]:
    """Take the lease on each row not sent, not leased by a live run, not given up on."""
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE)
    ours = []
    with transaction.atomic():
        for pk in email_ids:
            won = JobEmail.objects.filter(
                free, pk=pk, sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS
            ).update(claimed_at=now, attempts=F("attempts") + 1)
            if won:
                ours.append(pk)
        if ours:
            # The safety net, queued with the claim: it sends what this run claims but never sends.
            _enqueue(ours, run_after=now + CLAIM_LEASE + timedelta(seconds=30))
    return ours


@task()
def send_job_emails(email_ids: list[int]) -> int:
    """Send these claimed emails (one job's end); returns how many went out. Each row is leased
    first: what another run is sending or has sent is not sent again."""
    now = timezone.now()
    ours = _claim(email_ids, now)
    if not ours:
        return 0
    rows = JobEmail.objects.select_related(
        "recipient",
        "job__organization",
        "job__project",
        "job__workflow",
    ).filter(pk__in=ours)
    sent = 0
    mailer = _mailer()
    wanted: dict[tuple[int, str], set[int]] = {}
    for row in rows:
        # Asked again at sending time: someone who unsubscribed, left the organization or stopped
        # following since the job ended gets nothing (the row goes: there is nothing to send).
        key = (row.job_id, row.event)
        if key not in wanted:
            wanted[key] = set(recipients_of(row.job, row.event))
        if row.recipient_id not in wanted[key]:
            JobEmail.objects.filter(pk=row.pk, claimed_at=now).delete()
            continue
        message = job_email(row)
        try:
            mailer.send_messages([message])
        except Exception:
            # Not taken by the mail server: free the lease, so the safety net's run sends it.
            logger.exception("could not send job email %s", row.pk)
            JobEmail.objects.filter(pk=row.pk, claimed_at=now).update(claimed_at=None)
            if row.attempts >= MAX_ATTEMPTS:
                logger.error("gave up on job email %s after %d attempts", row.pk, row.attempts)
            continue
        JobEmail.objects.filter(pk=row.pk, claimed_at=now).update(sent_at=timezone.now())
        sent += 1
    return sent


def _mailer():
    return mailers.default


def job_link(job: Job) -> str:
    """The job's page as an absolute link (SITE_URL: the worker has no request)."""
    return settings.SITE_URL + job.get_absolute_url()


def email_context(row: JobEmail) -> dict:
    job = row.job
    status_word = job.get_status_display()
    workflow = (job.workflow.name if job.workflow else "") or job.workflow_pixxel_id
    project = (job.project.name or job.project.pixxel_id) if job.project else "No project"
    return {
        "job": job,
        "organization": job.organization,
        "status": f"{STATUS_ICONS.get(job.status, '?')} {status_word}",
        "status_word": status_word,
        "workflow": workflow,
        "project": project,
        "duration": format_duration(job.time_taken_seconds),
        "credits": credits_text(job.cost),
        "estimate": credits_text(job.estimated_cost),
        "over_estimate": over_estimate(job.cost, job.estimated_cost),
        "failure_reason": job.failure_reason if job.status == Status.FAILED else "",
        "link": job_link(job),
        "submitted": job.submitted_by_id == row.recipient_id and job.source != Source.IMPORTED,
        "unsubscribe_link": unsubscribe_link(row.recipient_id, job.organization_id, row.event),
        "unsubscribe_all": row.event == JobEmail.Event.FAILED,
        "settings_link": settings.SITE_URL + reverse("notification_settings"),
    }


class _UnfoldedEmail(EmailMultiAlternatives):
    """Headers kept on one line up to RFC 5322's 998 characters. `List-Unsubscribe`'s <URL> is one
    long word: folded at the 78 columns of the SMTP policy it would be cut into RFC 2047 encoded
    words, which mail clients do not read as a URL (RFC 2369), and their unsubscribe button would
    not appear."""

    def message(self, *, policy=email.policy.default):
        return super().message(policy=policy.clone(max_line_length=998))


def job_email(row: JobEmail) -> EmailMultiAlternatives:
    """The email of this row: plain text with an HTML alternative, and the headers that let mail
    clients offer one-click unsubscribe (RFC 2369, RFC 8058)."""
    context = email_context(row)
    job = row.job
    subject = one_line(
        f"{STATUS_ICONS.get(job.status, '?')} Job {job.pixxel_id[:8]} "
        f"{context['status_word'].lower()}: {context['workflow']} ({context['project']})"
    )
    message = _UnfoldedEmail(
        subject,
        render_to_string("notifications/job_email.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [row.recipient.email],
        headers={
            "List-Unsubscribe": f"<{context['unsubscribe_link']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(
        render_to_string("notifications/job_email.html", context), "text/html"
    )
    return message
