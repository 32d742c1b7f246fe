from django.contrib import admin

from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Read-mostly: keys are added through the dashboard, which encrypts them."""

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

    def has_add_permission(self, request):
        return False
