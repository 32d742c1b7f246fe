from django.core.management.base import BaseCommand

from pixxel_dashboard.jobs.sync import resume_stalled_syncs


class Command(BaseCommand):
    help = (
        "Queue the background sync again of every job whose queued run was lost (a worker killed "
        "between taking it and starting it). Safe at any time; run every few minutes."
    )

    def handle(self, *args, **options):
        resumed = resume_stalled_syncs()
        self.stdout.write(f"Resumed {resumed} job sync{'s' if resumed != 1 else ''}.")
