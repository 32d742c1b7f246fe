from django.core.management.base import BaseCommand, CommandError

from pixxel_dashboard.keys.crypto import reencrypt_rows
from pixxel_dashboard.keys.models import ApiKey


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Pixxel API key under the first key in "
        "PIXXEL_DASHBOARD_ENCRYPTION_KEYS (step 2 of an encryption-key rotation; see README)."
    )

    def handle(self, *args, **options):
        done, unreadable = reencrypt_rows(
            ApiKey.objects.select_related("organization"),
            lambda key: f"{key.organization.slug}: {key.label} ({key.masked})",
        )
        self.stdout.write(f"Re-encrypted {done} API key{'s' if done != 1 else ''}.")
        if unreadable:
            raise CommandError(
                "These keys cannot be decrypted with any configured encryption key; "
                "re-enter them in Settings → API keys:\n  " + "\n  ".join(unreadable)
            )
