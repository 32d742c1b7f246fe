from django.conf import settings
from django.db import models
from django.db.models import Q
from django.views.decorators.debug import sensitive_variables

from pixxel_dashboard.accounts.models import Organization

from . import crypto

MASK = "••••"


def mask_secret(last4: str) -> str:
    return f"{MASK}{last4}"


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """An organization's Pixxel API key. The secret is stored only encrypted (MultiFernet).

    At most one key per organization is active (not revoked): rotating revokes the old one.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    label = models.CharField(max_length=80)
    secret_encrypted = models.TextField(editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    last_verification_ok = models.BooleanField(null=True, blank=True)
    last_verification_message = models.CharField(max_length=300, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_api_key_per_org",
            )
        ]

    def __str__(self):
        return f"{self.label} ({self.masked})"

    def __repr__(self):
        return f"<ApiKey {self.pk} {self.label!r} {self.masked}>"

    @property
    def masked(self) -> str:
        return mask_secret(self.last4)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @sensitive_variables("secret")
    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = crypto.encrypt(secret)
        self.last4 = secret[-4:]

    def reveal(self) -> str:
        """The plaintext key, for the Pixxel client only. Raises crypto.KeyUnreadable."""
        return crypto.decrypt(self.secret_encrypted)
