"""Every release's migrations stay compatible with the release before it (README, "Deploying a new
release"): while the previous release still runs on the new schema, its INSERTs name only the
columns it knows, so a column added NOT NULL needs a database default."""

from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddField
from django.db.models import NOT_PROVIDED

OURS = ("accounts", "core", "costs", "jobs", "keys", "sandbox")
# Added before the rule was written down and released since: the deploys they belonged to are over.
BEFORE_THE_RULE = {
    ("accounts", "0004_organization_time_zone", "organization", "time_zone"),
    ("jobs", "0002_pixxel_reported_values", "job", "pixxel_notes"),
    ("jobs", "0002_pixxel_reported_values", "job", "reported_workflow_id"),
    ("jobs", "0004_task_changed_in", "task", "changed_in"),
    ("jobs", "0010_history_rows_and_indexes", "job", "failure_reason"),
}


def test_a_column_added_not_null_has_a_database_default():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    without_default = {
        (app, name, operation.model_name, operation.name)
        for (app, name), migration in loader.disk_migrations.items()
        if app in OURS
        for operation in migration.operations
        if isinstance(operation, AddField)
        and not operation.field.null
        and not operation.field.many_to_many
        and operation.field.db_default is NOT_PROVIDED
    }
    assert without_default == BEFORE_THE_RULE, (
        "give these columns a db_default (or make them nullable): the previous release inserts "
        "rows without them during a deploy"
    )
