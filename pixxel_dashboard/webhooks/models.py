"""Webhook endpoints, the deliveries owed to them and each attempt at one.

A `Delivery` is claimed once per event × endpoint (unique `event_key` per endpoint) in the
transaction that produced the event; the task worker then sends it, retrying on its own schedule
(`delivery.py`). Secrets are stored only encrypted (keys/crypto.py's MultiFernet).
"""

import uuid

from django.conf import settings
from django.db import models

from pixxel_dashboard.accounts.models import Organization
from pixxel_dashboard.keys.models import mask_secret


class Event(models.TextChoices):
    JOB_SUCCEEDED = "job.succeeded", "Job succeeded"
    JOB_FAILED = "job.failed", "Job failed"
    COST_OVER_ESTIMATE = "job.cost_over_estimate", "Cost over estimate"
    BUDGET_CROSSED = "budget.crossed", "Budget crossed"


# Sent only by *Send test event*; an endpoint does not subscribe to it.
TEST_EVENT = "test"


class Endpoint(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)  # Event values
    secret_encrypted = models.TextField(editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    # After a rotation the secret it replaced still signs each delivery (a second `v1`) until
    # `previous_secret_until`, so the receiver can switch over without refusing one.
    previous_secret_encrypted = models.TextField(
        editable=False, blank=True, default="", db_default=""
    )
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    # Why it is off: "Disabled by alice", or after 24 hours of failed deliveries.
    disabled_reason = models.CharField(max_length=200, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The first failed attempt since the last success (None: the last attempt succeeded).
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.description or self.url

    def __repr__(self):
        return f"<Endpoint {self.pk} {self.url!r} {self.masked_secret}>"

    @property
    def masked_secret(self) -> str:
        return mask_secret(self.last4)

    def previous_secret_signs(self, now) -> bool:
        return bool(self.previous_secret_encrypted) and (
            self.previous_secret_until is not None and now < self.previous_secret_until
        )

    def wants(self, event: str) -> bool:
        return self.is_active and event in self.events

    def event_labels(self) -> list[str]:
        return [label for value, label in Event.choices if value in self.events]


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


DELIVERY_ICONS = {
    DeliveryState.PENDING: "◷",
    DeliveryState.DELIVERED: "✔",
    DeliveryState.FAILED: "✖",
}


class Delivery(models.Model):
    """One event owed to one endpoint: claimed once (unique per endpoint × event_key), then sent
    until it is delivered, refused (4xx) or 24 hours of retries have passed."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # What it is about, e.g. "job.failed:123", "budget.crossed:7", "test:<uuid>".
    event_key = models.CharField(max_length=120)
    event_type = models.CharField(max_length=40)
    # The id receivers see (body "id", header Pixxel-Dashboard-Delivery): the same on every
    # attempt and redelivery, so a receiver can drop what it has already processed.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField()  # the body, fixed when the event happened
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    created_at = models.DateTimeField()
    # The schedule: due when next_attempt_at <= now. A claimed attempt moves it to its retry
    # time first, so a duplicate task finds nothing due, and a worker dying mid-send leaves the
    # retry queued (delivery.py).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    series_started_at = models.DateTimeField(null=True, blank=True)  # retries stop 24 h after
    series_attempts = models.PositiveIntegerField(default=0)  # the backoff's exponent
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_key"], name="one_delivery_per_endpoint_and_event"
            )
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="delivery_endpoint_time")
        ]

    def __str__(self):
        return f"{self.event_type} → {self.endpoint_id} ({self.state})"

    @property
    def state_icon(self) -> str:
        return DELIVERY_ICONS[DeliveryState(self.state)]


class Attempt(models.Model):
    """One try at sending a delivery, as the webhook's page shows it (never a secret)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)  # when there was no HTTP answer
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.outcome}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def outcome(self) -> str:
        return f"HTTP {self.status_code}" if self.status_code is not None else self.error
