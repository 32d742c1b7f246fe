from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from pixxel_dashboard.keys.crypto import reencrypt
from pixxel_dashboard.keys.errors import KeyUnreadable
from pixxel_dashboard.keys.models import ApiKey


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored Pixxel API key under the first key in "
        "PIXXEL_DASHBOARD_ENCRYPTION_KEYS (step 2 of an encryption-key rotation; see README)."
    )

    def handle(self, *args, **options):
        done, unreadable = 0, []
        with transaction.atomic():
            for key in ApiKey.objects.select_for_update().select_related("organization"):
                try:
                    key.secret_encrypted = reencrypt(key.secret_encrypted)
                except KeyUnreadable:
                    unreadable.append(f"{key.organization.slug}: {key.label} ({key.masked})")
                    continue
                key.save(update_fields=["secret_encrypted"])
                done += 1
        self.stdout.write(f"Re-encrypted {done} API key{'s' if done != 1 else ''}.")
        if unreadable:
            raise CommandError(
                "These keys cannot be decrypted with any configured encryption key; "
                "re-enter them in Settings → API keys:\n  " + "\n  ".join(unreadable)
            )
