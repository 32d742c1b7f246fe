import hashlib
import re
import secrets
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from pixxel_dashboard.core.timezones import available_zones

ORGANIZATION_NAME_MAX_LENGTH = 80
# A scheme, "www." or a domain name: an organization's name goes into emails from our address,
# so it must not carry a link.
_URL_LIKE = re.compile(r"\w+://|www\.|\b[\w-]+(\.[\w-]+)*\.[a-z]{2,}\b", re.IGNORECASE)


def validate_organization_name(value: str) -> None:
    """One line of plain text: no line breaks or other control characters, no links."""
    if len(value) > ORGANIZATION_NAME_MAX_LENGTH:
        raise ValidationError(
            f"Keep the name to {ORGANIZATION_NAME_MAX_LENGTH} characters or fewer."
        )
    if any(
        unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp")
        for ch in value
    ):
        raise ValidationError("The name must be one line, without control characters.")
    if _URL_LIKE.search(value):
        raise ValidationError("The name must not contain a web address or domain name.")


def validate_time_zone(value: str) -> None:
    if value not in available_zones():
        raise ValidationError(
            f"“{value}” is not a time zone we know: pick one from the list "
            "(an IANA name such as Europe/Berlin or Asia/Kolkata)."
        )


def one_line(text: str) -> str:
    """`text` with every run of whitespace (line breaks included) as one space: safe in a header."""
    return " ".join(text.split())


class Organization(models.Model):
    name = models.CharField(max_length=120, validators=[validate_organization_name])
    slug = models.SlugField(max_length=60, unique=True)
    # Every time its pages show is in this zone; "this month" is this zone's month.
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# Higher rank = more rights; a role "at least X" check compares ranks.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class MembershipQuerySet(models.QuerySet):
    def reachable_by_mail(self):
        """Members who can receive mail: active, with an address they have confirmed."""
        return self.filter(user__is_active=True, user__email_verification__isnull=True).exclude(
            user__email=""
        )

    def with_job_emails(self):
        """With what `notifications.preferences.effective` reads: the member's own job-email
        setting and the organization's default (no query per member)."""
        return self.select_related("job_emails", "organization__job_emails_default")


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]
        ordering = ["organization__name"]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    # Templates ask these flags, never compare role names: the rule lives in one place.
    @property
    def can_submit(self) -> bool:
        return self.has_role(Role.MEMBER)

    @property
    def can_manage(self) -> bool:
        return self.has_role(Role.ADMIN)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True).filter(
            expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """An emailed, single-use, expiring invitation. Only the token's hash is stored."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation of {self.email} to {self.organization}"

    @classmethod
    def issue(cls, organization, email, role, invited_by) -> tuple["Invitation", str]:
        """Create an invitation; returns it with the plaintext token (shown once, in the email)."""
        token = secrets.token_urlsafe(32)
        invitation = cls.objects.create(
            organization=organization,
            email=email.lower(),
            role=role,
            invited_by=invited_by,
            token_hash=hash_token(token),
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS),
        )
        return invitation, token

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and not self.is_expired


class EmailVerification(models.Model):
    """An address given at sign-up and not proved yet. No row: verified (or an account an operator
    made). Until verified it accepts no invitation and does not block its real owner's sign-up."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="email_verification",
    )
    email = models.EmailField()
    sent_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.email} (unverified)"


class AuditEvent(models.Model):
    """Who did what in an organization. Later features record their own actions here too."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=60)
    target = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="audit_org_time")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"


def record_event(organization, actor, action: str, target: str = "", **details) -> AuditEvent:
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target=str(target)[:200],
        details=details,
    )


def mail_addresses(organization, roles) -> list[str]:
    """The addresses of the organization's members with one of `roles` who can receive mail:
    active, with an address they have confirmed (never another organization's people)."""
    addresses = (
        Membership.objects.filter(organization=organization, role__in=roles)
        .reachable_by_mail()
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(addresses))
