from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from pixxel_dashboard.webhooks.models import Delivery, DeliveryState


class Command(BaseCommand):
    help = (
        "Delete webhook deliveries (and their attempts) older than --days that are settled, "
        "delivered or failed for good; pending ones are kept whatever their age. Run daily."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="keep this many days (30)")

    def handle(self, *args, days, **options):
        # Safe for "once, exactly": a job's end or a budget crossing is claimed once, when it
        # happens; nothing claims an event again after its delivery row is gone.
        settled = Delivery.objects.exclude(state=DeliveryState.PENDING).filter(
            created_at__lt=timezone.now() - timedelta(days=max(days, 0))
        )
        deleted = settled.count()
        settled.delete()
        self.stdout.write(f"Deleted {deleted} webhook deliver{'ies' if deleted != 1 else 'y'}.")
