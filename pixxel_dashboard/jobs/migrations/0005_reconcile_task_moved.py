"""The late reconciliation task moved from jobs/submit.py to jobs/submission.py.

Tasks already queued name their function by path, and the worker imports that path when it runs
them: rewrite the paths so a check queued before an upgrade still runs after it.
"""

from django.db import migrations

OLD_PATH = "pixxel_dashboard.jobs.submit.reconcile_submission_task"
NEW_PATH = "pixxel_dashboard.jobs.submission.reconcile_submission_task"


def rename_queued(apps, schema_editor, old=OLD_PATH, new=NEW_PATH):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    DBTaskResult.objects.filter(task_path=old).update(task_path=new)


def rename_back(apps, schema_editor):
    rename_queued(apps, schema_editor, old=NEW_PATH, new=OLD_PATH)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0004_task_changed_in"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(rename_queued, rename_back, elidable=True)]
