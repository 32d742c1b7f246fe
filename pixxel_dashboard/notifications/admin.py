from django.contrib import admin

from .models import JobEmail, JobFollow, MemberJobEmails, OrganizationJobEmails


@admin.register(JobEmail)
class JobEmailAdmin(admin.ModelAdmin):
    """What was claimed and sent, for an operator asking "did the email go?" (read only: the rows
    are the once-exactly guarantee)."""

    list_display = ("job", "event", "recipient", "created_at", "claimed_at", "attempts", "sent_at")
    list_filter = ("event",)
    list_select_related = ("job", "recipient")
    search_fields = ("job__pixxel_id", "recipient__username", "recipient__email")
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(JobFollow)
class JobFollowAdmin(admin.ModelAdmin):
    list_display = ("job", "user", "created_at")
    list_select_related = ("job", "user")
    raw_id_fields = ("job", "user")


@admin.register(MemberJobEmails)
class MemberJobEmailsAdmin(admin.ModelAdmin):
    list_display = ("membership", "job_emails", "updated_at")
    list_select_related = ("membership__user", "membership__organization")
    raw_id_fields = ("membership",)


@admin.register(OrganizationJobEmails)
class OrganizationJobEmailsAdmin(admin.ModelAdmin):
    list_display = ("organization", "job_emails")
