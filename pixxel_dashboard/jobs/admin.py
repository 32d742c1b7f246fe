from django.contrib import admin

from pixxel_dashboard.core.credits import credits_display

from .models import Job, JobDocument, JobValidationError, Project, Submission, Task, Workflow


class TaskInline(admin.TabularInline):
    model = Task
    extra = 0
    fields = ("position", "name", "block_name", "block_version", "status", "progress")
    readonly_fields = fields
    show_change_link = True


class ValidationErrorInline(admin.TabularInline):
    model = JobValidationError
    extra = 0
    readonly_fields = ("component_name", "from_component", "to_component", "err", "reason")


class DocumentInline(admin.StackedInline):
    """Pixxel's job document and workflow spec, as stored (read only: syncs overwrite them)."""

    model = JobDocument
    verbose_name = verbose_name_plural = "Pixxel's job document"
    fields = readonly_fields = ("raw", "spec")
    can_delete = False
    classes = ("collapse",)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "pixxel_id",
        "organization",
        "status",
        "progress",
        "cost_shown",
        "submitted_by",
        "created_at",
    )
    list_filter = ("status", "source", "organization")
    search_fields = ("pixxel_id", "workflow_pixxel_id", "organization__name")
    list_select_related = ("organization", "submitted_by")
    raw_id_fields = ("project", "workflow", "submitted_by", "api_key", "repeat_of")
    inlines = [DocumentInline, TaskInline, ValidationErrorInline]

    @admin.display(description="cost", ordering="cost")
    def cost_shown(self, job):
        return credits_display(job.cost)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("name", "job", "status", "progress", "failure_type")
    list_filter = ("status",)
    search_fields = ("name", "pixxel_id", "job__pixxel_id")
    raw_id_fields = ("job",)


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "organization",
        "user",
        "workflow_pixxel_id",
        "outcome",
        "http_status",
    )
    list_filter = ("outcome", "error_kind")
    search_fields = ("workflow_pixxel_id", "project_pixxel_id", "error_code", "organization__name")
    list_select_related = ("organization", "user")
    raw_id_fields = ("user", "project", "workflow", "job", "repeat_of")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "pixxel_id", "organization", "fetched_at")
    search_fields = ("name", "pixxel_id")


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ("name", "pixxel_id", "organization", "project", "estimate_shown")
    search_fields = ("name", "pixxel_id")
    raw_id_fields = ("project",)

    @admin.display(description="estimated cost", ordering="estimated_cost")
    def estimate_shown(self, workflow):
        return credits_display(workflow.estimated_cost)
