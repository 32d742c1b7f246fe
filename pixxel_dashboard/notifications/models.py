"""Who hears about a job's end, and the one email per job × event × recipient that says so."""

from django.conf import settings
from django.db import models

from pixxel_dashboard.accounts.models import Membership, Organization
from pixxel_dashboard.jobs.models import Job


class JobEmails(models.TextChoices):
    """Which of their jobs' ends a member is emailed about (most first: order is meaningful)."""

    ALL = "all", "All my jobs"
    FAILURES = "failures", "Only failures"
    NONE = "none", "None"


# Fewer emails = lower rank: an unsubscribe link only ever lowers a member's setting.
JOB_EMAILS_RANK = {JobEmails.NONE: 0, JobEmails.FAILURES: 1, JobEmails.ALL: 2}


class OrganizationJobEmails(models.Model):
    """The organization's default, set by an owner; no row: "only failures"."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="job_emails_default"
    )
    job_emails = models.CharField(
        max_length=10, choices=JobEmails.choices, default=JobEmails.FAILURES
    )

    def __str__(self):
        return f"{self.organization}: {self.get_job_emails_display()} by default"


class MemberJobEmails(models.Model):
    """A member's own choice in one organization; no row: the organization's default."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, primary_key=True, related_name="job_emails"
    )
    job_emails = models.CharField(max_length=10, choices=JobEmails.choices)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.membership}: {self.get_job_emails_display()}"


class JobFollow(models.Model):
    """A member asked to hear about a job's end (a teammate's, or one imported from elsewhere)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="follows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "user"], name="one_follow_per_job_and_user")
        ]
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.user} follows {self.job}"


class JobEmail(models.Model):
    """One email about one job's end to one person: claimed once (the unique row), then sent once
    (`claimed_at` is the sender's lease, `sent_at` set when the mail server took it)."""

    class Event(models.TextChoices):
        SUCCEEDED = "job.succeeded", "Job succeeded"
        FAILED = "job.failed", "Job failed"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="emails")
    event = models.CharField(max_length=20, choices=Event.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "event", "recipient"], name="one_email_per_job_event_recipient"
            )
        ]

    def __str__(self):
        return f"{self.get_event_display()}: {self.job} to {self.recipient}"
