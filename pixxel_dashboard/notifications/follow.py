"""Following a job: hear about its end though you did not submit it (a teammate's, an imported one)."""

from pixxel_dashboard.jobs.models import Job, Source

from .models import JobFollow


def follow(job: Job, user) -> None:
    JobFollow.objects.get_or_create(job=job, user=user)


def unfollow(job: Job, user) -> None:
    JobFollow.objects.filter(job=job, user=user).delete()


def follow_context(job: Job, user) -> dict:
    """What the job page's Follow panel shows (one query: the job's followers)."""
    names = list(
        JobFollow.objects.filter(job=job)
        .order_by("created_at")
        .values_list("user_id", "user__username")
    )
    return {
        "job": job,
        "organization_slug": job.organization.slug,
        "following": any(user_id == user.pk for user_id, _ in names),
        "submitter": job.source != Source.IMPORTED and job.submitted_by_id == user.pk,
        "others": [name for user_id, name in names if user_id != user.pk],
    }
