from django.core.management.base import BaseCommand, CommandError

from pixxel_dashboard.keys.crypto import reencrypt_rows
from pixxel_dashboard.webhooks.models import Endpoint
from pixxel_dashboard.webhooks.services import forget_previous_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt every webhook's signing secret under the first key in "
        "PIXXEL_DASHBOARD_ENCRYPTION_KEYS (step 2 of an encryption-key rotation; see README)."
    )

    def handle(self, *args, **options):
        # A secret a rotation replaced more than a day ago: dropped, not re-encrypted (nor,
        # under a key already gone, reported as unreadable).
        forget_previous_secrets()
        done, unreadable = reencrypt_rows(
            Endpoint.objects.select_related("organization"),
            lambda endpoint: f"{endpoint.organization.slug}: {endpoint.url}",
            # The secret a rotation replaced too, while it may still sign.
            fields=("secret_encrypted", "previous_secret_encrypted"),
        )
        self.stdout.write(f"Re-encrypted {done} webhook secret{'s' if done != 1 else ''}.")
        if unreadable:
            raise CommandError(
                "These webhooks' secrets cannot be decrypted with any configured encryption key; "
                "delete them and add them again in Settings → Webhooks:\n  "
                + "\n  ".join(unreadable)
            )
