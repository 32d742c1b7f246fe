"""Webhook deliveries: claimed once per event × endpoint, sent by the task worker, retried.

Exactly once per endpoint, however many workers save the job (the model is costs/alerts.py):
1. The event's receiver runs in the transaction that produced it (`save_job`'s, job row locked;
   the one that claimed a `BudgetAlert`) and inserts one `Delivery` per subscribed endpoint,
   unique per (endpoint, event_key): a second worker's insert finds the row there and adds
   nothing. The send task is queued once that transaction commits.
2. Each run of `deliver` claims one attempt with a conditional UPDATE: only a delivery that is
   pending and due (`next_attempt_at <= now`) is taken, and the claim moves `next_attempt_at` to
   the retry's time and queues that retry in the same transaction. A duplicated task finds nothing
   due; a worker that dies mid-send leaves the retry queued, and it sends again. Receivers drop
   repeats by the delivery id (header `Pixxel-Dashboard-Delivery`, the body's `id`).
3. Network errors and 5xx are retried with exponential backoff (30 s, 1 min, 2 min, … at most
   an hour apart) until 24 hours after the first attempt, the last try at the 24-hour mark; any
   other answer than 2xx (4xx, a redirect: not followed) ends the delivery. An endpoint whose
   attempts have failed without a success for 24 hours is disabled and its owners are emailed.

Time comes from `clock` (replaced by tests with a fake one).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import math
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import requests
from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import IntegrityError, transaction
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from pixxel_dashboard.accounts.models import Role, mail_addresses, one_line
from pixxel_dashboard.core.credits import over_estimate
from pixxel_dashboard.jobs.models import Job, Source, Status
from pixxel_dashboard.keys import crypto
from pixxel_dashboard.keys.errors import KeyUnreadable

from .models import TEST_EVENT, Attempt, Delivery, DeliveryState, Endpoint, Event
from .outbound import RefusedAddress, guarded_session

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
RETRY_WINDOW = timedelta(hours=24)
DISABLE_AFTER = timedelta(hours=24)
# The last attempt still queues a run this much later: if its worker dies mid-send, it is sent again.
LAST_TRY_GRACE = timedelta(minutes=2)
EXCERPT_CHARS = 500
SECRET_PREFIX = "whsec_"

UNREADABLE_SECRET = (
    "The webhook's secret cannot be decrypted (the encryption key changed): delete the webhook "
    "and add it again."
)

SIGNATURE_HEADER = "Pixxel-Dashboard-Signature"
EVENT_HEADER = "Pixxel-Dashboard-Event"
DELIVERY_HEADER = "Pixxel-Dashboard-Delivery"


class SystemClock:
    def now(self) -> datetime:
        return timezone.now()


clock = SystemClock()


# --- secrets and signatures -----------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes, *also: str) -> str:
    """The header's value: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`,
    and one more `v1` for each secret in `also` (the one a rotation replaced, while it still
    signs): a receiver accepts the delivery if any `v1` matches its secret."""
    signed = f"{timestamp}.".encode() + body
    digests = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in (secret, *also)]
    return f"t={timestamp}," + ",".join(f"v1={digest}" for digest in digests)


def body_of(delivery: Delivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


# --- what is said about an event ------------------------------------------------------------


def _number(value: Decimal | int | float | None) -> float | None:
    # An amount stored out of range reads back as NaN (core/credits.py): not a number to send.
    if value is None:
        return None
    try:
        number = float(value)
    except (ArithmeticError, TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def job_summary(job: Job) -> dict:
    project = job.project
    workflow = job.workflow
    return {
        "id": job.pixxel_id,
        "workflow": {"id": job.workflow_pixxel_id, "name": workflow.name if workflow else ""},
        "project": {"id": project.pixxel_id, "name": project.name} if project else None,
        "status": job.status,
        "credits": _number(job.cost),
        "estimate": _number(job.estimated_cost),
        "duration_seconds": job.time_taken_seconds,
        "failure_reason": job.failure_reason or None,
        "url": settings.SITE_URL + job.get_absolute_url(),
    }


def budget_summary(alert) -> dict:
    project = alert.project
    return {
        "project": {"id": project.pixxel_id, "name": project.name},
        "month": f"{alert.month:%Y-%m}",
        "measure": alert.measure,
        "threshold_percent": alert.threshold,
        "percent": alert.percent,
        "budget": _number(alert.budget),
        "url": settings.SITE_URL
        + reverse("project_costs", args=[alert.organization.slug, project.pixxel_id]),
    }


def _document(public_id: uuid.UUID, event_type: str, organization, data: dict, now) -> dict:
    return {
        "id": str(public_id),
        "type": event_type,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "organization": {"slug": organization.slug, "name": organization.name},
        "data": data,
    }


# --- claiming -----------------------------------------------------------------------------


def claim(endpoints, event_type: str, event_key: str, organization, data: dict) -> list[int]:
    """Insert the delivery of this event to each endpoint that wants it (one per endpoint, ever)
    and queue their sends once the transaction commits; returns the new deliveries' ids."""
    now = clock.now()
    claimed = []
    for endpoint in endpoints:
        if not endpoint.wants(event_type) and event_type != TEST_EVENT:
            continue
        public_id = uuid.uuid4()
        try:
            with transaction.atomic():  # a savepoint: losing the race leaves the save intact
                delivery = Delivery.objects.create(
                    endpoint=endpoint,
                    event_key=event_key,
                    event_type=event_type,
                    public_id=public_id,
                    payload=_document(public_id, event_type, organization, data, now),
                    created_at=now,
                    next_attempt_at=now,
                )
        except IntegrityError:
            continue  # another transaction claimed it: it sends it
        claimed.append(delivery.pk)
    if claimed:
        transaction.on_commit(lambda: _enqueue_all(claimed))
    return claimed


def _enqueue_all(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        try:
            deliver.enqueue(delivery_id)
        except Exception:
            # Never break the save that produced the event; the row stays pending (Redeliver).
            logger.exception("could not queue webhook delivery %s", delivery_id)


def on_job_finished(sender, job: Job, previous_status: str | None, **kwargs) -> None:
    """`jobs.events.job_finished`: in save_job's transaction, once per job."""
    if previous_status is None and job.source == Source.IMPORTED:
        return  # it ended before the dashboard knew it (an import of history): nothing to tell
    kinds = []
    if job.status == Status.SUCCEEDED:
        kinds.append(Event.JOB_SUCCEEDED)
    elif job.status == Status.FAILED:
        kinds.append(Event.JOB_FAILED)
    if over_estimate(job.cost, job.estimated_cost):
        kinds.append(Event.COST_OVER_ESTIMATE)
    endpoints = list(Endpoint.objects.filter(organization_id=job.organization_id, is_active=True))
    wanted = [kind for kind in kinds if any(e.wants(kind) for e in endpoints)]
    if not wanted:
        return
    data = job_summary(job)
    for kind in wanted:
        claim(endpoints, kind, f"{kind}:{job.pk}", job.organization, data)


def on_budget_crossed(sender, alert, **kwargs) -> None:
    """`costs.events.budget_crossed`: in the transaction that claimed the BudgetAlert row."""
    endpoints = list(Endpoint.objects.filter(organization_id=alert.organization_id, is_active=True))
    if not any(e.wants(Event.BUDGET_CROSSED) for e in endpoints):
        return
    key = f"{Event.BUDGET_CROSSED}:{alert.pk}"
    claim(endpoints, Event.BUDGET_CROSSED, key, alert.organization, budget_summary(alert))


def send_test_event(endpoint: Endpoint) -> int:
    (delivery_id,) = claim(
        [endpoint],
        TEST_EVENT,
        f"{TEST_EVENT}:{uuid.uuid4()}",
        endpoint.organization,
        {"message": "A test event from Pixxel Dashboard: your endpoint is reachable."},
    )
    return delivery_id


def redeliver(delivery: Delivery) -> None:
    """Send it again now (the same id and body), with a new 24-hour series of retries."""
    _send_again_now(Delivery.objects.filter(pk=delivery.pk))


def resume_pending(endpoint: Endpoint) -> None:
    """An endpoint enabled again: the deliveries it was still owed when it stopped go now (its
    retries stopped with it), each with a new 24-hour series."""
    _send_again_now(Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING))


def _send_again_now(deliveries) -> None:
    ids = list(deliveries.values_list("pk", flat=True))
    # Still the caller's selection: a delivery a running send settled meanwhile stays settled.
    deliveries.filter(pk__in=ids).update(
        state=DeliveryState.PENDING,
        next_attempt_at=clock.now(),
        series_started_at=None,
        series_attempts=0,
        delivered_at=None,
    )
    if ids:
        transaction.on_commit(lambda: _enqueue_all(ids))


# --- sending --------------------------------------------------------------------------------


def retry_time(series_started_at: datetime, attempt: int, now: datetime) -> datetime | None:
    """When attempt number `attempt` (1 = the first) is retried if it fails; None: it is the last
    (24 hours have passed since the first)."""
    deadline = series_started_at + RETRY_WINDOW
    if now >= deadline:
        return None
    wait = min(FIRST_RETRY * 2 ** (attempt - 1), LONGEST_WAIT)
    return min(now + wait, deadline)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    error: str = ""
    latency_ms: int | None = None
    excerpt: str = ""
    retry: bool = False  # worth trying again (a network error, a 5xx)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@task()
def deliver(delivery_id: int) -> str:
    """One attempt at a delivery, if it is due (see the module's docstring); returns what
    happened, for the worker's log."""
    now = clock.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_related("endpoint__organization")
            .filter(pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None or not delivery.endpoint.is_active:
            return "nothing due"
        started = delivery.series_started_at or now
        attempt = delivery.series_attempts + 1
        retry_at = retry_time(started, attempt, now)
        next_run = retry_at or now + LAST_TRY_GRACE
        won = Delivery.objects.filter(
            pk=delivery.pk,
            state=DeliveryState.PENDING,
            next_attempt_at=delivery.next_attempt_at,
            series_attempts=delivery.series_attempts,
        ).update(next_attempt_at=next_run, series_started_at=started, series_attempts=attempt)
        if not won:
            return "claimed by another run"
        # Queued with the claim: whatever happens to this process now, the retry runs.
        deliver.using(run_after=next_run).enqueue(delivery.pk)
    outcome = send(delivery, now)
    _record(delivery, now, outcome, last=retry_at is None)
    return "delivered" if outcome.ok else (outcome.error or f"HTTP {outcome.status_code}")


@sensitive_variables("secret", "previous")
def send(delivery: Delivery, now: datetime) -> Outcome:
    """POST the delivery's body, signed, to its endpoint (no redirects, a short timeout)."""
    endpoint = delivery.endpoint
    body = body_of(delivery)
    try:
        secret = crypto.decrypt(endpoint.secret_encrypted)
    except KeyUnreadable:
        return Outcome(error=UNREADABLE_SECRET)
    previous = []
    # A courtesy for the day after a rotation: if it cannot be read, the current secret signs.
    with contextlib.suppress(KeyUnreadable):
        if endpoint.previous_secret_signs(now):
            previous.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"PixxelDashboard-Webhooks/{settings.VERSION}",
        SIGNATURE_HEADER: signature(secret, int(now.timestamp()), body, *previous),
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(delivery.public_id),
    }
    began = time.monotonic()
    try:
        with guarded_session() as session:
            response = session.post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
                stream=True,
            )
            excerpt = _excerpt(response)
    except RefusedAddress as exc:
        return Outcome(error=str(exc)[:300])
    except requests.RequestException as exc:
        return Outcome(error=_network_error(exc), latency_ms=_since(began), retry=True)
    code = response.status_code
    moved = 300 <= code < 400
    return Outcome(
        status_code=code,
        error="Redirects are not followed: give the webhook its final URL." if moved else "",
        latency_ms=_since(began),
        excerpt=excerpt,
        retry=code >= 500,
    )


def _since(began: float) -> int:
    return round((time.monotonic() - began) * 1000)


def _excerpt(response: requests.Response) -> str:
    try:
        # The first chunk only (a redirect's body was already read by requests: from memory).
        raw = next(response.iter_content(4 * EXCERPT_CHARS), b"")
    except Exception:
        raw = b""  # a body cut short or garbled: the status code still tells the outcome
    finally:
        response.close()
    return raw.decode("utf-8", "replace").strip()[:EXCERPT_CHARS]


def _network_error(exc: requests.RequestException) -> str:
    """A sentence about what went wrong, from the exception's kind (never its text: that may
    carry the URL, which may carry a token)."""
    if isinstance(exc, requests.Timeout):
        return f"No answer within {TIMEOUT_SECONDS} seconds."
    if isinstance(exc, requests.exceptions.SSLError):
        return "The TLS handshake failed (is the certificate valid for this host?)."
    cause: BaseException | None = exc
    while cause is not None:
        if type(cause).__name__ == "NameResolutionError":
            return "The host name could not be resolved."
        if isinstance(cause, OSError) and cause.strerror:
            return f"Could not connect: {cause.strerror.lower()}."
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, requests.ConnectionError):
        return "The connection failed."
    return "The request could not be sent."


def _record(delivery: Delivery, now: datetime, outcome: Outcome, last: bool) -> None:
    endpoint = delivery.endpoint
    disabled = False
    with transaction.atomic():
        Attempt.objects.create(
            delivery=delivery,
            started_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            latency_ms=outcome.latency_ms,
            response_excerpt=outcome.excerpt,
        )
        rows = Delivery.objects.filter(pk=delivery.pk)
        if outcome.ok:
            rows.update(state=DeliveryState.DELIVERED, delivered_at=now, next_attempt_at=None)
            Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            return
        if not outcome.retry or last:
            rows.update(state=DeliveryState.FAILED, next_attempt_at=None)
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        # Whoever's UPDATE turns it off tells the owners: once, however many deliveries fail.
        disabled = bool(
            Endpoint.objects.filter(
                pk=endpoint.pk, is_active=True, failing_since__lte=now - DISABLE_AFTER
            ).update(
                is_active=False,
                disabled_at=now,
                disabled_reason="Disabled after 24 hours of failed deliveries.",
            )
        )
    if disabled:
        _tell_owners_it_was_disabled(endpoint)


def _tell_owners_it_was_disabled(endpoint: Endpoint) -> None:
    organization = endpoint.organization
    recipients = mail_addresses(organization, (Role.OWNER,))
    if not recipients:
        return
    subject = one_line(f"Webhook disabled after 24 hours of failures: {endpoint}")
    body = render_to_string(
        "webhooks/disabled_email.txt",
        {
            "organization": organization,
            "endpoint": endpoint,
            "link": settings.SITE_URL
            + reverse("webhook_detail", args=[organization.slug, endpoint.pk]),
        },
    )
    messages = [
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        for address in recipients
    ]
    try:
        mailers.default.send_messages(messages)
    except Exception:
        # The endpoint stays disabled (its page says why); the email is not tried again.
        logger.exception(
            "could not email the owners of %s that webhook %s was disabled",
            organization.slug,
            endpoint.pk,
        )
