"""The signed one-click unsubscribe link every job email carries (no login: the signature is the
authority). It names a person, an organization and the kind of email it came with."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import JobEmail, JobEmails

SALT = "pixxel_dashboard.notifications.unsubscribe"
MAX_AGE = timedelta(days=60)
# What unsubscribing from each kind of email leaves: no more of that kind, the rest unchanged.
CEILING = {JobEmail.Event.SUCCEEDED: JobEmails.FAILURES, JobEmail.Event.FAILED: JobEmails.NONE}


class Expired(Exception):
    """A genuine link, older than MAX_AGE."""


class Tampered(Exception):
    """Not a link we signed (edited, truncated, or made up)."""


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    organization_id: int
    event: str

    @property
    def ceiling(self) -> str:
        return CEILING[JobEmail.Event(self.event)]


def make_token(user_id: int, organization_id: int, event: str) -> str:
    return signing.dumps({"u": user_id, "o": organization_id, "e": event}, salt=SALT, compress=True)


def read_token(token: str) -> Unsubscribe:
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired as exc:
        raise Expired from exc
    except signing.BadSignature as exc:
        raise Tampered from exc
    try:
        request = Unsubscribe(int(data["u"]), int(data["o"]), str(data["e"]))
        request.ceiling  # noqa: B018 (an event we know)
    except (KeyError, TypeError, ValueError) as exc:
        raise Tampered from exc
    return request


def unsubscribe_link(user_id: int, organization_id: int, event: str) -> str:
    token = make_token(user_id, organization_id, event)
    return settings.SITE_URL + reverse("unsubscribe", args=[token])
