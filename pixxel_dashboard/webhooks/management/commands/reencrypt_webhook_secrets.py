from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from pixxel_dashboard.keys.crypto import reencrypt
from pixxel_dashboard.keys.errors import KeyUnreadable
from pixxel_dashboard.webhooks.models import Endpoint


class Command(BaseCommand):
    help = (
        "Re-encrypt every webhook's signing secret under the first key in "
        "PIXXEL_DASHBOARD_ENCRYPTION_KEYS (step 2 of an encryption-key rotation; see README)."
    )

    def handle(self, *args, **options):
        done, unreadable = 0, []
        with transaction.atomic():
            for endpoint in Endpoint.objects.select_for_update().select_related("organization"):
                try:
                    endpoint.secret_encrypted = reencrypt(endpoint.secret_encrypted)
                except KeyUnreadable:
                    unreadable.append(f"{endpoint.organization.slug}: {endpoint.url}")
                    continue
                endpoint.save(update_fields=["secret_encrypted"])
                done += 1
        self.stdout.write(f"Re-encrypted {done} webhook secret{'s' if done != 1 else ''}.")
        if unreadable:
            raise CommandError(
                "These webhooks' secrets cannot be decrypted with any configured encryption key; "
                "delete them and add them again in Settings → Webhooks:\n  "
                + "\n  ".join(unreadable)
            )
