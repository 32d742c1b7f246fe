"""The poll pass: a signed, short-lived cookie that lets a job's unchanged poll skip the session,
user and membership reads.

A page (or a poll) that went through every check — signed in, a member of the organization, the
job is the organization's — hands the browser a pass for this job and session (the session names
the user: its key is part of the signing key), scoped to the job's poll URL. A poll that brings it
back may answer "nothing changed" (204, no content) after reading the job row alone; every other
answer goes the full, checked path. Nothing but a 204 is
ever answered on the pass's word, and the pass stops working when its life ends (PASS_SECONDS),
when the browser's session cookie changes (logout, another login) or for another job's URL: a
removed membership or a session ended elsewhere is honoured at the latest when the pass expires.
"""

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

COOKIE_NAME = "poll_pass"
PASS_SECONDS = 30
_SALT = "pixxel_dashboard.jobs.poll_pass"


def _salt(session_key: str) -> str:
    # The session key is part of the signing key, never of the (readable) pass: a pass is only
    # valid next to the session cookie it was minted with.
    return f"{_SALT}:{session_key}"


def poll_path(slug: str, pixxel_id: str) -> str:
    return reverse("job_poll", args=[slug, pixxel_id])


def attach(request: HttpRequest, response: HttpResponse, job) -> None:
    """Hand the browser a fresh pass for `job`'s poll; call only once every check has passed."""
    session_key = request.session.session_key
    if not session_key or not request.user.is_authenticated:
        return
    slug = job.organization.slug
    value = signing.dumps([job.pk, slug, job.pixxel_id], salt=_salt(session_key), compress=False)
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=PASS_SECONDS,
        path=poll_path(slug, job.pixxel_id),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )


def job_pk(request: HttpRequest, slug: str, pixxel_id: str) -> int | None:
    """The job's primary key if the request carries a live pass for this URL's job, else None."""
    value = request.COOKIES.get(COOKIE_NAME)
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not value or not session_key:
        return None
    try:
        pk, pass_slug, pass_job = signing.loads(
            value, salt=_salt(session_key), max_age=PASS_SECONDS
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if (pass_slug, pass_job) != (slug, pixxel_id) or not isinstance(pk, int):
        return None
    return pk
