"""Email verification at sign-up: a single-use link, like a password reset's.

A new account's address is unverified (an EmailVerification row) until its owner opens the link we
sent there. Only a verified address may accept an invitation sent to it. Sign-up never says whether
an address already has an account: the address's owner gets a note instead of a link.
"""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from .models import EmailVerification

# A person may ask for the link again, but not flood their inbox with it.
RESEND_INTERVAL = timedelta(minutes=1)


class _VerificationTokens(PasswordResetTokenGenerator):
    key_salt = "pixxel_dashboard.accounts.verification.EmailVerificationTokens"

    def _make_hash_value(self, user, timestamp):
        # Spent once the row is gone (verified) or the address changes.
        pending = EmailVerification.objects.filter(user=user).first()
        return f"{user.pk}{pending.email if pending else ''}{timestamp}"


tokens = _VerificationTokens()


def is_verified(user) -> bool:
    return not EmailVerification.objects.filter(user=user).exists()


def _has_verified_owner(email: str, except_user) -> bool:
    return (
        get_user_model()
        .objects.filter(email__iexact=email, email_verification__isnull=True)
        .exclude(pk=except_user.pk)
        .exists()
    )


def start(request, user, next_url: str | None = None) -> None:
    """A new account: its address is unverified until the link we send is opened."""
    EmailVerification.objects.update_or_create(
        user=user, defaults={"email": user.email, "sent_at": timezone.now()}
    )
    _send(request, user, next_url)


def resend(request, user) -> bool:
    """Send the link again (at most once a minute); False when it is too soon or not needed."""
    pending = EmailVerification.objects.filter(user=user).first()
    if pending is None or timezone.now() - pending.sent_at < RESEND_INTERVAL:
        return False
    pending.sent_at = timezone.now()
    pending.save(update_fields=["sent_at"])
    _send(request, user, None)
    return True


def _send(request, user, next_url) -> None:
    if _has_verified_owner(user.email, user):
        # Someone else already proved this address: tell them, without a link, and tell the
        # person signing up nothing different (no enumeration).
        subject = "Someone signed up with your email address on Pixxel Dashboard"
        body = render_to_string(
            "accounts/signup_address_taken_email.txt",
            {"reset": request.build_absolute_uri(reverse("password_reset"))},
        )
    else:
        path = reverse(
            "verify_email",
            args=[urlsafe_base64_encode(force_bytes(user.pk)), tokens.make_token(user)],
        )
        if next_url:
            path += "?" + urlencode({"next": next_url})
        subject = "Confirm your email address for Pixxel Dashboard"
        body = render_to_string(
            "accounts/verification_email.txt",
            {"user": user, "link": request.build_absolute_uri(path)},
        )
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def user_for_link(uidb64: str, token: str):
    """The account a verification link is for, or None if the link is not (or no longer) valid."""
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        user = get_user_model().objects.get(pk=pk)
    except (ValueError, TypeError, OverflowError, get_user_model().DoesNotExist):
        return None
    if is_verified(user) or not tokens.check_token(user, token):
        return None
    return user


@transaction.atomic
def confirm(user) -> None:
    EmailVerification.objects.filter(user=user).delete()
