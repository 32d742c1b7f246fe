from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from pixxel_dashboard.webhooks.models import Delivery, DeliveryState
from pixxel_dashboard.webhooks.services import forget_previous_secrets


class Command(BaseCommand):
    help = (
        "Delete webhook deliveries (and their attempts) older than --days that are settled, "
        "delivered or failed for good; pending ones are kept whatever their age. Also forgets the "
        "secrets rotations replaced once their day of signing is over. Run daily."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="keep this many days (30)")

    def handle(self, *args, days, **options):
        # Safe for "once, exactly": a job's end or a budget crossing is claimed once, when it
        # happens; nothing claims an event again after its delivery row is gone.
        settled = Delivery.objects.exclude(state=DeliveryState.PENDING).filter(
            created_at__lt=timezone.now() - timedelta(days=max(days, 0))
        )
        # Only the keys are read to delete them with their attempts (not a month of payloads).
        _, per_model = settled.only("pk").delete()
        deleted = per_model.get(Delivery._meta.label, 0)
        self.stdout.write(f"Deleted {deleted} webhook deliver{'ies' if deleted != 1 else 'y'}.")
        forget_previous_secrets()
