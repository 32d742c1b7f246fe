from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_table(using: str, **kwargs) -> None:
    """The database cache's table comes with `migrate` (on a fresh clone, in CI, in production), so
    no one has to remember `createcachetable`; it does nothing when the table exists or with Redis."""
    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "pixxel_dashboard.core"
    label = "core"

    def ready(self) -> None:
        post_migrate.connect(create_cache_table, sender=self)
