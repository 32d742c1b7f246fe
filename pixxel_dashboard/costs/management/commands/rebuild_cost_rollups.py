from django.core.management.base import BaseCommand, CommandError

from pixxel_dashboard.accounts.models import Organization
from pixxel_dashboard.costs import alerts, rollups


class Command(BaseCommand):
    help = (
        "Recompute the cost rollups from the jobs: every organization's, or those named. Safe to "
        "run at any time; needed after writing jobs around the dashboard (bulk loads, SQL). "
        "Budget crossings the loaded jobs make are alerted as after any save."
    )

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="organization slugs (default: all)")

    def handle(self, *args, slugs, **options):
        organizations = Organization.objects.order_by("slug")
        if slugs:
            organizations = organizations.filter(slug__in=slugs)
            missing = set(slugs) - set(organizations.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"No organization named {', '.join(sorted(missing))}.")
        for organization in organizations:
            rows = rollups.rebuild(organization)
            crossings = alerts.check_every_budget(organization)
            said = f", {len(crossings)} budget crossings to alert" if crossings else ""
            self.stdout.write(f"{organization.slug}: {rows} rollup rows{said}")
