from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from pixxel_dashboard.accounts.models import Membership, Organization, Role
from pixxel_dashboard.keys import KeyUnreadable
from pixxel_dashboard.keys import services as keys

from ..demo_history import seed_history

# A Pixxel sandbox key (the sandbox accepts any key starting with "sbx_").
DEMO_SANDBOX_KEY = "sbx_demo_organization"

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "pixxel-demo"  # a local demo login, printed on purpose
DEMO_ORG_SLUG = "demo"


class Command(BaseCommand):
    help = (
        "Create the demo organization, its owner and a working Pixxel sandbox key for local "
        "use (`make run` does this); with --sandbox-state, a year of sample history too. "
        "Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sandbox-state",
            metavar="PATH",
            help="The sandbox's state file (its --state-file): the demo's past jobs are written "
            "there so the sandbox knows them. Without it, no history is seeded.",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        organization, _ = Organization.objects.get_or_create(
            slug=DEMO_ORG_SLUG, defaults={"name": "Demo Organization"}
        )
        Membership.objects.get_or_create(
            user=user, organization=organization, defaults={"role": Role.OWNER}
        )
        key = keys.active_key(organization)
        if key is not None:
            try:
                # Readable? (This also gives the encryption-key warning, once for all of `make run`.)
                key.reveal()
            except KeyUnreadable:
                keys.revoke_key(key, user)  # SECRET_KEY or the encryption keys changed since
                key = None
        if key is None:
            key = keys.add_key(organization, user, "Sandbox key", DEMO_SANDBOX_KEY)
        self._history(organization, user, key, options["sandbox_state"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organization '{organization.name}' ready. "
                f"Log in as {DEMO_USERNAME} / {DEMO_PASSWORD}"
                + ("" if created else " (unless you changed that password)")
            )
        )

    def _history(self, organization, user, key, state_path: str | None) -> None:
        if not state_path:
            self.stdout.write(
                "No sample history seeded: pass --sandbox-state PATH (the sandbox's state file), "
                "as `make run` does."
            )
            return
        seeded = seed_history(organization, user, key, DEMO_SANDBOX_KEY, Path(state_path))
        if seeded.jobs:
            self.stdout.write(f"Seeded a year of sample history: {seeded.jobs} jobs.")
        if seeded.lines and not seeded.jobs:
            self.stdout.write(
                f"Wrote the sample history's {seeded.lines} jobs to {state_path} again."
            )
