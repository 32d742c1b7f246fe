from django.contrib import admin

from pixxel_dashboard.accounts.admin import AuditedAdmin

from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedAdmin):
    """Read-mostly: keys are added through the dashboard, which encrypts them. A revoked key stays
    revoked (its secret may have leaked); every change is audited."""

    audit_what = "api_key"

    list_display = (
        "label",
        "masked",
        "organization",
        "created_at",
        "revoked_at",
        "last_verified_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("label", "organization__name")
    fields = (
        "organization",
        "label",
        "masked",
        "created_by",
        "created_at",
        "last_used_at",
        "last_verified_at",
        "last_verification_ok",
        "last_verification_message",
        "revoked_at",
    )
    readonly_fields = (
        "organization",
        "masked",
        "created_by",
        "created_at",
        "last_used_at",
        "last_verified_at",
        "last_verification_ok",
        "last_verification_message",
    )

    def get_readonly_fields(self, request, obj=None):
        # An active key may be revoked here; a revoked one can never be brought back.
        if obj is not None and obj.revoked_at is not None:
            return (*self.readonly_fields, "revoked_at")
        return self.readonly_fields

    def has_add_permission(self, request):
        return False
