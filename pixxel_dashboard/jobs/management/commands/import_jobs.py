from django.core.management.base import BaseCommand, CommandError

from pixxel_dashboard.accounts.models import Organization
from pixxel_dashboard.jobs.submission import import_workflow_jobs
from pixxel_dashboard.keys import KeyProblem
from pixxel_dashboard.keys import services as keys
from pixxel_dashboard.pixxel import PixxelError


class Command(BaseCommand):
    help = (
        "Import an organization's jobs of a workflow that were created outside the dashboard "
        "(Pixxel's console, scripts). Jobs already here are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--workflow", required=True, help="the Pixxel workflow id")
        parser.add_argument("--project", default="", help="the Pixxel project id (optional)")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}.")
        try:
            client, api_key = keys.client_for_organization(organization)
            with client:
                result = import_workflow_jobs(
                    organization, client, api_key, options["workflow"], options["project"]
                )
        except (KeyProblem, PixxelError) as problem:
            raise CommandError(problem.user_message) from None
        self.stdout.write(
            f"Imported {len(result.imported)} job(s); {result.already_known} already present."
        )
        for job in result.imported:
            self.stdout.write(f"  {job.pixxel_id}  {job.get_status_display()}")
